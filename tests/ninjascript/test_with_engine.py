"""The NinjaTrader strategy (compiled with mcs, run under mono by the test host that plays
NinjaTrader) against the real engine process, `tickbridge run`, over real sockets: hello
and market data reach the engine; an order placed through the engine reaches
SubmitOrderUnmanaged with the engine's client order id as its name, is filled and
canceled there, and the engine's books follow; `tickbridge kill` reaches it by both paths."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.engine_process import EngineProcess
from tests.waiting import wait_until

from .conftest import Host
from .test_platform_link import wait_chart

SECRET = "ninja-kill-secret-0123456"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    running = EngineProcess(tmp_path, shim="ninja", platform="ninjatrader", account="Sim101",
                            secret=SECRET)
    yield running
    running.stop()


def feed_until(host: Host, predicate, timeout: float = 30.0, what: str = "") -> None:
    """Market data callbacks until the predicate holds."""

    def feed() -> None:
        host.command("market")
        time.sleep(0.02)

    feed()
    wait_until(predicate, timeout, f"{what} (feeding market data)", step=feed)


def submit(engine: EngineProcess, **order) -> dict:
    """The engine's submit, once it trades: after a hello the engine refuses orders until
    the platform's snapshot has confirmed the account's positions (a race with the test)."""
    def answered() -> dict | None:
        reply = engine.request("submit", **order)
        return reply if reply["ok"] or "not yet confirmed" not in reply.get("error", "") \
            else None

    return wait_until(answered, 30, "the engine's confirmed snapshot (submit accepted)",
                      poll=0.05)


def start_trading(host: Host, engine: EngineProcess) -> None:
    """The strategy started against the engine, until its hello, definition and ticks are in."""
    host.command(f"start engine={engine.shim} kill={engine.kill} secret={SECRET} hb=100 "
                 "silence=3 depth=0", "started")

    def ready() -> bool:
        status = engine.request("status")
        return bool(status["shims"]) and "ES 12-26" in status["shims"][0]["instruments"] \
            and status["ticks"] > 0

    feed_until(host, ready, what="hello, definition and ticks")


def order_calls(host: Host, method: str) -> list[dict]:
    return [c for c in host.calls() if c["method"] == method]


def test_the_strategy_trades_through_the_engine(make_host, engine: EngineProcess) -> None:
    host = make_host()
    start_trading(host, engine)
    (shim,) = engine.request("status")["shims"]
    assert shim["name"].startswith("ninjatrader:Sim101") and shim["simulated"]

    reply = submit(engine, symbol="ES 12-26", side="BUY", quantity=2,
                   order_type="LIMIT", price=6010.25, source="test")
    assert reply["ok"], reply
    coid, text = reply["client_order_id"], reply["client_order_id_text"]
    wait_until(lambda: engine.order(coid)["status"] == "WORKING", 30, "working")
    (placed,) = order_calls(host, "SubmitOrderUnmanaged")
    assert placed["signalName"] == text and placed["quantity"] == 2
    assert placed["orderAction"] == "Buy" and placed["limitPrice"] == 6010.25

    filled = host.command(f"fill id={coid} qty=1 price=6010.25 first=update", "filled")
    assert filled["execution_id"]
    wait_until(lambda: engine.order(coid)["filled"] == 1, 30, "the partial fill at the engine")
    assert engine.request("status")["positions"]["ES 12-26"] == 1

    assert engine.request("cancel", client_order_id=coid)["ok"]
    wait_until(lambda: engine.order(coid)["status"] == "CANCELED", 30, "canceled")
    assert order_calls(host, "CancelOrder")

    kill = engine.kill_command()
    out, err = kill.communicate(timeout=60)
    assert kill.returncode == 0, out + err
    assert "engine  engine           ok" in out and "shim    ninja            ok" in out
    assert engine.request("status")["accounts"]["Sim101"] == "HALTED"


def test_no_order_reaches_the_platform_while_its_order_connection_is_down(
        make_host, engine: EngineProcess) -> None:
    """The broker connection drops: the strategy tells the engine (PlatformStatus from
    OnConnectionStatusUpdate), the engine refuses the next submit itself
    (PLATFORM_NOT_CONNECTED, in `tickbridge status`); nothing reaches SubmitOrderUnmanaged.
    Back up, the engine is told, and the next submit works."""
    host = make_host()
    start_trading(host, engine)

    def platform() -> dict:
        (shim,) = [s for s in engine.request("status")["shims"] if not s["lost"]]
        return shim["platform"]

    wait_until(lambda: platform()["orders"] == "CONNECTED", 30, "the platform's status")
    # the engine's TradingState at the hello, on the chart's status line
    wait_chart(host, "engine trading state: ACTIVE |", timeout=30)
    host.command("connection status=ConnectionLost price=Connected")
    wait_until(lambda: platform()["orders_refused"], 30, "the engine told of the outage")
    assert platform()["orders"] == "CONNECTION_LOST"
    reply = submit(engine, symbol="ES 12-26", side="BUY", quantity=1,
                   order_type="LIMIT", price=6010.25, source="test")
    assert not reply["ok"] and "order connection is CONNECTION_LOST" in reply["error"], reply
    assert not order_calls(host, "SubmitOrderUnmanaged")
    assert host.command("stats")["state"] == "Realtime"
    host.command("connection status=Connected")
    wait_until(lambda: not platform()["orders_refused"], 30, "the engine told it is back")
    again = submit(engine, symbol="ES 12-26", side="BUY", quantity=1,
                   order_type="LIMIT", price=6010.25, source="test")
    assert again["ok"], again
    wait_until(lambda: engine.order(again["client_order_id"])["status"] == "WORKING", 30, "working")
    assert len(order_calls(host, "SubmitOrderUnmanaged")) == 1
