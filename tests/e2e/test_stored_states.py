"""Order states in the state store, end to end (issue 17, item 2): `tickbridge run` and
`tickbridge sim` as separate processes; orders that fill, that are canceled and that are
refused by the platform are stored in their final state, a restart restores them without
a warning, and `tickbridge audit verify` passes the store (chain, witness, tables)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

from tests.waiting import wait_until

from .stack import Stack

TICK = 0.25
FINAL = ("FILLED", "CANCELED", "REJECTED", "EXPIRED")


def _stored(stack: Stack) -> dict[int, tuple[str, int, int]]:
    with sqlite3.connect(stack.store) as db:
        return {coid: (state, qty, filled) for coid, state, qty, filled in db.execute(
            "SELECT client_order_id, state, quantity, filled_quantity FROM orders")}


def test_final_states_are_stored_and_restored_without_warnings(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim(speed=5)
    stack.wait_trading()
    market = [stack.submit(side=side, quantity=qty, order_type="MARKET")
              for side, qty in (("BUY", 1), ("SELL", 2), ("BUY", 3), ("SELL", 1))]
    last = float(wait_until(lambda: stack.market()["last_price"], 30, "a last trade price"))
    resting = [stack.submit(side="BUY", quantity=1, order_type="LIMIT",
                            price=last - (200 + i) * TICK) for i in range(3)]
    for coid in resting:
        stack.wait_order(coid, lambda o: o["status"] == "WORKING", 30, "working")
        assert stack.request("cancel", client_order_id=coid)["ok"]
    for coid in market + resting:
        stack.wait_order(coid, lambda o: o["status"] in FINAL, 60, f"order {coid} final")
    engine_view = {c: stack.order(c)["status"] for c in market + resting}
    assert [engine_view[c] for c in market] == ["FILLED"] * 4, engine_view
    assert [engine_view[c] for c in resting] == ["CANCELED"] * 3, engine_view

    # Stored as they happened, while the engine still runs (the writer is group-commit:
    # wait for it, never a fixed sleep).
    def stored_final() -> dict[int, tuple[str, int, int]] | None:
        rows = _stored(stack)
        return rows if all(rows.get(c, ("",))[0] == engine_view[c] for c in engine_view) \
            else None
    rows = wait_until(stored_final, 30, "the final states in the store")
    for coid in market:
        state, qty, filled = rows[coid]
        assert (state, filled) == ("FILLED", qty), (coid, rows[coid])
    for coid in resting:
        assert rows[coid] == ("CANCELED", 1, 0), (coid, rows[coid])
    with sqlite3.connect(stack.store) as db:
        events = [e for (e,) in db.execute(
            "SELECT event FROM order_transitions WHERE client_order_id = ? ORDER BY seq",
            (market[0],))]
    assert events[-1] == "FILL", events  # the step to FILLED is in the history too

    assert stack.stop_engine(signal.SIGTERM) == 0
    before = stack.log("engine")
    stack.start_engine()
    wait_until(lambda: stack.status()["shims"], 60, "the simulator back at the engine")
    restarted = stack.log("engine")[len(before):]
    assert "restored order" not in restarted, restarted
    for coid, status in engine_view.items():
        assert stack.order(coid)["status"] == status
    stack.stop_sim()
    assert stack.stop_engine() == 0

    verify = subprocess.run([sys.executable, "-m", "tickbridge", "audit", "--db",
                             str(stack.store), "verify"], capture_output=True, text=True,
                            timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
