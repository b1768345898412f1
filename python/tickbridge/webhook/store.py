"""Alert idempotency and outcomes, in SQLite.

One row per (strategy, alert id). The first delivery claims the row with ``INSERT OR
IGNORE`` in its own transaction and stores the answer it got; any later delivery of the
same alert, concurrent or days later, finds the row and gets that same answer back, and
nothing is routed for it. SQLite's write lock makes the claim atomic across threads and
processes. The router then fills in what was placed or why not.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
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
    state        TEXT    NOT NULL,          -- accepted, placed, refused, failed
    outcome      TEXT    NOT NULL DEFAULT '{}',
    updated_ns   INTEGER NOT NULL,
    PRIMARY KEY (strategy, alert_id)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class Claim:
    first: bool             # this delivery claimed the alert: route it
    http_status: int
    answer: dict[str, Any]


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


class AlertStore:
    """Thread-safe: one connection, one lock (the claim is one short transaction)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None,
                                     check_same_thread=False, timeout=5.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a claim is on disk before the alert is routed, so a crash right after an
        # order went out cannot let the retried delivery place it again.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def claim(self, strategy: str, alert_id: str, http_status: int,
              answer: dict[str, Any]) -> Claim:
        now = time.time_ns()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                inserted = self._conn.execute(
                    "INSERT OR IGNORE INTO webhook_alerts (strategy, alert_id, received_ns, "
                    "http_status, answer, state, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (strategy, alert_id, now, http_status, json.dumps(answer), "accepted",
                     now)).rowcount
                if inserted:
                    stored_status, stored_answer = http_status, answer
                else:
                    row = self._conn.execute(
                        "SELECT http_status, answer FROM webhook_alerts WHERE strategy = ? "
                        "AND alert_id = ?", (strategy, alert_id)).fetchone()
                    stored_status, stored_answer = int(row[0]), json.loads(row[1])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return Claim(bool(inserted), stored_status, stored_answer)

    def finish(self, strategy: str, alert_id: str, state: str, outcome: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE webhook_alerts SET state = ?, outcome = ?, updated_ns = ? "
                "WHERE strategy = ? AND alert_id = ?",
                (state, json.dumps(outcome), time.time_ns(), strategy, alert_id))

    def get(self, strategy: str, alert_id: str) -> AlertRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT strategy, alert_id, received_ns, state, answer, outcome, updated_ns "
                "FROM webhook_alerts WHERE strategy = ? AND alert_id = ?",
                (strategy, alert_id)).fetchone()
        if row is None:
            return None
        return AlertRecord(row[0], row[1], int(row[2]), row[3], json.loads(row[4]),
                           json.loads(row[5]), int(row[6]))

    def abandon_unrouted(self) -> int:
        """At start: alerts claimed but never routed (the process stopped in between) are
        marked failed, not routed late: an order minutes after its signal is a new risk."""
        with self._lock:
            return self._conn.execute(
                "UPDATE webhook_alerts SET state = 'failed', outcome = ?, updated_ns = ? "
                "WHERE state = 'accepted'",
                (json.dumps({"error": "the webhook stopped before routing this alert; "
                                      "nothing was placed"}), time.time_ns())).rowcount

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM webhook_alerts").fetchone()[0])
