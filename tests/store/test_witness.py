"""The store's witness of the audit chain's head: written after each durable commit,
re-created when deleted, a failing copy that does not stop the store, and an old witness
beside a new database file kept aside."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tickbridge.audit.anchor import read_witness, witness_path
from tickbridge.store import StateStore, StoreFailed


def _sessions(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        return [json.loads(p) for (p,) in conn.execute(
            "SELECT payload FROM audit_log WHERE kind = 'session' ORDER BY id")]


def _head(db: Path) -> tuple[int, str]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"
                            ).fetchone()


def test_every_acknowledged_record_is_witnessed(db_path: Path) -> None:
    with StateStore(db_path) as store:
        for i in range(50):
            store.audit("request", {"n": i})
            store.sync().result(timeout=10)
            witnessed = read_witness(witness_path(db_path))
            assert witnessed is not None and witnessed.id == i + 1  # before the ack


def test_a_witness_deleted_while_open_is_written_again_and_chained(db_path: Path) -> None:
    with StateStore(db_path) as store:
        store.audit("request", {"n": 1})
        store.sync().result(timeout=10)
        witness_path(db_path).unlink()
        store.audit("request", {"n": 2})
        store.sync().result(timeout=10)
        assert read_witness(witness_path(db_path)) is not None
        store.audit("request", {"n": 3})  # the note goes into the next batch
        store.sync().result(timeout=10)
    assert [s["event"] for s in _sessions(db_path)] == ["witness_recreated"]
    head = read_witness(witness_path(db_path))
    assert head is not None and (head.id, head.hash) == _head(db_path)


def test_a_copy_that_cannot_be_written_does_not_stop_the_store(db_path: Path,
                                                               tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the copy's folder should be")
    with StateStore(db_path, witness_copy=blocker / "copy.witness") as store:
        for i in range(3):
            store.audit("request", {"n": i})
            store.sync().result(timeout=10)
    events = [s["event"] for s in _sessions(db_path)]
    # At open it cannot be read, then it cannot be written: chained once, not per commit.
    assert events == ["witness_unreadable", "witness_copy_failed"]
    head = read_witness(witness_path(db_path))
    assert head is not None and head.id == _head(db_path)[0]


def test_a_new_database_beside_an_old_witness_keeps_it_aside(db_path: Path) -> None:
    with StateStore(db_path) as store:
        store.audit("request", {"n": 1})
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with StateStore(db_path) as store:
        store.audit("request", {"n": 2})
    (aside,) = db_path.parent.glob(f"{witness_path(db_path).name}.orphaned-*")
    assert read_witness(aside).id == 1  # type: ignore[union-attr]
    (note,) = _sessions(db_path)
    assert note["event"] == "witness_replaced" and note["witness_head"] == 1


def test_a_database_behind_its_witness_is_refused(db_path: Path) -> None:
    with StateStore(db_path) as store:
        for i in range(5):
            store.audit("request", {"n": i})
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE id >= 4")
    conn.commit()
    conn.close()
    with pytest.raises(StoreFailed, match=r"ends at #3 .* record\(s\) #4\.\.#5 are missing"):
        StateStore(db_path)
    with StateStore(db_path, reanchor="test") as store:
        store.audit("request", {"n": 9})
    assert _sessions(db_path)[0]["event"] == "witness_reanchored"
    assert read_witness(witness_path(db_path)).id == 5  # type: ignore[union-attr]


def test_verify_while_the_store_writes_never_sees_it_behind(db_path: Path) -> None:
    import threading

    from tickbridge.audit import verify_store
    from tickbridge.store.connection import open_reader

    stop = threading.Event()
    with StateStore(db_path) as store:
        def write() -> None:
            i = 0
            while not stop.is_set():
                store.audit("request", {"n": i})
                if i % 10 == 0:
                    store.sync().result(timeout=10)
                i += 1
        writer = threading.Thread(target=write)
        writer.start()
        try:
            for _ in range(20):
                conn = open_reader(db_path)
                verdict = verify_store(conn, [witness_path(db_path)])
                conn.close()
                assert verdict.ok, verdict.witnesses
        finally:
            stop.set()
            writer.join()


def test_a_file_another_component_created_first_is_a_new_store(db_path: Path) -> None:
    """The webhook's alert table shares the file and is created before the store's."""
    with StateStore(db_path) as store:
        store.audit("request", {"n": 1})
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE webhook_alerts (id INTEGER PRIMARY KEY)")
    with StateStore(db_path) as store:
        store.audit("request", {"n": 2})
    assert _sessions(db_path)[0]["event"] == "witness_replaced"
