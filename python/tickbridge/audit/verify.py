"""Checking the audit chain end to end, and naming the first record where it breaks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tickbridge.audit.chain import GENESIS_HASH, canonical_bytes, record_hash


@dataclass(frozen=True)
class ChainBreak:
    record_id: int
    problem: str  # what differs, in words an operator can act on


@dataclass(frozen=True)
class VerifyResult:
    records: int
    head_id: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(conn: sqlite3.Connection, *, batch: int = 10_000) -> VerifyResult:
    """Walk every record in id order and check, for each: the id follows the last one;
    ``prev_hash`` is the last record's hash; ``hash`` is what the record's content hashes
    to. Stops at the first failure. Deleting records at the very end of the log leaves a
    valid shorter chain: compare ``head_id``/``head_hash`` with a copy kept elsewhere."""
    expected_prev, expected_id, count = GENESIS_HASH, 1, 0
    last_id = 0
    cursor = conn.execute(
        "SELECT id, wall_ns, mono_ns, kind, client_order_id, account, payload, prev_hash, hash"
        " FROM audit_log ORDER BY id")
    while rows := cursor.fetchmany(batch):
        for rid, wall, mono, kind, coid, account, payload, prev, stored in rows:
            if rid != expected_id:
                missing = f"{expected_id}" if rid == expected_id + 1 else \
                    f"{expected_id}..{rid - 1}"
                return VerifyResult(count, last_id, expected_prev, ChainBreak(
                    rid, f"record(s) {missing} missing: ids jump from {last_id} to {rid} "
                         "(deleted rows)"))
            if prev != expected_prev:
                return VerifyResult(count, last_id, expected_prev, ChainBreak(
                    rid, f"prev_hash {prev[:16]}… is not record {last_id}'s hash "
                         f"{expected_prev[:16]}… (the chain was cut or re-linked here)"))
            actual = record_hash(prev, canonical_bytes(rid, wall, mono, kind, coid, account,
                                                       payload))
            if actual != stored:
                return VerifyResult(count, last_id, expected_prev, ChainBreak(
                    rid, f"content hashes to {actual[:16]}… but the stored hash is "
                         f"{stored[:16]}…: a field of this record (kind={kind!r}, "
                         f"client_order_id={coid}, account={account!r}, payload, or a "
                         "timestamp) was changed after it was written"))
            expected_prev, last_id, expected_id = stored, rid, rid + 1
            count += 1
    return VerifyResult(count, last_id, expected_prev, None)
