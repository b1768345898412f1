"""Checking the audit chain end to end, and naming the first record where it breaks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tickbridge.audit.anchor import WitnessError, WitnessHead, compare, read_witness
from tickbridge.audit.chain import GENESIS_HASH, canonical_bytes, record_hash
from tickbridge.audit.crosscheck import CrossCheck, cross_check


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
    valid shorter chain: ``verify_store`` compares the head with the witness files."""
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


@dataclass(frozen=True)
class WitnessCheck:
    path: Path
    head: WitnessHead | None
    problem: str | None  # None: the database agrees with this witness


@dataclass(frozen=True)
class StoreVerdict:
    """Everything `tickbridge audit verify` checks: the chain, its witnesses, the tables."""

    chain: VerifyResult
    store_head: int  # the highest record id in the table, whether the chain holds or not
    witnesses: list[WitnessCheck]
    tables: CrossCheck | None  # None: not checked (--chain-only)

    @property
    def ok(self) -> bool:
        return self.chain.ok and all(w.problem is None for w in self.witnesses) and \
            (self.tables is None or self.tables.ok)


def verify_store(conn: sqlite3.Connection, witnesses: list[Path], *,
                 tables: bool = True) -> StoreVerdict:
    """The chain, the chain's head against each witness file, and (``tables``) the state
    tables against the chain. The witnesses are read before the database: the store
    writes a witness after the commit it covers, so a store that is running is never
    seen behind its witness."""
    heads: list[tuple[Path, WitnessHead | None, str | None]] = []
    for path in witnesses:
        try:
            heads.append((path, read_witness(path), None))
        except WitnessError as exc:
            heads.append((path, None, str(exc)))
    conn.execute("BEGIN")  # one read snapshot for the chain, the witness and the tables
    try:
        chain = verify_chain(conn)
        (store_head,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()
        checks = []
        for path, head, unreadable in heads:
            if unreadable is not None:
                problem: str | None = unreadable
            elif head is None:
                problem = None if store_head == 0 else (
                    f"witness {path} not found: the chain's head #{store_head} cannot be "
                    "checked, so records cut from its end or a chain re-hashed to its end "
                    "would not show (deleted? pass --no-witness for a copy of the database "
                    "without it)")
            else:
                problem = compare(conn, store_head, head)
            checks.append(WitnessCheck(path, head, problem))
        crossed = cross_check(conn) if tables else None
    finally:
        conn.execute("COMMIT")
    return StoreVerdict(chain, store_head, checks, crossed)
