"""The NinjaTrader strategy (mcs, under mono in the host that plays NinjaTrader) as a
ZeroMQ CURVE client of a CURVE engine (`tickbridge run`): with its key files (or z85 text)
it says hello and trades; with a key the engine does not list it never gets in; with a
key file it cannot read it does not connect (never in plaintext)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.curve_keys import CurveKeys, make_curve_keys
from tests.e2e.engine_process import EngineProcess
from tests.waiting import wait_until

from .conftest import Host
from .test_with_engine import SECRET, feed_until, order_calls, submit


@pytest.fixture
def keys(tmp_path: Path) -> CurveKeys:
    return make_curve_keys(tmp_path / "keys")


@pytest.fixture
def engine(tmp_path: Path, keys: CurveKeys) -> Iterator[EngineProcess]:
    running = EngineProcess(tmp_path, shim="ninja", platform="ninjatrader", account="Sim101",
                            secret=SECRET, engine_extra=keys.engine_toml(),
                            account_extra=keys.account_toml())
    yield running
    running.stop()


def _start(host: Host, engine: EngineProcess, server: str, client: str) -> None:
    host.command(f"start engine={engine.shim} kill={engine.kill} secret={SECRET} hb=100 "
                 f"silence=3 depth=0 curve_server={server} curve_key={client}", "started")


@pytest.mark.parametrize("form", ["files", "z85"])
def test_the_strategy_trades_as_a_curve_client(make_host, engine: EngineProcess,
                                               keys: CurveKeys, form: str) -> None:
    host = make_host()
    if form == "files":
        _start(host, engine, str(keys.engine_key_file), str(keys.shim_key_file))
    else:
        _start(host, engine, keys.engine_public, keys.shim_secret)

    def ready() -> bool:
        status = engine.request("status")
        return any("ES 12-26" in s["instruments"] and not s["refused"]
                   for s in status["shims"]) and status["ticks"] > 0

    feed_until(host, ready, what="hello over CURVE")
    # logged by the bridge thread: stderr reaches the log file on its own schedule
    wait_until(lambda: "CURVE client, key " + keys.shim_public in host.logs(), 30,
             "the CURVE log line")
    reply = submit(engine, symbol="ES 12-26", side="BUY", quantity=1,
                   order_type="LIMIT", price=4000.25, source="test")
    assert reply["ok"], reply
    wait_until(lambda: order_calls(host, "SubmitOrderUnmanaged"), 30, "the order at the platform")


def test_a_key_the_engine_does_not_list_never_gets_in(make_host, engine: EngineProcess,
                                                      keys: CurveKeys) -> None:
    host = make_host()
    _start(host, engine, str(keys.engine_key_file), str(keys.stranger_key_file))
    deadline = time.monotonic() + 3  # the handshake is refused: nothing ever arrives
    while time.monotonic() < deadline:
        host.command("market")
        time.sleep(0.02)
    status = engine.request("status")
    assert status["shims"] == [] and status["frames"] == 0


def test_an_unreadable_key_file_means_no_connection(make_host, engine: EngineProcess,
                                                    keys: CurveKeys, tmp_path: Path) -> None:
    host = make_host()
    _start(host, engine, str(keys.engine_key_file), str(tmp_path / "missing.key"))
    wait_until(lambda: "not connecting" in host.logs(), 30, "the key error logged")
    host.command("market")
    assert engine.request("status")["frames"] == 0
