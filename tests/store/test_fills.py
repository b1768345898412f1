"""Fills are booked once by (account, execution_id), durably before the future resolves."""

from __future__ import annotations

import sqlite3

import pytest

from tests.store.conftest import fill, order
from tickbridge.store import ShimSession, StateStore


def test_duplicate_execution_id_is_booked_once(store: StateStore) -> None:
    store.save_order(order(1, quantity=3))
    first = store.record_fill(fill("X1", quantity=2)).result(timeout=10)
    again = store.record_fill(fill("X1", quantity=2)).result(timeout=10)
    in_batch = store.book_fills([fill("X2"), fill("X2"), fill("X1")]).result(timeout=10)
    assert first.booked and not again.booked
    assert [o.booked for o in in_batch] == [True, False, False]
    assert [f.execution_id for f in store.load_fills()] == ["X1", "X2"]
    position = store.load_positions()[("Sim101", "ESZ6")]
    assert position.quantity == 3  # 2 + 1, the duplicates changed nothing
    assert store.load_orders()[1].filled_quantity == 3


def test_same_execution_id_on_another_account_is_another_fill(store: StateStore) -> None:
    outcomes = store.book_fills([fill("X1"), fill("X1", account="Other")]).result(timeout=10)
    assert [o.booked for o in outcomes] == [True, True]


def test_fill_is_durable_when_the_future_resolves(store: StateStore, db_path) -> None:
    outcome = store.record_fill(fill("D1")).result(timeout=10)
    assert outcome.booked
    # A second, independent connection sees the committed fill at once.
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT execution_id FROM fills").fetchall() == [("D1",)]
    conn.close()


def test_fill_and_shim_sequence_commit_together(store: StateStore) -> None:
    session = ShimSession(77, "Sim101", "SIMULATOR", last_booked_sequence=12)
    store.book_fills([fill("S1")], session=session).result(timeout=10)
    assert store.load_shim_sessions()[77].last_booked_sequence == 12
    # A lower sequence arriving late never moves the acknowledged point back.
    store.book_sequence(ShimSession(77, "Sim101", "SIMULATOR", 9)).result(timeout=10)
    assert store.load_shim_sessions()[77].last_booked_sequence == 12


def test_fill_updates_order_average_price(store: StateStore) -> None:
    store.save_order(order(5, quantity=4))
    store.book_fills([fill("A", 5, quantity=1, price=100.0),
                      fill("B", 5, quantity=3, price=104.0)]).result(timeout=10)
    o = store.load_orders()[5]
    assert o.filled_quantity == 4 and o.average_fill_price == pytest.approx(103.0)
    # A stale snapshot of the order from the engine does not move filled back.
    store.save_order(order(5, quantity=4, state="FILLED", filled_quantity=1,
                           average_fill_price=100.0))
    store.sync().result(timeout=10)
    o = store.load_orders()[5]
    assert (o.state, o.filled_quantity, o.average_fill_price) == ("FILLED", 4, 103.0)


def test_fills_are_audited_in_the_same_transaction(store: StateStore, db_path) -> None:
    store.book_fills([fill("F1"), fill("F1")]).result(timeout=10)
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT kind, payload FROM audit_log ORDER BY id").fetchall()
    conn.close()
    assert [k for k, _ in rows] == ["fill", "fill"]
    assert '"booked":true' in rows[0][1] and '"booked":false' in rows[1][1]


def test_invalid_fill_is_refused_on_the_callers_thread(store: StateStore) -> None:
    with pytest.raises(ValueError, match="no execution_id"):
        store.book_fills([fill("")])
    with pytest.raises(ValueError, match="not positive"):
        store.book_fills([fill("Z", quantity=0)])


def test_fill_side_must_be_buy_or_sell(store: StateStore) -> None:
    with pytest.raises(ValueError, match="not BUY or SELL"):
        store.book_fills([fill("S", side="HOLD")])
