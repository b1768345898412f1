"""Restoring orders into the engine's compiled book (engine/persistence.py): a store written
before fills stored the state they lead to (every filled order left WORKING, one warning
per order at each restart: issue 17 item 2) is corrected from its fills, once, without a
warning per order, and the corrected store verifies."""

from __future__ import annotations

import logging
from pathlib import Path

from tickbridge import orders as ob
from tickbridge.audit import verify_store, witness_path
from tickbridge.engine.persistence import restore_orders
from tickbridge.store import FillRecord, OrderRecord, StateStore, Transition
from tickbridge.store.connection import open_reader


def _order(coid: int, state: str) -> OrderRecord:
    return OrderRecord(coid, "Sim101", "ESZ6", "BUY", "LIMIT", "DAY", 3, 6000.0, 0.0, state,
                       created_ns=1, updated_ns=2)


def test_states_behind_their_fills_are_corrected_without_a_warning_each(
        db_path: Path, caplog) -> None:
    with StateStore(db_path) as store:
        for coid in (7, 8, 9):
            store.save_order(_order(coid, "WORKING"),
                             Transition(coid, 0, "SUBMITTED", "ACCEPTED", "WORKING", 2))
        # As the engine booked fills before: no state with them.
        store.book_fills([FillRecord("Sim101", "E1", 7, "ESZ6", "BUY", 3, 6000.0, 10),
                          FillRecord("Sim101", "E2", 8, "ESZ6", "BUY", 1, 6000.0, 11)])
        store.save_order(_order(9, "CANCELED"),
                         Transition(9, 0, "WORKING", "CANCELED", "CANCELED", 12))
    with StateStore(db_path) as store, caplog.at_level(logging.INFO, "tickbridge.engine"):
        assert restore_orders(store, ob.OrderBook(1)) == 3
        store.sync().result(timeout=10)
        stored = {c: o.state for c, o in store.load_orders().items()}
        steps = [t.event for t in store.load_transitions(7)]
    assert stored == {7: "FILLED", 8: "PARTIALLY_FILLED", 9: "CANCELED"}
    assert steps[-1] == "FILL"
    assert "restored order" not in caplog.text
    assert "2 stored order state(s) behind their fills" in caplog.text
    conn = open_reader(db_path)
    verdict = verify_store(conn, [witness_path(db_path)])
    conn.close()
    assert verdict.ok, (verdict.witnesses, verdict.tables)

    caplog.clear()
    with StateStore(db_path) as store, caplog.at_level(logging.INFO, "tickbridge.engine"):
        restore_orders(store, ob.OrderBook(1))
    assert "state(s) behind" not in caplog.text  # corrected once
