"""Alert idempotency and outcomes, in SQLite.

One row per (strategy, alert id). The first delivery claims the row with ``INSERT OR
IGNORE`` and stores the answer it got and the sha256 of its body; any later delivery of
the same alert, concurrent or days later, finds the row and gets that same answer back,
and nothing is routed for it. A later delivery under the same id with another body is a
conflict (the sender reused an id for a different alert): not a repeat, and not routed
either. SQLite's write lock makes the claim atomic across threads and processes. The
router then fills in what was placed or why not.

Writes go through one writer thread that commits whatever is queued in one transaction
(group commit): a claim is on disk (``synchronous=FULL``) before its answer, and a burst
of alerts shares the disk flushes instead of queueing behind one each.
"""

from __future__ import annotations

import hashlib
import json
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_alerts (
    strategy     TEXT    NOT NULL,
    alert_id     TEXT    NOT NULL,
    received_ns  INTEGER NOT NULL,
    http_status  INTEGER NOT NULL,
    answer       TEXT    NOT NULL,          -- the JSON first answered
    state        TEXT    NOT NULL,          -- accepted, placed, done, refused, failed
    outcome      TEXT    NOT NULL DEFAULT '{}',
    updated_ns   INTEGER NOT NULL,
    body_sha256  TEXT    NOT NULL DEFAULT '',  -- hex; '' on rows from before it was kept
    PRIMARY KEY (strategy, alert_id)
) WITHOUT ROWID
"""
# A store made before bodies were compared: its rows keep '' (compared as unknown).
_ADD_BODY_HASH = ("ALTER TABLE webhook_alerts ADD COLUMN body_sha256 TEXT NOT NULL "
                  "DEFAULT ''")
_MAX_BATCH = 512


@dataclass(frozen=True)
class Claim:
    first: bool             # this delivery claimed the alert: route it
    http_status: int
    answer: dict[str, Any]  # the first delivery's
    conflict: bool = False  # claimed before by a delivery with another body
    first_body_sha256: str = ""


@dataclass(frozen=True)
class AlertRecord:
    strategy: str
    alert_id: str
    received_ns: int
    state: str
    answer: dict[str, Any]
    outcome: dict[str, Any]
    updated_ns: int

    def as_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "alert_id": self.alert_id,
                "received_ns": self.received_ns, "state": self.state,
                "answer": self.answer, "outcome": self.outcome, "updated_ns": self.updated_ns}


@dataclass(frozen=True)
class _ClaimOp:
    strategy: str
    alert_id: str
    http_status: int
    answer: str
    body_sha256: str
    future: Future[Claim]


@dataclass(frozen=True)
class _FinishOp:
    strategy: str
    alert_id: str
    state: str
    outcome: str


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           timeout=5.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a claim is on disk before the alert is answered and routed, so a crash right
    # after an order went out cannot let a retried delivery place it again.
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class AlertStore:
    """Thread-safe. ``claim_async`` returns a Future resolved once the claim committed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer = _connect(self.path)
        self._writer.execute(_SCHEMA)
        columns = {row[1] for row in self._writer.execute("PRAGMA table_info(webhook_alerts)")}
        if "body_sha256" not in columns:
            self._writer.execute(_ADD_BODY_HASH)
        self._reader = _connect(self.path)
        self._read_lock = threading.Lock()
        self._queue: queue.Queue[_ClaimOp | _FinishOp | None] = queue.Queue()
        self._thread = threading.Thread(target=self._write_loop, name="webhook-store",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Commits what is queued, then closes. Idempotent."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
            self._writer.close()
            self._reader.close()

    # -- writes ------------------------------------------------------------------------
    def claim_async(self, strategy: str, alert_id: str, http_status: int,
                    answer: dict[str, Any], body: bytes) -> Future[Claim]:
        """Claims (strategy, alert_id) for the delivery of ``body`` (compared byte for
        byte with the first delivery's, by sha256)."""
        future: Future[Claim] = Future()
        self._queue.put(_ClaimOp(strategy, alert_id, http_status, json.dumps(answer),
                                 hashlib.sha256(body).hexdigest(), future))
        return future

    def claim(self, strategy: str, alert_id: str, http_status: int,
              answer: dict[str, Any], body: bytes) -> Claim:
        return self.claim_async(strategy, alert_id, http_status, answer, body).result()

    def finish(self, strategy: str, alert_id: str, state: str, outcome: dict[str, Any]) -> None:
        """Records the outcome (queued: committed with the next batch)."""
        self._queue.put(_FinishOp(strategy, alert_id, state, json.dumps(outcome)))

    def abandon_unrouted(self) -> int:
        """At start: alerts claimed but never routed (the process stopped in between) are
        marked failed, not routed late: an order minutes after its signal is a new risk."""
        with self._read_lock:
            return self._reader.execute(
                "UPDATE webhook_alerts SET state = 'failed', outcome = ?, updated_ns = ? "
                "WHERE state = 'accepted'",
                (json.dumps({"error": "the webhook stopped before routing this alert; "
                                      "nothing was placed"}), time.time_ns())).rowcount

    def _write_loop(self) -> None:
        while True:
            op = self._queue.get()
            if op is None:
                return
            batch = [op]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_ClaimOp | _FinishOp]) -> None:
        conn, now = self._writer, time.time_ns()
        results: list[tuple[Future[Claim], Claim]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                if isinstance(op, _FinishOp):
                    conn.execute("UPDATE webhook_alerts SET state = ?, outcome = ?, "
                                 "updated_ns = ? WHERE strategy = ? AND alert_id = ?",
                                 (op.state, op.outcome, now, op.strategy, op.alert_id))
                    continue
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO webhook_alerts (strategy, alert_id, received_ns, "
                    "http_status, answer, state, updated_ns, body_sha256) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (op.strategy, op.alert_id, now, op.http_status, op.answer, "accepted",
                     now, op.body_sha256)).rowcount
                if inserted:
                    claim = Claim(True, op.http_status, json.loads(op.answer))
                else:  # claimed before, maybe earlier in this very batch
                    row = conn.execute("SELECT http_status, answer, body_sha256 "
                                       "FROM webhook_alerts WHERE strategy = ? AND "
                                       "alert_id = ?", (op.strategy, op.alert_id)).fetchone()
                    # '' (a row older than the comparison): the body is unknown, so the
                    # delivery is taken as the repeat it most likely is; nothing routes.
                    conflict = bool(row[2]) and row[2] != op.body_sha256
                    claim = Claim(False, int(row[0]), json.loads(row[1]), conflict, row[2])
                results.append((op.future, claim))
            conn.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for op in batch:
                if isinstance(op, _ClaimOp) and not op.future.done():
                    op.future.set_exception(e)
            return
        for future, claim in results:  # only once on disk
            future.set_result(claim)

    # -- reads -------------------------------------------------------------------------
    def get(self, strategy: str, alert_id: str) -> AlertRecord | None:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT strategy, alert_id, received_ns, state, answer, outcome, updated_ns "
                "FROM webhook_alerts WHERE strategy = ? AND alert_id = ?",
                (strategy, alert_id)).fetchone()
        if row is None:
            return None
        return AlertRecord(row[0], row[1], int(row[2]), row[3], json.loads(row[4]),
                           json.loads(row[5]), int(row[6]))

    def count(self) -> int:
        with self._read_lock:
            return int(self._reader.execute("SELECT COUNT(*) FROM webhook_alerts").fetchone()[0])
