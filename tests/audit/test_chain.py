"""The chain's byte format, the append-only triggers, and tamper detection."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from tickbridge.audit import GENESIS_HASH, canonical_bytes, canonical_payload, verify_chain
from tickbridge.store.connection import open_reader


def test_canonical_bytes_are_plain_json() -> None:
    args = (7, 1_795_000_000_000_000_000, 123, "fill", None, "Sïm \"101\"",
            canonical_payload({"b": 1, "a": "é\n"}))
    header = json.dumps(list(args[:6]), separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(*args) == (header + "\n" + args[6]).encode()
    assert canonical_payload({"b": 1, "a": [1.5, None]}) == '{"a":[1.5,null],"b":1}'
    with pytest.raises(ValueError):
        canonical_payload({"price": float("nan")})


def test_chain_is_reproducible_without_tickbridge(filled_db) -> None:
    conn = sqlite3.connect(filled_db)
    prev = GENESIS_HASH
    for rid, wall, mono, kind, coid, account, payload, prev_hash, digest in conn.execute(
            "SELECT * FROM audit_log ORDER BY id"):
        header = json.dumps([rid, wall, mono, kind, coid, account],
                            separators=(",", ":"), ensure_ascii=False)
        body = (header + "\n" + payload).encode()
        assert prev_hash == prev
        assert hashlib.sha256(bytes.fromhex(prev) + body).hexdigest() == digest
        prev = digest
    conn.close()


def test_verify_intact(filled_db) -> None:
    with open_reader(filled_db) as conn:
        result = verify_chain(conn)
    assert result.ok and result.records == 7 and result.head_id == 7  # 6 + the order's


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET payload = '{}' WHERE id = 2",
    "DELETE FROM audit_log WHERE id = 2",
])
def test_triggers_refuse_update_and_delete(filled_db, statement) -> None:
    conn = sqlite3.connect(filled_db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement)
    conn.close()


def _tamper(path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _broken(path):
    with open_reader(path) as conn:
        result = verify_chain(conn)
    assert not result.ok
    return result.broken


def test_changed_payload_is_named(filled_db) -> None:
    _tamper(filled_db, """UPDATE audit_log SET payload = '{"accepted":false}' WHERE id = 2""")
    broken = _broken(filled_db)
    assert broken.record_id == 2 and "changed after it was written" in broken.problem


def test_deleted_record_is_named(filled_db) -> None:
    _tamper(filled_db, "DELETE FROM audit_log WHERE id = 3")
    broken = _broken(filled_db)
    assert broken.record_id == 4 and "3 missing" in broken.problem


def test_rewritten_hash_breaks_the_next_link(filled_db) -> None:
    # A forger who recomputes record 2's hash after editing it still breaks record 3.
    conn = sqlite3.connect(filled_db)
    row = conn.execute("SELECT * FROM audit_log WHERE id = 2").fetchone()
    conn.close()
    payload = '{"accepted":false}'
    digest = hashlib.sha256(bytes.fromhex(row[7]) + canonical_bytes(
        row[0], row[1], row[2], row[3], row[4], row[5], payload)).hexdigest()
    _tamper(filled_db, f"UPDATE audit_log SET payload = '{payload}', hash = '{digest}'"
                       " WHERE id = 2")
    broken = _broken(filled_db)
    assert broken.record_id == 3 and "prev_hash" in broken.problem


def test_chain_continues_across_restarts(filled_db) -> None:
    from tickbridge.store import StateStore
    with StateStore(filled_db) as s:
        s.audit("session", {"event": "engine start"})
    with open_reader(filled_db) as conn:
        result = verify_chain(conn)
    assert result.ok and result.records == 8
