"""Group commit: batching, backpressure, bad ops, concurrency of producers."""

from __future__ import annotations

import threading

import pytest

from tests.store.conftest import order
from tickbridge.audit import verify_chain
from tickbridge.store import StateStore, StoreBackpressure, StoreFailed, Transition
from tickbridge.store.connection import open_reader


def test_bound_hit_is_an_error_not_a_drop(db_path) -> None:
    s = StateStore(db_path, queue_capacity=50)
    accepted, refused = 0, 0
    for i in range(5_000):
        try:
            s.audit("request", {"i": i})
            accepted += 1
        except StoreBackpressure as exc:
            assert "queue full" in str(exc)
            refused += 1
    s.close()
    with open_reader(db_path) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()
    assert count == accepted  # every accepted event is written, the refused ones said so
    assert refused > 0 or accepted == 5_000


def test_batches_group_many_events(db_path) -> None:
    with StateStore(db_path) as s:
        for i in range(3_000):
            s.audit("request", {"i": i})
        s.sync().result(timeout=30)
        assert s.stats.ops == 3_001 and s.stats.batches < 3_001


def test_a_bad_op_fails_alone(db_path) -> None:
    errors = []
    s = StateStore(db_path, on_error=lambda op, exc: errors.append((op.describe(), exc)))
    s.audit("request", {"n": 1})
    s.record_transition(Transition(1, 1, "A", "x", "B", 1))
    s.record_transition(Transition(1, 1, "A", "dup", "B", 2))  # same (order, seq): refused
    s.audit("request", {"n": 2})
    s.sync().result(timeout=10)
    s.close()
    assert len(errors) == 1 and "transition dup" in errors[0][0]
    with open_reader(db_path) as conn:
        # Two requests and the transition's own ``order`` record; the refused one left none.
        kinds = [k for (k,) in conn.execute("SELECT kind FROM audit_log ORDER BY id")]
        assert kinds == ["request", "order", "request"]
        assert verify_chain(conn).ok


def test_concurrent_producers_keep_a_valid_chain(db_path) -> None:
    with StateStore(db_path) as s:
        def produce(thread: int) -> None:
            for i in range(500):
                s.audit("request", {"thread": thread, "i": i}, client_order_id=thread + 1)
        threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s.sync().result(timeout=30)
    with open_reader(db_path) as conn:
        result = verify_chain(conn)
        per_thread = conn.execute("SELECT client_order_id, COUNT(*) FROM audit_log"
                                  " GROUP BY client_order_id").fetchall()
    assert result.ok and result.records == 2_000
    assert sorted(per_thread) == [(1, 500), (2, 500), (3, 500), (4, 500)]


def test_closed_store_refuses_writes(db_path) -> None:
    s = StateStore(db_path)
    s.close()
    with pytest.raises(StoreFailed, match="closed"):
        s.save_order(order(1))


def test_out_of_range_client_order_id(store: StateStore) -> None:
    with pytest.raises(ValueError, match="2\\*\\*63"):
        store.save_order(order(2**63))


def test_disk_failure_stops_the_writer_loudly(db_path) -> None:
    import sqlite3
    from concurrent.futures import Future

    from tickbridge.store.ops import Op

    class DiskFull(Op):
        def apply(self, tx):
            raise sqlite3.OperationalError("database or disk is full")

    s = StateStore(db_path)
    assert s.book_fills([]).result(timeout=10) == []  # committed before the failure
    doomed: Future = Future()
    s._writer.submit(DiskFull(doomed))
    after = s.sync()
    with pytest.raises(StoreFailed):
        after.result(timeout=10)
    assert isinstance(doomed.exception(timeout=10), StoreFailed)
    with pytest.raises(StoreFailed, match="disk is full"):
        s.audit("request", {})
    s.close()


def test_futures_cannot_be_cancelled(store: StateStore) -> None:
    future = store.sync()
    assert not future.cancel()
    future.result(timeout=10)
