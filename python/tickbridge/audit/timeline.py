"""An order's whole life as a readable table: audit records and state transitions merged
by time."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from tickbridge.audit.query import read_records


@dataclass(frozen=True)
class TimelineRow:
    ts_ns: int
    source: str  # "audit #id" or "transition #seq"
    what: str
    detail: str


def order_timeline(conn: sqlite3.Connection, client_order_id: int) -> list[TimelineRow]:
    rows = [TimelineRow(r.wall_ns, f"audit #{r.id}", r.kind, r.payload)
            for r in read_records(conn, client_order_id=client_order_id)]
    for seq, from_state, event, to_state, ts_ns, detail in conn.execute(
            "SELECT seq, from_state, event, to_state, ts_ns, detail FROM order_transitions"
            " WHERE client_order_id = ? ORDER BY seq", (client_order_id,)):
        rows.append(TimelineRow(ts_ns, f"transition #{seq}",
                                f"{from_state} --{event}--> {to_state}", detail))
    # Stable sort: same-instant entries keep audit-then-transition order.
    return sorted(rows, key=lambda r: r.ts_ns)


def format_timeline(rows: list[TimelineRow], *, width: int = 120) -> str:
    header = ("time (UTC)", "source", "what", "detail")
    cells = [(_utc(r.ts_ns), r.source, r.what, r.detail) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(header[:3])]
    room = max(20, width - sum(widths) - 6)
    titles = "  ".join(h.ljust(w) for h, w in zip(header[:3], widths, strict=True))
    lines = [titles + "  " + header[3]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * min(room, 40))
    for c in cells:
        detail = c[3] if len(c[3]) <= room else c[3][: room - 1] + "…"
        cols = "  ".join(v.ljust(w) for v, w in zip(c[:3], widths, strict=True))
        lines.append(cols + "  " + detail)
    return "\n".join(lines)


def _utc(ts_ns: int) -> str:
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S") + f".{nanos // 1000:06d}"
