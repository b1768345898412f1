"""What each queued write does inside the writer's transaction.

Ops are built (and validated) on the caller's thread and applied on the writer thread,
in queue order, many per transaction. ``Tx`` carries what the writer keeps between ops:
the connection, the head of the audit chain and a cache of positions. All of it belongs
to the writer thread; a rolled-back batch restores it with ``Tx.rollback_state``.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import time
from concurrent.futures import Future
from dataclasses import asdict
from typing import Any

from tickbridge.audit.chain import GENESIS_HASH, canonical_payload, quote_json_string
from tickbridge.store.anchoring import Anchors
from tickbridge.store.positions import apply_fill
from tickbridge.store.records import (
    FillOutcome,
    FillRecord,
    OrderRecord,
    PositionRecord,
    ShimSession,
    Transition,
)

_sha256 = hashlib.sha256
_chain = itertools.chain
_AUDIT_INSERT = ("INSERT INTO audit_log (id, wall_ns, mono_ns, kind, client_order_id, account,"
                 " payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)")
# 1024 rows x 9 columns stays under SQLite's 32,766 bound parameters.
_AUDIT_INSERTS = tuple((size, _AUDIT_INSERT + ",(?,?,?,?,?,?,?,?,?)" * (size - 1))
                       for size in (1024, 256, 64, 16, 4, 1))
_quote = quote_json_string


class Tx:
    """The writer thread's state across ops of a batch (and across batches)."""

    def __init__(self, conn: sqlite3.Connection, anchors: Anchors | None = None) -> None:
        self.conn = conn
        row = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        self.last_id, self.last_hash = (row[0], row[1]) if row else (0, GENESIS_HASH)
        self.last_digest = bytes.fromhex(self.last_hash)  # the raw bytes the next hash needs
        self.positions: dict[tuple[str, str], PositionRecord | None] = {}
        self.newest_fill: dict[tuple[str, str], int] = {}  # ts_ns of the newest booked fill
        self.audit_rows: list[tuple[Any, ...]] = []
        self._saved: tuple[int, str] = (self.last_id, self.last_hash)
        # Session records the anchor asks for, chained at the start of the next batch and
        # kept until a batch holding them commits.
        self.notes: list[dict[str, Any]] = []
        self.anchors = anchors
        self._anchored = -1
        if anchors is not None:
            self.notes = anchors.open(conn, self.last_id)
            if self.notes:
                self.begin()
                self.commit()
            self.anchor()

    def anchor(self) -> None:
        """After a commit is durable: the witnesses get the chain's new head (fsynced)
        before any future of the batch resolves, so every acknowledged record is covered."""
        if self.anchors is not None and self.last_id != self._anchored:
            self.notes.extend(self.anchors.write(self.last_id, self.last_hash))
            self._anchored = self.last_id

    def close(self) -> None:
        if self.anchors is not None:
            self.anchors.close()

    def begin(self) -> None:
        self._saved = (self.last_id, self.last_hash)
        self.audit_rows.clear()
        self.conn.execute("BEGIN IMMEDIATE")
        if self.notes:
            wall, mono = time.time_ns(), time.monotonic_ns()
            for note in self.notes:
                self.append_audit(wall, mono, "session", None, "", canonical_payload(note))

    def commit(self) -> None:
        rows = self.audit_rows
        if rows:
            # Multi-row INSERTs in chunks of 1024, 256, .. 1 rows: a few sqlite3_step calls
            # per batch instead of one per row. Each step releases the GIL and must take it
            # back from the threads that are enqueueing, which can take a whole switch
            # interval (5 ms) each: executemany (one step per row) measured 40x slower.
            start, left = 0, len(rows)
            for size, statement in _AUDIT_INSERTS:
                while left >= size:
                    self.conn.execute(statement,
                                      list(_chain.from_iterable(rows[start:start + size])))
                    start, left = start + size, left - size
            rows.clear()
        self.conn.execute("COMMIT")
        self.notes.clear()

    def rollback_state(self) -> None:
        """After a ROLLBACK: the chain head and cached positions return to what is on disk."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.last_id, self.last_hash = self._saved
        self.last_digest = bytes.fromhex(self.last_hash)
        self.audit_rows.clear()
        self.positions.clear()
        self.newest_fill.clear()

    def append_audit(self, wall_ns: int, mono_ns: int, kind: str, client_order_id: int | None,
                     account: str, payload: str) -> int:
        # The chain is computed here, on the single writer thread, in commit order: however
        # many threads enqueue, ids are dense and each prev_hash is the record before it.
        # (Inlined canonical_bytes: this runs once per audited event.)
        record_id = self.last_id + 1
        coid = "null" if client_order_id is None else client_order_id
        digest = _sha256(self.last_digest + (
            f"[{record_id},{wall_ns},{mono_ns},{_quote(kind)},{coid},"
            f"{_quote(account)}]\n{payload}").encode()).digest()
        hexdigest = digest.hex()
        self.audit_rows.append((record_id, wall_ns, mono_ns, kind, client_order_id, account,
                                payload, self.last_hash, hexdigest))
        self.last_id, self.last_hash, self.last_digest = record_id, hexdigest, digest
        return record_id

    def position(self, account: str, instrument: str) -> PositionRecord | None:
        key = (account, instrument)
        if key not in self.positions:
            row = self.conn.execute(
                "SELECT quantity, average_price, realized_pnl, updated_ns FROM positions"
                " WHERE account = ? AND instrument = ?", key).fetchone()
            self.positions[key] = PositionRecord(account, instrument, *row) if row else None
        return self.positions[key]

    def position_after(self, fill: FillRecord, now: int) -> PositionRecord:
        """The position with ``fill`` (already inserted) in it. Fills booked in time order
        move it incrementally; one older than the newest booked (a recovery books what it
        missed late) makes it recomputed from every fill in time order, because an
        average price depends on the order of the fills."""
        key = (fill.account, fill.instrument)
        newest = self.newest_fill.get(key)
        if newest is None:
            row = self.conn.execute("SELECT MAX(ts_ns) FROM fills WHERE account = ? AND"
                                    " instrument = ? AND execution_id != ?",
                                    (*key, fill.execution_id)).fetchone()
            newest = row[0] if row and row[0] is not None else fill.ts_ns
        self.newest_fill[key] = max(newest, fill.ts_ns)
        if fill.ts_ns >= newest:
            return apply_fill(self.position(*key), fill, now)
        position = None
        for row in self.conn.execute(
                "SELECT account, execution_id, client_order_id, instrument, side, quantity,"
                " price, ts_ns, platform_order_id FROM fills WHERE account = ? AND"
                " instrument = ? ORDER BY ts_ns, rowid", key):
            position = apply_fill(position, FillRecord(*row), now)
        assert position is not None
        return position

    def put_position(self, position: PositionRecord) -> None:
        self.conn.execute(
            "INSERT INTO positions (account, instrument, quantity, average_price, realized_pnl,"
            " updated_ns) VALUES (?,?,?,?,?,?) ON CONFLICT (account, instrument) DO UPDATE SET"
            " quantity = excluded.quantity, average_price = excluded.average_price,"
            " realized_pnl = excluded.realized_pnl, updated_ns = excluded.updated_ns",
            (position.account, position.instrument, position.quantity, position.average_price,
             position.realized_pnl, position.updated_ns))
        self.positions[(position.account, position.instrument)] = position


class Op:
    """One queued write. ``future`` is set for ops whose caller waits for durability."""

    __slots__ = ("future",)

    def __init__(self, future: Future | None = None) -> None:
        self.future = future

    def apply(self, tx: Tx) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class AuditOp(Op):
    __slots__ = ("account", "client_order_id", "kind", "mono_ns", "payload", "wall_ns")

    def __init__(self, kind: str, payload: str, client_order_id: int | None, account: str,
                 future: Future | None = None) -> None:
        # No super().__init__: this runs once per audited event on the caller's thread.
        self.future = future
        # Timestamps are taken when the event happens (enqueue), not when it is written.
        self.wall_ns = time.time_ns()
        self.mono_ns = time.monotonic_ns()
        self.kind, self.payload = kind, payload
        self.client_order_id, self.account = client_order_id, account

    def apply(self, tx: Tx) -> int:
        return tx.append_audit(self.wall_ns, self.mono_ns, self.kind, self.client_order_id,
                               self.account, self.payload)

    def describe(self) -> str:
        return f"audit {self.kind} for order {self.client_order_id}"


# The columns of an order row that its ``order`` audit record holds (as stored after the
# write). Filled quantity and average price are not here: they follow from the order's
# fills, each of which has its own ``fill`` record.
ORDER_AUDIT_FIELDS = ("account", "instrument", "side", "order_type", "time_in_force",
                      "quantity", "price", "stop_price", "state", "platform_order_id",
                      "created_ns")
_ORDER_AUDIT_SELECT = (f"SELECT {', '.join(ORDER_AUDIT_FIELDS)} FROM orders"
                       " WHERE client_order_id = ?")


def insert_transition(tx: Tx, t: Transition) -> list[Any]:
    """One row of ``order_transitions``; returns it as its audit record lists it:
    [seq, from_state, event, to_state, ts_ns, detail]."""
    if t.seq > 0:
        seq = t.seq
    else:
        (seq,) = tx.conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM order_transitions"
            " WHERE client_order_id = ?", (t.client_order_id,)).fetchone()
    tx.conn.execute(
        "INSERT INTO order_transitions (client_order_id, seq, from_state, event, to_state,"
        " ts_ns, detail) VALUES (?,?,?,?,?,?,?)",
        (t.client_order_id, seq, t.from_state, t.event, t.to_state, t.ts_ns, t.detail))
    return [seq, t.from_state, t.event, t.to_state, t.ts_ns, t.detail]


def audit_order(tx: Tx, wall_ns: int, mono_ns: int, client_order_id: int,
                transitions: list[list[Any]], *, with_row: bool) -> None:
    """The ``order`` record: what this transaction wrote for the order (its row as stored,
    the transitions added), chained in the same transaction, so that `audit verify` can
    hold the orders and order_transitions tables against the chain after any crash."""
    payload: dict[str, Any] = {"client_order_id": client_order_id, "transitions": transitions}
    account = ""
    if with_row:
        row = tx.conn.execute(_ORDER_AUDIT_SELECT, (client_order_id,)).fetchone()
        if row is not None:
            payload["row"] = dict(zip(ORDER_AUDIT_FIELDS, row, strict=True))
            account = row[0]
    tx.append_audit(wall_ns, mono_ns, "order", client_order_id, account,
                    canonical_payload(payload))


class SaveOrderOp(Op):
    __slots__ = ("mono_ns", "order", "transitions", "wall_ns")

    def __init__(self, order: OrderRecord, transitions: tuple[Transition, ...]) -> None:
        super().__init__()
        self.order, self.transitions = order, transitions
        self.wall_ns, self.mono_ns = time.time_ns(), time.monotonic_ns()

    def apply(self, tx: Tx) -> None:
        o = self.order
        # Filled quantity only grows: a fill booked by the store (BookFillsOp) may be ahead
        # of an order snapshot the engine took just before it; never move it backwards.
        tx.conn.execute(
            "INSERT INTO orders (client_order_id, account, instrument, side, order_type,"
            " time_in_force, quantity, price, stop_price, state, filled_quantity,"
            " average_fill_price, platform_order_id, created_ns, updated_ns)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (client_order_id) DO UPDATE SET"
            " account = excluded.account, instrument = excluded.instrument,"
            " side = excluded.side, order_type = excluded.order_type,"
            " time_in_force = excluded.time_in_force, quantity = excluded.quantity,"
            " price = excluded.price, stop_price = excluded.stop_price, state = excluded.state,"
            " average_fill_price = CASE WHEN excluded.filled_quantity >= orders.filled_quantity"
            "   THEN excluded.average_fill_price ELSE orders.average_fill_price END,"
            " filled_quantity = MAX(excluded.filled_quantity, orders.filled_quantity),"
            " platform_order_id = CASE WHEN excluded.platform_order_id = ''"
            "   THEN orders.platform_order_id ELSE excluded.platform_order_id END,"
            " updated_ns = excluded.updated_ns",
            (o.client_order_id, o.account, o.instrument, o.side, o.order_type, o.time_in_force,
             o.quantity, o.price, o.stop_price, o.state, o.filled_quantity,
             o.average_fill_price, o.platform_order_id, o.created_ns, o.updated_ns))
        steps = [insert_transition(tx, t) for t in self.transitions]
        audit_order(tx, self.wall_ns, self.mono_ns, o.client_order_id, steps, with_row=True)

    def describe(self) -> str:
        return f"save order {self.order.client_order_id}"


class TransitionOp(Op):
    __slots__ = ("mono_ns", "transition", "wall_ns")

    def __init__(self, transition: Transition) -> None:
        super().__init__()
        self.transition = transition
        self.wall_ns, self.mono_ns = time.time_ns(), time.monotonic_ns()

    def apply(self, tx: Tx) -> None:
        step = insert_transition(tx, self.transition)
        audit_order(tx, self.wall_ns, self.mono_ns, self.transition.client_order_id, [step],
                    with_row=False)

    def describe(self) -> str:
        return f"transition {self.transition.event} of order {self.transition.client_order_id}"


class SetPositionOp(Op):
    __slots__ = ("mono_ns", "position", "wall_ns")

    def __init__(self, position: PositionRecord) -> None:
        super().__init__()
        self.position = position
        self.wall_ns, self.mono_ns = time.time_ns(), time.monotonic_ns()

    def apply(self, tx: Tx) -> None:
        tx.put_position(self.position)
        # Chained, so that `audit verify` recomputes this position from here on.
        tx.append_audit(self.wall_ns, self.mono_ns, "position", None, self.position.account,
                        canonical_payload(asdict(self.position)))


class BookSequenceOp(Op):
    __slots__ = ("session",)

    def __init__(self, session: ShimSession, future: Future | None = None) -> None:
        super().__init__(future)
        self.session = session

    def apply(self, tx: Tx) -> None:
        s = self.session
        now = time.time_ns()
        # MAX: a late, lower sequence must never move the acknowledged point backwards.
        tx.conn.execute(
            "INSERT INTO shim_sessions (shim_session_id, account, platform,"
            " last_booked_sequence, first_seen_ns, last_seen_ns) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (shim_session_id) DO UPDATE SET"
            " last_booked_sequence = MAX(last_booked_sequence, excluded.last_booked_sequence),"
            " last_seen_ns = excluded.last_seen_ns",
            (s.shim_session_id, s.account, s.platform, s.last_booked_sequence, now, now))

    def describe(self) -> str:
        return f"sequence {self.session.last_booked_sequence} of shim session " \
               f"{self.session.shim_session_id}"


class BookFillsOp(Op):
    """Fills, their positions, their orders' filled quantity, their audit records and
    optionally the shim sequence that carried them: all in one transaction."""

    __slots__ = ("audit", "fills", "mono_ns", "order_states", "session", "wall_ns")

    def __init__(self, fills: tuple[FillRecord, ...], session: ShimSession | None,
                 audit: bool, future: Future, order_states: dict[int, str] | None = None
                 ) -> None:
        super().__init__(future)
        self.fills, self.session, self.audit = fills, session, audit
        self.order_states = order_states or {}
        self.wall_ns, self.mono_ns = time.time_ns(), time.monotonic_ns()  # when booked

    def apply(self, tx: Tx) -> list[FillOutcome]:
        outcomes = []
        now = time.time_ns()
        for f in self.fills:
            cur = tx.conn.execute(
                "INSERT OR IGNORE INTO fills (account, execution_id, client_order_id,"
                " instrument, side, quantity, price, ts_ns, platform_order_id, booked_ns)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (f.account, f.execution_id, f.client_order_id, f.instrument, f.side,
                 f.quantity, f.price, f.ts_ns, f.platform_order_id, now))
            booked = cur.rowcount == 1
            position = None
            if booked:
                position = tx.position_after(f, now)
                tx.put_position(position)
                # From the order's booked fills, not incremented: an order snapshot saved
                # just before (with this fill counted by the engine's book) cannot make
                # the fill count twice.
                tx.conn.execute(
                    "UPDATE orders SET (filled_quantity, average_fill_price) = (SELECT"
                    " SUM(quantity), SUM(quantity * price) / SUM(quantity) FROM fills"
                    " WHERE client_order_id = ?1), updated_ns = ?2"
                    " WHERE client_order_id = ?1", (f.client_order_id, now))
            if self.audit:
                payload = canonical_payload({**asdict(f), "booked": booked})
                tx.append_audit(self.wall_ns, self.mono_ns, "fill",
                                f.client_order_id or None, f.account, payload)
            outcomes.append(FillOutcome(f.account, f.execution_id, booked, position))
        for coid, state in self.order_states.items():
            self._store_state(tx, coid, state)
        if self.session is not None:
            BookSequenceOp(self.session).apply(tx)
        return outcomes

    def _store_state(self, tx: Tx, coid: int, state: str) -> None:
        """The order's state after its fills (PARTIALLY_FILLED, FILLED), with the step that
        led to it, in the fills' transaction: the state machine moves on a fill, and no
        other event would store the move."""
        row = tx.conn.execute("SELECT state FROM orders WHERE client_order_id = ?",
                              (coid,)).fetchone()
        if row is None or row[0] == state:
            return
        mine = [f for f in self.fills if f.client_order_id == coid]
        ts = max((f.ts_ns for f in mine), default=self.wall_ns)
        tx.conn.execute("UPDATE orders SET state = ? WHERE client_order_id = ?", (state, coid))
        step = insert_transition(tx, Transition(
            coid, 0, row[0], "FILL", state, ts, ",".join(f.execution_id for f in mine)))
        audit_order(tx, self.wall_ns, self.mono_ns, coid, [step], with_row=True)

    def describe(self) -> str:
        return f"book {len(self.fills)} fill(s)"


class BarrierOp(Op):
    """Does nothing: its future resolves when everything queued before it is durable."""

    __slots__ = ()

    def apply(self, tx: Tx) -> None:
        return None
