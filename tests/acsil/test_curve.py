"""The Sierra Chart study (compiled, in the harness that plays Sierra Chart) as a ZeroMQ
CURVE client of a CURVE engine (`tickbridge run`): with its key pair as a file (or as z85
text) it says hello and trades; with a key the engine does not list it never gets in; with
a key file it cannot read it does not connect at all (never in plaintext)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acsil.test_with_engine import SECRET, pump_until
from tests.acsil.toolchain import Harness
from tests.e2e.curve_keys import CurveKeys, make_curve_keys
from tests.e2e.engine_process import EngineProcess

CURVE_SERVER_INPUT = 12  # kInCurveServerKey
CURVE_CLIENT_INPUT = 13  # kInCurveClientKey


@pytest.fixture
def keys(tmp_path: Path) -> CurveKeys:
    return make_curve_keys(tmp_path / "keys")


@pytest.fixture
def engine(tmp_path: Path, keys: CurveKeys) -> Iterator[EngineProcess]:
    running = EngineProcess(tmp_path, shim="sierra", platform="sierra_chart", account="Sim1",
                            secret=SECRET, engine_extra=keys.engine_toml(),
                            account_extra=keys.account_toml())
    yield running
    running.stop()


def _configure(harness: Harness, engine: EngineProcess, server: str, client: str) -> None:
    harness.configure(engine.shim, kill=engine.kill, secret=SECRET, heartbeat_ms=100)
    harness(f"input {CURVE_SERVER_INPUT} str {server}")
    harness(f"input {CURVE_CLIENT_INPUT} str {client}")


def _accepted(engine: EngineProcess) -> bool:
    status = engine.request("status")
    return any("ESZ6" in s["instruments"] and not s["refused"] for s in status["shims"]) \
        and status["ticks"] > 100


@pytest.mark.parametrize("form", ["files", "z85"])
def test_the_study_trades_as_a_curve_client(make_harness, engine: EngineProcess,
                                            keys: CurveKeys, form: str) -> None:
    harness = make_harness()
    if form == "files":
        _configure(harness, engine, str(keys.engine_key_file), str(keys.shim_key_file))
    else:
        _configure(harness, engine, keys.engine_public, keys.shim_secret)
    pump_until(harness, lambda: _accepted(engine), what="hello over CURVE")
    assert any("CURVE client, key " + keys.shim_public in line for line in harness.log())
    reply = engine.request("submit", symbol="ESZ6", side="BUY", quantity=1,
                           order_type="LIMIT", price=4000.25, source="test")
    assert reply["ok"], reply
    pump_until(harness, lambda: engine.order(reply["client_order_id"])["status"] == "WORKING",
               what="working")
    assert [c for c in harness.calls() if c.startswith("BuyOrder")]


def test_a_key_the_engine_does_not_list_never_gets_in(make_harness, engine: EngineProcess,
                                                      keys: CurveKeys) -> None:
    harness = make_harness()
    _configure(harness, engine, str(keys.engine_key_file), str(keys.stranger_key_file))
    deadline = time.monotonic() + 3  # the handshake is refused: nothing ever arrives
    while time.monotonic() < deadline:
        harness("ts 20")
        harness("call")
        time.sleep(0.01)
    status = engine.request("status")
    assert status["shims"] == [] and status["frames"] == 0


def test_an_unreadable_key_file_means_no_connection(make_harness, engine: EngineProcess,
                                                    keys: CurveKeys, tmp_path: Path) -> None:
    harness = make_harness()
    _configure(harness, engine, str(keys.engine_key_file), str(tmp_path / "missing.key"))
    pump_until(harness, lambda: any("not connecting" in line for line in harness.log()),
               what="the key error logged")
    assert engine.request("status")["frames"] == 0
