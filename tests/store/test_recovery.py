"""Close and reopen: what the engine reloads equals what it wrote."""

from __future__ import annotations

from tests.store.conftest import fill, order
from tickbridge.protocol import Platform
from tickbridge.store import SCHEMA_VERSION, PositionRecord, ShimSession, StateStore, Transition


def test_restart_recovers_state(db_path) -> None:
    with StateStore(db_path) as s:
        s.save_order(order(1, state="WORKING"),
                     Transition(1, 0, "NEW_REQUESTED", "submit", "SUBMITTED", 10),
                     Transition(1, 0, "SUBMITTED", "ack", "WORKING", 11))
        s.save_order(order(2, state="FILLED", quantity=1))
        s.save_order(order(3, state="PENDING_CANCEL"))
        s.book_fills([fill("E1", 2)],
                     session=ShimSession(9, "Sim101", Platform.SIERRA_CHART, 41))
        s.set_position(PositionRecord("Sim101", "NQZ6", -3, 21000.0, 0.0, 5))
        s.sync().result(timeout=10)  # reads see committed data only
        before = (s.load_orders(), s.load_positions(), s.load_shim_sessions(),
                  s.load_transitions(1), s.load_execution_ids())
    with StateStore(db_path) as s:
        after = (s.load_orders(), s.load_positions(), s.load_shim_sessions(),
                 s.load_transitions(1), s.load_execution_ids())
        assert set(s.load_open_orders()) == {1, 3}
    assert before == after
    _, positions, sessions, transitions, executions = after
    assert sessions[9].last_booked_sequence == 41
    assert sessions[9].platform == "SIERRA_CHART"  # enumerations are stored by name
    assert positions[("Sim101", "NQZ6")].quantity == -3
    assert [t.seq for t in transitions] == [1, 2]
    assert executions == {("Sim101", "E1")}


def test_schema_is_versioned(db_path) -> None:
    import sqlite3
    StateStore(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
