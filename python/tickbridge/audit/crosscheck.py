"""Holding the state tables against the audit chain.

The chain is tamper-evident and anchored (see ``anchor``); the tables are not: anyone who
can write the file can edit a fill or a position and leave the chain intact. Every write
the store makes to a table chains a record of it in the same transaction (``fill`` for a
booked fill, ``order`` for an order row and its transitions, ``position`` for a position
set directly), so after any crash the tables and the chain agree, and a difference is an
edit. The checks:

- every ``fills`` row has its ``fill`` record, field for field, and every booked ``fill``
  record its row;
- every ``orders`` row equals its newest ``order`` record, its filled quantity is the sum
  of its fills, and every ``order`` record's order has a row;
- ``order_transitions`` holds exactly the steps the ``order`` records list;
- every ``positions`` row equals the position recomputed from the fills (in time order,
  the store's own arithmetic), and every position the fills make has a row.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tickbridge.store.positions import apply_fill
from tickbridge.store.records import FillRecord, PositionRecord

# What an ``order`` record holds of its row (tickbridge.store.ops.ORDER_AUDIT_FIELDS).
_ORDER_FIELDS = ("account", "instrument", "side", "order_type", "time_in_force", "quantity",
                 "price", "stop_price", "state", "platform_order_id", "created_ns")
_FILL_FIELDS = ("client_order_id", "instrument", "side", "quantity", "price", "ts_ns")


@dataclass
class CrossCheck:
    fills: int = 0
    orders: int = 0
    positions: int = 0
    problems: list[str] = field(default_factory=list)
    more: int = 0  # problems beyond the ones listed
    limit: int = 100

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(problem)
        else:
            self.more += 1


@dataclass
class _Chained:
    fills: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    engine_fills: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    orders: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    steps: dict[int, dict[int, tuple[int, list[Any]]]] = field(
        default_factory=lambda: defaultdict(dict))
    positions: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)


def cross_check(conn: sqlite3.Connection, *, limit: int = 100) -> CrossCheck:
    result = CrossCheck(limit=limit)
    chained = _read_chain(conn)
    fills = _check_fills(conn, chained, result)
    _check_orders(conn, chained, result)
    _check_positions(conn, chained, fills, result)
    return result


def _read_chain(conn: sqlite3.Connection) -> _Chained:
    chained = _Chained()
    for rid, kind, account, payload in conn.execute(
            "SELECT id, kind, account, payload FROM audit_log"
            " WHERE kind IN ('fill', 'order', 'position') ORDER BY id"):
        data = json.loads(payload)
        if not isinstance(data, dict):
            continue
        if kind == "fill" and "booked" in data:  # the store's own record of booking it
            if data["booked"]:
                chained.fills[(account, str(data.get("execution_id")))] = (rid, data)
        elif kind == "fill" and "execution_id" in data:  # the engine's narrative record
            chained.engine_fills.append((rid, data))
        elif kind == "order":
            coid = int(data["client_order_id"])
            if "row" in data:
                chained.orders[coid] = (rid, data["row"])
            for step in data.get("transitions", []):
                chained.steps[coid][int(step[0])] = (rid, step)
        elif kind == "position":
            chained.positions[(account, str(data.get("instrument")))] = (rid, data)
    return chained


def _check_fills(conn: sqlite3.Connection, chained: _Chained, result: CrossCheck
                 ) -> list[tuple[int, FillRecord]]:
    """Returns the fills (with their record id, 0 when only the engine's record vouches
    for them) for the position check."""
    booked = dict(chained.fills)
    narrated = {(str(d.get("execution_id")), int(d.get("client_order_id") or 0)): (rid, d)
                for rid, d in chained.engine_fills}
    rows = conn.execute(
        "SELECT rowid, account, execution_id, client_order_id, instrument, side, quantity,"
        " price, ts_ns, platform_order_id FROM fills ORDER BY rowid").fetchall()
    out: list[tuple[int, FillRecord]] = []
    present: set[tuple[str, int]] = set()
    for _, account, eid, coid, instrument, side, qty, price, ts, poid in rows:
        fill = FillRecord(account, eid, coid, instrument, side, qty, price, ts, poid)
        name = f"fills row (account={account!r}, execution_id={eid!r})"
        present.add((eid, coid))
        record = booked.pop((account, eid), None)
        if record is not None:
            rid, data = record
            for column in _FILL_FIELDS:
                if data.get(column) != getattr(fill, column):
                    result.add(f"{name}: {column} is {getattr(fill, column)!r} but audit "
                               f"record #{rid} booked {data.get(column)!r}")
            out.append((rid, fill))
            continue
        narration = narrated.get((eid, coid))
        if narration is not None:  # a store written before fills chained their own record
            rid, data = narration
            for column in ("quantity", "price", "side"):
                if data.get(column) != getattr(fill, column):
                    result.add(f"{name}: {column} is {getattr(fill, column)!r} but audit "
                               f"record #{rid} says {data.get(column)!r}")
            out.append((0, fill))
            continue
        result.add(f"{name} (order {coid}, {side} {qty} @ {price}) has no audit record: "
                   "added to the table outside the engine, or its record is gone")
        out.append((0, fill))
    for (account, eid), (rid, data) in sorted(booked.items(), key=lambda kv: kv[1][0]):
        result.add(f"audit record #{rid} booked fill (account={account!r}, execution_id="
                   f"{eid!r}, order {data.get('client_order_id')}, {data.get('side')} "
                   f"{data.get('quantity')} @ {data.get('price')}) but the fills table has "
                   "no such row (deleted)")
    for rid, data in chained.engine_fills:
        key = (str(data.get("execution_id")), int(data.get("client_order_id") or 0))
        if key not in present:
            result.add(f"audit record #{rid} reports fill {key[0]!r} of order {key[1]} but "
                       "the fills table has no such row (deleted)")
    result.fills = len(rows)
    return out


def _check_orders(conn: sqlite3.Connection, chained: _Chained, result: CrossCheck) -> None:
    records = dict(chained.orders)
    sums = dict(conn.execute("SELECT client_order_id, SUM(quantity) FROM fills"
                             " GROUP BY client_order_id"))
    rows = conn.execute(f"SELECT client_order_id, {', '.join(_ORDER_FIELDS)},"
                        " filled_quantity FROM orders ORDER BY client_order_id").fetchall()
    for coid, *values, filled in rows:
        record = records.pop(coid, None)
        if record is None:
            result.add(f"orders row {coid} has no audit record: added outside the engine, "
                       "or its records are gone")
        else:
            rid, image = record
            for column, value in zip(_ORDER_FIELDS, values, strict=True):
                if image.get(column) != value:
                    result.add(f"orders row {coid}: {column} is {value!r} but audit record "
                               f"#{rid} stored {image.get(column)!r}")
        if filled != sums.get(coid, 0):
            result.add(f"orders row {coid}: filled_quantity is {filled} but its fills in "
                       f"the fills table add up to {sums.get(coid, 0)}")
    for coid, (rid, image) in sorted(records.items()):
        result.add(f"audit record #{rid} stored order {coid} ({image.get('state')}) but the "
                   f"orders table has no row {coid} (deleted)")
    table: dict[int, dict[int, list[Any]]] = defaultdict(dict)
    for coid, seq, *step in conn.execute(
            "SELECT client_order_id, seq, from_state, event, to_state, ts_ns, detail"
            " FROM order_transitions"):
        table[coid][seq] = step
    for coid in sorted(set(table) | set(chained.steps)):
        stored, steps = table.get(coid, {}), chained.steps.get(coid, {})
        for seq in sorted(set(stored) | set(steps)):
            if seq not in steps:
                result.add(f"order_transitions row (order {coid}, seq {seq}) has no audit "
                           "record")
            elif seq not in stored:
                result.add(f"audit record #{steps[seq][0]} lists transition (order {coid}, "
                           f"seq {seq}) but order_transitions has no such row (deleted)")
            elif list(stored[seq]) != list(steps[seq][1][1:]):
                result.add(f"order_transitions row (order {coid}, seq {seq}) is "
                           f"{stored[seq]} but audit record #{steps[seq][0]} stored "
                           f"{steps[seq][1][1:]}")
    result.orders = len(rows)


def _check_positions(conn: sqlite3.Connection, chained: _Chained,
                     fills: list[tuple[int, FillRecord]], result: CrossCheck) -> None:
    by_key: dict[tuple[str, str], list[tuple[int, FillRecord]]] = defaultdict(list)
    for rid, fill in fills:
        by_key[(fill.account, fill.instrument)].append((rid, fill))
    expected: dict[tuple[str, str], list[PositionRecord]] = {}
    for key in set(by_key) | set(chained.positions):
        expected[key] = _expected_positions(by_key.get(key, []), chained.positions.get(key))
    rows = conn.execute("SELECT account, instrument, quantity, average_price, realized_pnl"
                        " FROM positions ORDER BY account, instrument").fetchall()
    for account, instrument, qty, avg, realized in rows:
        name = f"positions row (account={account!r}, instrument={instrument!r})"
        candidates = expected.pop((account, instrument), None)
        if not candidates:
            result.add(f"{name} (quantity {qty}) has no fills behind it: added outside "
                       "the engine")
            continue
        if any(_same(p, qty, avg, realized) for p in candidates):
            continue
        p = candidates[0]
        result.add(f"{name}: quantity {qty}, average price {avg!r}, realized PnL "
                   f"{realized!r}, but its fills make quantity {p.quantity}, average price "
                   f"{p.average_price!r}, realized PnL {p.realized_pnl!r}")
    for (account, instrument), candidates in sorted(expected.items()):
        if candidates and candidates[0].quantity:
            result.add(f"no positions row for (account={account!r}, instrument="
                       f"{instrument!r}) but its fills make quantity "
                       f"{candidates[0].quantity} (deleted)")
    result.positions = len(rows)


def _expected_positions(fills: list[tuple[int, FillRecord]],
                        chained_set: tuple[int, dict[str, Any]] | None) -> list[PositionRecord]:
    """The positions the store may have written: from every fill in time order (what it
    computes, incrementally or again from scratch when a fill arrives out of order), and
    after a position set directly, from the set and the fills booked after it."""
    ordered = [f for _, f in sorted(fills, key=lambda rf: rf[1].ts_ns)]  # stable: rowid
    out = []
    position: PositionRecord | None = None
    for fill in ordered:
        position = apply_fill(position, fill, 0)
    if position is not None:
        out.append(position)
    if chained_set is not None:
        rid, data = chained_set
        position = PositionRecord(str(data["account"]), str(data["instrument"]),
                                  int(data["quantity"]), float(data["average_price"]),
                                  float(data.get("realized_pnl", 0.0)))
        for fill_rid, fill in fills:
            if fill_rid > rid:
                position = apply_fill(position, fill, 0)
        out.insert(0, position)
    return out


def _same(p: PositionRecord, qty: int, avg: float, realized: float) -> bool:
    return p.quantity == qty and _close(p.average_price, avg) and \
        _close(p.realized_pnl, realized)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
