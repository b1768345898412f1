"""One order's timeline, from the engine's audit log: every record that names the order
(submitted, each state change, each fill, a cancel), oldest first.

Read from the state store by a read-only connection of the dashboard's own: nothing asks
the engine, whose loop is not touched. Times are the audit log's ``wall_ns``: the
engine's wall clock, the one clock the dashboard shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tickbridge.store.connection import open_reader

MAX_RECORDS = 500


def parse_order_id(text: str) -> int:
    """A client order id as the page shows it (TB + 16 hex digits) or as a number."""
    value = text.strip()
    try:
        number = int(value[2:], 16) if value.upper().startswith("TB") else int(value)
    except ValueError:
        raise ValueError(f"client_order_id: {text[:40]!r} is not TB followed by hex "
                         "digits, nor a number") from None
    if not 0 < number < 1 << 63:
        raise ValueError("client_order_id: out of range")
    return number


def order_timeline(store: str | Path, client_order_id: int) -> list[dict[str, Any]]:
    conn = open_reader(store)
    try:
        rows = conn.execute(
            "SELECT wall_ns, kind, payload FROM audit_log WHERE client_order_id = ?"
            " ORDER BY id LIMIT ?", (client_order_id, MAX_RECORDS)).fetchall()
    finally:
        conn.close()
    timeline = []
    for wall_ns, kind, payload in rows:
        try:
            detail = json.loads(payload)
        except ValueError:
            detail = {"text": payload}
        timeline.append({"time_ns": int(wall_ns), "kind": kind, "detail": detail,
                         "summary": summary(kind, detail)})
    return timeline


def summary(kind: str, detail: Any) -> str:
    """One line for a person. Timestamps inside a record are left out: a transition's or
    a fill's own time may be the platform's (a simulator's is its data clock), and the
    page shows one clock, the record's ``wall_ns``."""
    if not isinstance(detail, dict):
        return str(detail)[:300]
    if kind == "order":
        moves = [f"{t[2]}: {t[1]} -> {t[3]}" for t in detail.get("transitions", [])
                 if isinstance(t, list) and len(t) >= 4]
        return "; ".join(moves) or f"state {detail.get('row', {}).get('state', '?')}"
    parts = [f"{k}={v}" for k, v in detail.items()
             if k != "client_order_id" and not k.endswith("_ns") and v is not None
             and not isinstance(v, dict | list)]
    return " ".join(parts)[:300]
