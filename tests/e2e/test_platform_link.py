"""The platform's own connection and the engine's trading state, end to end: `tickbridge
run` and `tickbridge sim` as processes over real sockets. The simulator reports
PlatformStatus after its hello; SIGUSR1/SIGUSR2 simulate a broker outage and its end.
While the order connection is down the engine refuses new orders to it (audited, in
`tickbridge status`), a cancel still goes out; back up, orders are accepted again. The
engine tells the simulator its trading state (TradingState) at hello and on a change."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.waiting import wait_until

from .stack import Stack

TICK = 0.25


def _shim(stack: Stack) -> dict:
    live = [s for s in stack.status()["shims"] if not s["lost"] and not s["refused"]]
    assert live, stack.status()
    return live[0]


def _audit(store: Path) -> list[tuple[str, dict]]:
    with sqlite3.connect(store) as db:
        return [(k, json.loads(p)) for k, p in
                db.execute("SELECT kind, payload FROM audit_log ORDER BY id")]


def test_broker_outage_refuses_orders_then_they_are_accepted_again(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim(speed=5)
    stack.wait_trading()
    # Hello: the simulator said CONNECTED, the engine told it ACTIVE.
    wait_until(lambda: _shim(stack)["platform"]["orders"] == "CONNECTED", 30, "CONNECTED")
    wait_until(lambda: _shim(stack)["platform"]["told"] == "ACTIVE", 30, "TradingState sent")
    wait_until(lambda: "engine trading state for Sim101: ACTIVE" in stack.log("sim"), 30,
             "the simulator shown ACTIVE")
    last = float(wait_until(lambda: stack.market()["last_price"], 30, "a last price"))
    resting = stack.submit(side="BUY", quantity=1, order_type="LIMIT", price=last - 200 * TICK)
    stack.wait_order(resting, lambda o: o["status"] == "WORKING", 30, "working")

    assert stack.sim is not None
    stack.sim.send_signal(signal.SIGUSR1)  # the broker connection drops
    wait_until(lambda: _shim(stack)["platform"]["orders_refused"], 30, "orders refused")
    assert _shim(stack)["platform"]["orders"] == "CONNECTION_LOST"
    # `tickbridge status` says so.
    shown = subprocess.run(
        [sys.executable, "-m", "tickbridge", "status", "--config", str(stack.config),
         "--token-file", str(stack.token_file)], capture_output=True, text=True, timeout=60)
    assert "CONNECTION_LOST (refusing)" in shown.stdout, shown.stdout + shown.stderr

    refused = stack.request("submit", symbol="ESZ6", source="e2e", side="BUY", quantity=1,
                            order_type="LIMIT", price=last - 190 * TICK)
    assert not refused["ok"] and "order connection is CONNECTION_LOST" in refused["error"]
    # A cancel still goes out: the simulator's answer (NOT_CONNECTED) comes back.
    assert stack.request("cancel", client_order_id=resting)["ok"]
    wait_until(lambda: any(k == "command_reject" and p.get("client_order_id") == resting
                         for k, p in _audit(stack.store)), 30, "the cancel answered")
    assert stack.order(resting)["status"] == "WORKING"

    stack.sim.send_signal(signal.SIGUSR2)  # back
    wait_until(lambda: not _shim(stack)["platform"]["orders_refused"], 30, "orders accepted")
    again = stack.submit(side="BUY", quantity=1, order_type="LIMIT", price=last - 190 * TICK)
    stack.wait_order(again, lambda o: o["status"] == "WORKING", 30, "working after")
    for coid in (resting, again):
        assert stack.request("cancel", client_order_id=coid)["ok"]
        stack.wait_order(coid, lambda o: o["status"] == "CANCELED", 30, "canceled")

    audit = _audit(stack.store)
    statuses = [(p["orders"], p["orders_refused"]) for k, p in audit if k == "platform_status"]
    assert statuses == [("CONNECTED", False), ("CONNECTION_LOST", True),
                        ("CONNECTED", False)], statuses
    refusals = [p for k, p in audit if k == "risk_refusal"]
    assert [p["reason"] for p in refusals] == ["PLATFORM_NOT_CONNECTED"], refusals


def test_trading_state_changes_reach_the_simulator(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim(speed=5)
    stack.wait_trading()
    wait_until(lambda: _shim(stack)["platform"]["told"] == "ACTIVE", 30, "ACTIVE told")
    assert stack.request("set_state", state="HALTED", account="Sim101", source="e2e")["ok"]
    wait_until(lambda: "engine trading state for Sim101: HALTED (HALTED by e2e)"
             in stack.log("sim"), 30, "HALTED shown by the simulator")
    assert _shim(stack)["platform"]["told"] == "HALTED"
    assert stack.request("set_state", state="ACTIVE", account="Sim101", source="e2e")["ok"]
    wait_until(lambda: _shim(stack)["platform"]["told"] == "ACTIVE", 30, "ACTIVE again")
    wait_until(lambda: stack.log("sim").count("engine trading state for Sim101: ACTIVE") == 2,
             30, "ACTIVE shown again")
