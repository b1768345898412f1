"""The Sierra Chart study (compiled, in the harness that plays Sierra Chart) against the
real engine process, `tickbridge run`, over real sockets: hello and market data reach the
engine; an order placed through the engine reaches Sierra Chart's trading functions with
the engine's client order id in its text tag, is worked, filled and canceled there, and
the engine's books follow; `tickbridge kill` reaches the study by both paths."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acsil.toolchain import Harness
from tests.e2e.engine_process import EngineProcess
from tests.waiting import wait_until

SECRET = "sierra-kill-secret-0123"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    running = EngineProcess(tmp_path, shim="sierra", platform="sierra_chart", account="Sim1",
                            secret=SECRET)
    yield running
    running.stop()


def pump_until(harness: Harness, predicate, timeout: float = 20.0, what: str = "") -> None:
    """Study calls at a chart update interval of a few ms, with new time and sales."""

    def call() -> None:
        harness("ts 20")
        harness("call")
        time.sleep(0.005)

    call()
    wait_until(predicate, timeout, f"{what} (pumping study calls)", step=call)


def test_the_study_trades_through_the_engine(make_harness, engine: EngineProcess) -> None:
    harness = make_harness()
    harness.configure(engine.shim, kill=engine.kill, secret=SECRET, heartbeat_ms=100)

    def shim() -> dict | None:
        shims = engine.request("status")["shims"]
        return shims[0] if shims and "ESZ6" in shims[0]["instruments"] else None

    pump_until(harness, lambda: shim() and engine.request("status")["ticks"] > 100, what="hello")
    (status_shim,) = engine.request("status")["shims"]
    assert status_shim["name"].startswith("sierra_chart:Sim1")
    assert status_shim["simulated"] and not status_shim["refused"]

    reply = engine.request("submit", symbol="ESZ6", side="BUY", quantity=2,
                           order_type="LIMIT", price=4000.25, source="test")
    assert reply["ok"], reply
    coid, text = reply["client_order_id"], reply["client_order_id_text"]
    pump_until(harness, lambda: engine.order(coid)["status"] == "WORKING", what="working")
    (placed,) = [c for c in harness.calls() if c.startswith("BuyOrder")]
    assert placed == (f"BuyOrder qty=2 type=1 price1=4000.25 price2=unset tif=0 tag={text} "
                      f"index=499")

    # Sierra Chart fills one contract: the fill (with its execution id) reaches the engine.
    (line,) = [o for o in harness("orders") if f"tag={text}" in o]
    platform_id = int(line.split("id=")[1].split()[0])
    harness(f"fill {platform_id} 1 4000.25")
    pump_until(harness, lambda: engine.order(coid)["filled"] == 1, what="the partial fill")
    assert engine.request("status")["positions"]["ESZ6"] == 1

    assert engine.request("cancel", client_order_id=coid)["ok"]
    pump_until(harness, lambda: engine.order(coid)["status"] == "CANCELED", what="canceled")
    assert f"CancelOrder id={platform_id}" in harness.calls()

    # The kill switch: both paths reach the study (the study runs the kill on its next
    # call; the shim answers its kill endpoint once Sierra Chart's call has returned).
    kill = engine.kill_command()
    pump_until(harness, lambda: kill.poll() is not None, 60, "the kill command")
    out, err = kill.communicate()
    assert kill.returncode == 0, out + err
    assert "engine  engine           ok" in out and "shim    sierra           ok" in out
    pump_until(harness, lambda: "CancelAllOrders" in harness.calls(), what="cancel all")
    assert engine.request("status")["accounts"]["Sim1"] == "HALTED"
