"""Drift between the platform and the engine, made the way it happens: behind the
engine's back while the platform is down (its saved account edited), found by the
reconciliation that runs at the platform's hello, classified and handled by policy."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.waiting import wait_until
from tickbridge.protocol import OrderStatus

from .stack import Stack

TICK = 0.25


def _trading_long_one(stack: Stack) -> None:
    """Engine and simulator up (the simulator keeps its orders when the engine goes),
    one ES contract bought and filled."""
    stack.start_engine()
    stack.start_sim("--no-cancel-on-disconnect", speed=2)
    stack.wait_trading()
    buy = stack.submit(side="BUY", quantity=1, order_type="MARKET")
    stack.wait_order(buy, lambda o: o["status"] == "FILLED", 30, "the buy filled")


def test_drift_found_at_reconnect_is_classified_and_handled(tmp_path: Path) -> None:
    stack = Stack(tmp_path, kill_on_lost=False)
    try:
        _trading_long_one(stack)
        last = float(stack.market()["last_price"])
        gone, kept, silent = (stack.submit(side="BUY", quantity=1, order_type="LIMIT",
                                           price=last - offset * TICK)
                              for offset in (100, 120, 140))
        for coid in (gone, kept, silent):
            stack.wait_order(coid, lambda o: o["status"] == "WORKING", 30, "resting")
        assert stack.stop_sim() == 0
        # Behind the engine's back: the platform forgets one order, cancels another without
        # the update ever reaching the engine, changes a third's quantity (a modify made
        # at the platform), grows an order of its own, and its position changes (a manual
        # trade the engine never heard of).
        state = json.loads(stack.sim_state.read_text())
        orders = [o for o in state["orders"] if o["client_order_id"] != gone]
        for order in orders:
            if order["client_order_id"] == silent:
                order["status"] = int(OrderStatus.CANCELED)
                order["finished_ns"] = state["clock_ns"]
            if order["client_order_id"] == kept:
                order["quantity"] = 3
        template = next(o for o in orders if o["client_order_id"] == kept)
        # An order placed by hand: the shims report those with id 0 (platform-made ids,
        # the top bit set, are a flatten's closing orders, booked as the engine's).
        orders.append({**template, "quantity": 1, "client_order_id": 0,
                       "platform_order_id": "999999"})
        state["orders"] = orders
        state["positions"]["1"][0] += 3
        stack.sim_state.write_text(json.dumps(state))
        stack.start_sim("--no-cancel-on-disconnect", speed=2)
        stack.wait_trading()
        wait_until(lambda: stack.order(gone)["status"] == "CANCELED", 30,
                 "the forgotten order marked canceled")
        wait_until(lambda: stack.status()["accounts"].get("Sim101") == "HALTED", 30,
                 "trading halted on the position difference")
        assert stack.order(kept)["status"] == "WORKING"
        assert stack.order(kept)["qty"] == 1  # quantity_differs alerts: the engine's kept
        # The dropped update: the snapshot restates the order as canceled; applied.
        assert stack.order(silent)["status"] == "CANCELED"
        assert stack.status()["positions"]["ESZ6"] == 1  # fills are the truth, not guesses
        assert stack.stop_engine() == 0
        with sqlite3.connect(stack.store) as db:
            rows = [(k, json.loads(p)) for k, p in db.execute(
                "SELECT kind, payload FROM audit_log ORDER BY id")]
        drifts = {p["drift"]: p for k, p in rows if k == "reconcile_drift"}
        missing = {p["client_order_id"] for k, p in rows
                   if k == "reconcile_drift" and p["drift"] == "missing_at_platform"}
        assert missing == {gone}  # the silently canceled one came back as an update
        assert drifts["missing_at_platform"]["action"] == "mark_canceled"
        assert drifts["position_differs"]["platform"] == 4
        # The dropped update, classified: the platform's state taken (default: adopt).
        assert drifts["state_differs"]["client_order_id"] == silent
        assert (drifts["state_differs"]["engine"], drifts["state_differs"]["platform"]) == \
            ("WORKING", "CANCELED")
        assert drifts["state_differs"]["action"] == "adopt"
        # The quantity changed at the platform: alerted (default), the engine's kept.
        assert drifts["quantity_differs"]["client_order_id"] == kept
        assert (drifts["quantity_differs"]["engine"], drifts["quantity_differs"]["platform"],
                drifts["quantity_differs"]["action"]) == (1, 3, "alert")
        assert drifts["position_differs"]["engine"] == 1
        assert drifts["unknown_external_order"]["client_order_id"] is None
        assert drifts["unknown_external_order"]["platform_order_id"] == "999999"
        assert drifts["unknown_external_order"]["action"] == "alert"
        assert OrderStatus(template["status"]) == OrderStatus.WORKING
    finally:
        stack.stop()


def test_the_policy_is_the_configs(tmp_path: Path) -> None:
    """`position_differs = "alert"`: the difference is audited, trading goes on;
    `quantity_differs = "adopt"`: the engine takes the platform's working quantity."""
    stack = Stack(tmp_path, kill_on_lost=False)
    stack.config.write_text(stack.config.read_text() + '\n[reconcile]\nposition_differs = '
                            '"alert"\nquantity_differs = "adopt"\n')
    try:
        _trading_long_one(stack)
        resting = stack.submit(side="BUY", quantity=1, order_type="LIMIT",
                               price=float(stack.market()["last_price"]) - 100 * TICK)
        stack.wait_order(resting, lambda o: o["status"] == "WORKING", 30, "resting")
        assert stack.stop_sim() == 0
        state = json.loads(stack.sim_state.read_text())
        state["positions"]["1"][0] -= 2
        for order in state["orders"]:
            if order["client_order_id"] == resting:
                order["quantity"] = 2
        stack.sim_state.write_text(json.dumps(state))
        stack.start_sim("--no-cancel-on-disconnect", speed=2)
        stack.wait_trading()
        wait_until(lambda: "policy: alert" in stack.log("engine"), 30, "the drift reported")
        stack.wait_order(resting, lambda o: o["qty"] == 2, 30, "the platform's quantity adopted")
        assert stack.order(resting)["status"] == "WORKING"
        assert stack.status()["accounts"]["Sim101"] == "ACTIVE"
        assert stack.submit(side="SELL", quantity=1, order_type="MARKET")  # still trading
        assert stack.stop_engine() == 0
        with sqlite3.connect(stack.store) as db:
            drifts = [json.loads(p) for (p,) in db.execute(
                "SELECT payload FROM audit_log WHERE kind = 'reconcile_drift'")]
        by_class = {d["drift"]: d for d in drifts}
        assert by_class["position_differs"]["action"] == "alert"
        assert (by_class["position_differs"]["platform"],
                by_class["position_differs"]["engine"]) == (-1, 1)
        assert by_class["quantity_differs"]["action"] == "adopt"
        assert by_class["quantity_differs"]["client_order_id"] == resting
    finally:
        stack.stop()
