"""The copier's links in the audit log, both ways: a follower order to the leader order
and fill that caused it, and a leader order or fill to every follower order it caused
(the ``copier_order`` records, engine/copier.py)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class CopierLink:
    client_order_id: int  # the follower's order
    account: str  # the follower
    leader: str  # the leader's account
    leader_order: str  # the platform's id of the leader's order ('' unknown)
    leader_fill: str  # the leader's execution id ('' for a mirrored order)
    purpose: str  # mirror, copy, flatten, sync

    def describe(self) -> str:
        fill = f" fill {self.leader_fill}" if self.leader_fill else ""
        return (f"{self.account} order {self.client_order_id} ({self.purpose}) <- leader "
                f"{self.leader} order {self.leader_order or '-'}{fill}")


def _links(rows: list[tuple[int, str, str]]) -> list[CopierLink]:
    out = []
    for coid, account, payload in rows:
        data = json.loads(payload)
        out.append(CopierLink(int(coid), account, str(data.get("leader") or ""),
                              str(data.get("leader_order") or ""),
                              str(data.get("leader_fill") or ""),
                              str(data.get("purpose") or "")))
    return out


def leader_of(conn: sqlite3.Connection, client_order_id: int) -> CopierLink | None:
    """What caused follower order ``client_order_id`` (None: not a copier order)."""
    links = _links(conn.execute(
        "SELECT client_order_id, account, payload FROM audit_log WHERE kind = "
        "'copier_order' AND client_order_id = ? ORDER BY id", (client_order_id,)).fetchall())
    return links[0] if links else None


def followers_of(conn: sqlite3.Connection, leader_id: str) -> list[CopierLink]:
    """Every follower order a leader order or a leader fill (its id) caused."""
    return _links(conn.execute(
        "SELECT client_order_id, account, payload FROM audit_log WHERE kind = "
        "'copier_order' AND (json_extract(payload, '$.leader_order') = ?1 OR "
        "json_extract(payload, '$.leader_fill') = ?1) ORDER BY id", (leader_id,)).fetchall())
