"""Reading audit records back: by order, by kind, since a time."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditRecord:
    id: int
    wall_ns: int
    mono_ns: int
    kind: str
    client_order_id: int | None
    account: str
    payload: str  # canonical JSON text, as hashed
    prev_hash: str
    hash: str

    @property
    def data(self) -> Any:
        return json.loads(self.payload)

    def as_json(self) -> dict[str, Any]:
        """One export line: the stored fields, payload parsed (its text is in the hash)."""
        return {"id": self.id, "wall_ns": self.wall_ns, "mono_ns": self.mono_ns,
                "kind": self.kind, "client_order_id": self.client_order_id,
                "account": self.account, "payload": self.data,
                "prev_hash": self.prev_hash, "hash": self.hash}


_COLUMNS = "id, wall_ns, mono_ns, kind, client_order_id, account, payload, prev_hash, hash"


def read_records(conn: sqlite3.Connection, *, client_order_id: int | None = None,
                 kinds: list[str] | None = None, since_ns: int | None = None,
                 after_id: int = 0) -> Iterator[AuditRecord]:
    """Records in id order (the order they were committed), filtered."""
    where, args = ["id > ?"], [after_id]
    if client_order_id is not None:
        where.append("client_order_id = ?")
        args.append(client_order_id)
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        args.extend(kinds)
    if since_ns is not None:
        where.append("wall_ns >= ?")
        args.append(since_ns)
    cursor = conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY id", args)
    for row in cursor:
        yield AuditRecord(*row)
