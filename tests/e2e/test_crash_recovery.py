"""Crash tests with real processes: the engine, the simulator, or both killed with SIGKILL
at random points of a busy session, then restarted. After recovery every fill the
simulator made for the engine's orders is booked exactly once, the positions and average
prices equal the simulator's, and the audit chain verifies. Iterations per test:
$TICKBRIDGE_CRASH_ITERATIONS (default 3), kept small so CI stays short."""

from __future__ import annotations

import base64
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient, ControlError
from tickbridge.protocol import DTYPES, RecordType

from .stack import Stack

ITERATIONS = int(os.environ.get("TICKBRIDGE_CRASH_ITERATIONS", "3"))


class OrderPump(threading.Thread):
    """Keeps orders flowing: small market and at-the-touch limit orders, both sides, and
    cancels of some resting ones. Refusals and a dead engine are expected; it carries on."""

    def __init__(self, stack: Stack, seed: int) -> None:
        super().__init__(daemon=True)
        self.stack, self.rng, self.stop = stack, random.Random(seed), threading.Event()
        self.sent = 0

    def run(self) -> None:
        client = ControlClient(self.stack.control_endpoint, timeout_ms=300,
                               token_file=self.stack.token_file)
        while not self.stop.is_set():
            try:
                market = client.request("market", symbol="ESZ6").get("market") or {}
                side = self.rng.choice(["BUY", "SELL"])
                if self.rng.random() < 0.4 or not market.get("bid"):
                    reply = client.request("submit", symbol="ESZ6", side=side, quantity=1,
                                           order_type="MARKET", source="pump")
                else:
                    touch = market["bid"] if side == "BUY" else market["ask"]
                    reply = client.request("submit", symbol="ESZ6", side=side,
                                           quantity=self.rng.randint(1, 5),
                                           order_type="LIMIT", price=touch, source="pump")
                    if reply.get("ok") and self.rng.random() < 0.3:
                        client.request("cancel", client_order_id=reply["client_order_id"])
                self.sent += bool(reply.get("ok"))
            except ControlError:
                pass  # the engine is down: it will be back
            time.sleep(self.rng.uniform(0.01, 0.05))


def _sim_fills(stack: Stack) -> dict[str, tuple[int, str, int, float]]:
    raw = base64.b64decode(stack.sim_platform()["fills"])
    out = {}
    for f in np.frombuffer(raw, DTYPES[RecordType.FILL]):
        coid = int(f["client_order_id"])
        if coid >> 63:
            continue  # the platform's own orders (none here): not the engine's to book
        out[bytes(f["execution_id"]).rstrip(b"\0").decode()] = (
            coid, "BUY" if int(f["side"]) == 1 else "SELL", int(f["quantity"]),
            float(f["price"]))
    return out


def _settle_and_compare(stack: Stack) -> None:
    """Stop trading, let every order finish, then compare engine, store and simulator."""
    stack.request("set_state", state="halted", source="test")
    for order in stack.status()["working_orders"]:
        stack.request("cancel", client_order_id=order["client_order_id"])
    wait_until(lambda: stack.sim_working() == [] and stack.status()["working_orders"] == [],
             60, "every order finished at the simulator and the engine")
    sim_position = stack.sim_positions()["ESZ6"]
    wait_until(lambda: stack.status()["positions"].get("ESZ6", 0) == sim_position, 30,
             f"the engine's position to reach the simulator's ({sim_position})")
    assert stack.stop_sim() == 0
    assert stack.stop_engine() == 0
    sim = _sim_fills(stack)
    with sqlite3.connect(stack.store) as db:
        booked = db.execute("SELECT execution_id, client_order_id, side, quantity, price "
                            "FROM fills").fetchall()
        positions = db.execute("SELECT instrument, quantity, average_price FROM positions"
                               ).fetchall()
    ids = [r[0] for r in booked]
    assert len(ids) == len(set(ids)), "a fill booked twice"
    assert set(ids) == set(sim), (f"missing: {sorted(set(sim) - set(ids))[:5]}, "
                                  f"unknown: {sorted(set(ids) - set(sim))[:5]}")
    for execution_id, coid, side, quantity, price in booked:
        assert sim[execution_id] == (coid, side, quantity, price)
    (_, qty, avg), = [p for p in positions if p[0] == "ESZ6"] or [("ESZ6", 0, 0.0)]
    state = stack.sim_platform()
    sim_qty, sim_avg, _ = state["positions"]["1"]
    assert qty == sim_qty
    if qty:
        assert avg == pytest.approx(sim_avg, abs=1e-9)
    verify = subprocess.run([sys.executable, "-m", "tickbridge", "audit", "verify", "--db",
                             str(stack.store)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _busy_session(stack: Stack, kill_engine: bool, kill_sim: bool, seed: int) -> None:
    rng = random.Random(seed)
    stack.start_engine()
    stack.start_sim("--queue", "front", "--no-cancel-on-disconnect", speed=5)
    stack.wait_trading()
    pump = OrderPump(stack, seed)
    pump.start()
    try:
        for _ in range(ITERATIONS):
            time.sleep(rng.uniform(0.5, 2.5))
            if kill_engine:
                stack.engine.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
                stack.engine.wait()  # type: ignore[union-attr]
            if kill_sim:
                stack.stop_sim(signal.SIGKILL)
            time.sleep(rng.uniform(0.0, 0.5))
            if kill_engine:
                stack.start_engine()
            if kill_sim:
                stack.start_sim("--queue", "front", "--no-cancel-on-disconnect", speed=5)
            stack.wait_trading()
    finally:
        pump.stop.set()
        pump.join(timeout=10)
    assert pump.sent > 0
    _settle_and_compare(stack)


def test_engine_killed_mid_session(stack: Stack) -> None:
    _busy_session(stack, kill_engine=True, kill_sim=False, seed=11)


def test_simulator_killed_mid_session(stack: Stack) -> None:
    _busy_session(stack, kill_engine=False, kill_sim=True, seed=12)


def test_both_killed_mid_session(stack: Stack) -> None:
    _busy_session(stack, kill_engine=True, kill_sim=True, seed=13)
