"""`tickbridge kill` with real processes: the engine running, the engine dead, the shim
slow. After each: no working orders and no positions at the simulator, and the action in
the audit log."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

from tests.waiting import wait_until
from tickbridge.risk.kill_switch import journal_path

from .stack import Stack

TICK = 0.25


def _kill_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tickbridge", "kill", "--config",
                           str(stack.config), *args], capture_output=True, text=True,
                          timeout=60)


def _exposure(stack: Stack) -> None:
    """A long position and two resting orders, at the engine and the simulator."""
    stack.wait_trading()
    coid = stack.submit(side="BUY", quantity=2, order_type="MARKET")
    stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "the market buy filled")
    last = float(stack.market()["last_price"])
    for offset in (100, 120):
        rest = stack.submit(side="BUY", quantity=1, order_type="LIMIT",
                            price=last - offset * TICK)
        stack.wait_order(rest, lambda o: o["status"] == "WORKING", 30, "resting")
    wait_until(lambda: len(stack.sim_working()) == 2 and stack.sim_positions()["ESZ6"] == 2, 30,
             "the simulator's account to hold the exposure")


def _flat_and_idle(stack: Stack) -> None:
    wait_until(lambda: stack.sim_working() == [] and
             all(q == 0 for q in stack.sim_positions().values()), 30,
             "no working orders and no positions at the simulator")


def _audit(store: object) -> list[tuple[str, dict]]:
    with sqlite3.connect(str(store)) as db:
        return [(k, json.loads(p)) for k, p in
                db.execute("SELECT kind, payload FROM audit_log ORDER BY id")]


def test_kill_with_the_engine_running(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim(speed=2)
    _exposure(stack)
    result = _kill_cli(stack, "--flatten")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine  engine           ok" in result.stdout
    assert "shim    simulator        ok" in result.stdout
    _flat_and_idle(stack)
    assert stack.status()["trading_state"] == "HALTED"
    # The platform's flatten orders' fills are booked as the engine's (defect 4 of
    # docs/simulation-testing.md): the engine is flat too, not long 2 from before.
    wait_until(lambda: stack.status()["positions"].get("ESZ6") == 0, 30,
               "the engine's position to be flat after the flatten")
    refused = stack.request("submit", symbol="ESZ6", side="BUY", quantity=1,
                            order_type="MARKET", source="e2e")
    assert not refused["ok"] and "halted" in refused["error"].lower()
    assert stack.stop_engine() == 0
    audit = _audit(stack.store)
    kinds = [k for k, _ in audit]
    assert "kill" in kinds and "kill_direct" in kinds
    assert "flatten_order" in kinds
    assert sum(p["quantity"] for k, p in audit if k == "flatten_fill") == 2
    with sqlite3.connect(str(stack.store)) as db:
        stored = db.execute("SELECT quantity FROM positions WHERE instrument = 'ESZ6'"
                            ).fetchall()
    assert stored in ([], [(0,)]), stored
    verify = subprocess.run([sys.executable, "-m", "tickbridge", "audit", "verify", "--db",
                             str(stack.store)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_kill_with_the_engine_dead_goes_straight_to_the_shim(stack: Stack) -> None:
    stack.start_engine()
    # Without cancel-on-disconnect, only the kill switch can clear the orders.
    stack.start_sim("--no-cancel-on-disconnect", speed=2)
    _exposure(stack)
    stack.stop_engine(signal.SIGKILL)
    result = _kill_cli(stack, "--flatten", "--timeout", "1")
    assert result.returncode == 1, result.stdout + result.stderr  # the engine path failed
    assert "engine  engine           FAILED" in result.stdout
    assert "shim    simulator        ok" in result.stdout
    _flat_and_idle(stack)
    assert journal_path(stack.store).exists()
    # The engine's next start puts the journaled action into its audit chain.
    stack.stop_sim()
    stack.start_engine()
    wait_until(lambda: not journal_path(stack.store).exists(), 30, "the journal audited")
    assert stack.stop_engine() == 0
    kills = [p for k, p in _audit(stack.store) if k == "kill"]
    assert kills and kills[-1]["source"] == "kill cli (engine not answering)"
    assert any(o["path"] == "shim" and o["ok"] for o in kills[-1]["outcomes"])


def test_kill_with_the_shim_slow_reports_it_and_still_lands(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim("--no-cancel-on-disconnect", speed=2)
    _exposure(stack)
    assert stack.sim is not None
    stack.sim.send_signal(signal.SIGSTOP)  # the platform is busy: nothing answers
    try:
        result = _kill_cli(stack, "--flatten", "--timeout", "1", "--shim-timeout", "1")
    finally:
        stack.sim.send_signal(signal.SIGCONT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "engine  engine           ok" in result.stdout
    assert "shim    simulator        FAILED  no answer within 1 s" in result.stdout
    # Both Kill paths were queued by ZeroMQ; once the platform runs again they land.
    _flat_and_idle(stack)


def test_a_lost_shim_is_halted_and_its_orders_canceled_through_its_kill_endpoint(
        stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim("--no-cancel-on-disconnect", speed=2)
    _exposure(stack)
    assert stack.sim is not None
    stack.sim.send_signal(signal.SIGSTOP)  # the engine hears nothing: the shim is lost
    try:
        wait_until(lambda: "kill on shim lost" in stack.log("engine") or
                 "trading state ACTIVE -> HALTED (Sim101, by shim lost)" in stack.log("engine"),
                 20, "the engine to declare the shim lost")
    finally:
        stack.sim.send_signal(signal.SIGCONT)
    # The Kill waited in the shim's socket; the platform cancels as soon as it runs.
    wait_until(lambda: stack.sim_working() == [], 30, "the working orders canceled")
    assert stack.sim_positions()["ESZ6"] == 2  # cancel only: positions are the trader's call
    wait_until(lambda: "kill on shim lost: simulator ok" in stack.log("engine"), 20,
             "the kill's result")
    refused = stack.request("submit", symbol="ESZ6", side="BUY", quantity=1,
                            order_type="MARKET", source="e2e")
    assert not refused["ok"] and "halted" in refused["error"].lower()
    assert stack.stop_engine() == 0
    kills = [p for k, p in _audit(stack.store) if k == "kill"]
    assert any(p["source"] == "shim lost" and p["ok"] for p in kills)
