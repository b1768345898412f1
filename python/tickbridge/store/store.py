"""``StateStore``: the engine's authoritative orders, fills, positions, shim sequences and
audit log, in one SQLite file, written by one group-commit writer thread."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any

from tickbridge.audit.chain import canonical_payload
from tickbridge.store.anchoring import Anchors, AnchorSettings
from tickbridge.store.checkpointer import Checkpointer
from tickbridge.store.connection import SYNCHRONOUS, open_reader, open_writer_connection
from tickbridge.store.ops import (
    AuditOp,
    BarrierOp,
    BookFillsOp,
    BookSequenceOp,
    Op,
    SaveOrderOp,
    SetPositionOp,
    TransitionOp,
    Tx,
)
from tickbridge.store.records import (
    MAX_CLIENT_ORDER_ID,
    TERMINAL_STATES,
    FillOutcome,
    FillRecord,
    OrderRecord,
    PositionRecord,
    ShimSession,
    Transition,
    check_client_order_id,
    enum_name,
)
from tickbridge.store.safety import (
    SaveTradingStateOp,
    TradingStateRecord,
    load_trading_states,
    trading_state_record,
)
from tickbridge.store.thread_placement import ANYWHERE, Placement
from tickbridge.store.writer import GroupCommitWriter, WriterStats

DEFAULT_QUEUE_CAPACITY = 100_000
DEFAULT_MAX_BATCH = 2_000


class StateStore:
    """Thread-safe. Every write method validates on the caller's thread, enqueues, and
    returns without touching the disk. Methods returning a ``Future`` resolve it once the
    transaction holding that write has committed with ``synchronous=FULL`` (on disk);
    ``future.result()`` waits, ``asyncio.wrap_future`` adapts it to asyncio. Writes are
    applied in the order they were enqueued, so a resolved future also proves every write
    enqueued before it durable.

    A full queue raises ``StoreBackpressure`` (nothing enqueued); a disk failure stops the
    writer and every later call raises ``StoreFailed``.
    """

    def __init__(self, path: str | Path, *, queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
                 max_batch: int = DEFAULT_MAX_BATCH, synchronous: str = SYNCHRONOUS,
                 on_error: Callable[[Op, BaseException], None] | None = None,
                 witness: bool = True, witness_copy: str | Path | None = None,
                 reanchor: str | None = None, background: Placement = ANYWHERE) -> None:
        """``witness``: anchor the audit chain's head in ``<path>.witness`` after every
        group commit (and refuse to open a database that is behind or different from it);
        ``witness_copy``: a second witness file elsewhere; ``reanchor``: accept a database
        that disagrees with its witness, for this reason (chained). A refused store raises
        ``StoreFailed`` from ``WitnessMismatch``. ``background``: where and at what priority
        the writer and checkpoint threads run (thread_placement.py)."""
        self.path = Path(path)
        settings = AnchorSettings(enabled=witness,
                                  copy=Path(witness_copy) if witness_copy else None,
                                  reanchor=reanchor)
        anchors = Anchors(self.path, settings, new_file=_no_store_yet(self.path)) \
            if witness or witness_copy else None
        self._writer = GroupCommitWriter(
            lambda: open_writer_connection(self.path, synchronous),
            capacity=queue_capacity, max_batch=max_batch, on_error=on_error,
            make_tx=lambda conn: Tx(conn, anchors), placement=background)
        self._checkpointer = Checkpointer(self.path, placement=background)

    # -- context management ----------------------------------------------------------
    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write everything queued, then stop the writer. Idempotent."""
        self._checkpointer.close()
        self._writer.close()

    @property
    def failure(self) -> BaseException | None:
        """What stopped the writer (then every later call raises StoreFailed), or None."""
        return self._writer.failure

    def stalled_s(self) -> float:
        """How long writes have waited with no commit (0.0 when none waits)."""
        return self._writer.stalled_s()

    @property
    def stats(self) -> WriterStats:
        return self._writer.stats

    # -- hot path: enqueue, never wait --------------------------------------------------
    def save_order(self, order: OrderRecord, *transitions: Transition) -> None:
        """Insert or replace the order's row (filled quantity never decreases), with the
        transitions that led to it, in one transaction."""
        check_client_order_id(order.client_order_id)
        self._writer.submit(SaveOrderOp(_normalize_order(order),
                                        tuple(_normalize_transition(t) for t in transitions)))

    def record_transition(self, transition: Transition) -> None:
        """Append one step to the order's history; ``seq`` 0 means "the next one"."""
        check_client_order_id(transition.client_order_id)
        self._writer.submit(TransitionOp(_normalize_transition(transition)))

    def set_position(self, position: PositionRecord) -> None:
        """Overwrite a position directly (reconciliation ADOPT of the platform's figure,
        audited by the caller). Fills update positions on their own: see book_fills."""
        self._writer.submit(SetPositionOp(position))

    def audit(self, kind: str, payload: Mapping[str, Any] | list[Any] | str | None = None, *,
              client_order_id: int | None = None, account: str = "") -> None:
        """Append one audit record. Timestamps are taken now, on the caller's thread; the
        id and the hash chain are assigned by the writer in commit order."""
        if client_order_id is not None and not 0 < client_order_id <= MAX_CLIENT_ORDER_ID:
            check_client_order_id(client_order_id)  # raises, saying why
        self._writer.submit(AuditOp(str(kind), canonical_payload(payload), client_order_id,
                                    account))

    # -- durable: the future resolves when on disk ----------------------------------------
    def book_fills(self, fills: Iterable[FillRecord], *, session: ShimSession | None = None,
                   audit: bool = True, order_states: Mapping[int, Enum | str] | None = None
                   ) -> Future[list[FillOutcome]]:
        """Book fills once each, keyed by (account, execution_id). In one transaction: each
        new fill is inserted, its position updated (quantity, average price, realized PnL),
        its order's filled quantity and average fill price updated, a ``fill`` audit record
        appended (also for duplicates, with booked=false), and ``session``'s last booked
        sequence raised. The future's result has one FillOutcome per fill, in order:
        ``booked`` False = a duplicate that changed nothing. Acknowledge the shim's
        sequence only after the future resolves. ``order_states``: each order's state
        after these fills (the state machine moves on a fill); stored, with a FILL
        transition, in the same transaction when it differs from the stored one."""
        prepared = tuple(_normalize_fill(f) for f in fills)
        future: Future[list[FillOutcome]] = _running_future()
        states = {check_client_order_id(c): enum_name(s)
                  for c, s in (order_states or {}).items()}
        self._writer.submit(BookFillsOp(prepared, _normalize_session(session), audit, future,
                                        states))
        return future

    def record_fill(self, fill: FillRecord, *, session: ShimSession | None = None
                    ) -> Future[FillOutcome]:
        """One fill; see ``book_fills``. The result says booked (new) or duplicate."""
        many = self.book_fills([fill], session=session)
        single: Future[FillOutcome] = _running_future()
        many.add_done_callback(lambda f: single.set_exception(f.exception()) if f.exception()
                               else single.set_result(f.result()[0]))
        return single

    def book_sequence(self, session: ShimSession) -> Future[None]:
        """Raise the shim session's last booked sequence (never lowers it). Enqueue it after
        the frame's order events: when it resolves, they are all durable."""
        future: Future[None] = _running_future()
        self._writer.submit(BookSequenceOp(_normalize_session(session), future))
        return future

    def save_trading_state(self, scope: str | None, state: str, source: str
                           ) -> Future[None]:
        """The trading state of an account (or of all, ``scope`` None); the future resolves
        when it is on disk. Wait for it before saying a halt is in force."""
        future: Future[None] = _running_future()
        self._writer.submit(SaveTradingStateOp(trading_state_record(scope, state, source),
                                               future))
        return future

    def load_trading_states(self) -> dict[str, TradingStateRecord]:
        """Keyed by scope: an account name, or '' for the engine-wide state."""
        return load_trading_states(self.path)

    def sync(self) -> Future[None]:
        """Resolves when everything enqueued before this call is durable."""
        future: Future[None] = _running_future()
        self._writer.submit(BarrierOp(future))
        return future

    # -- recovery and queries: a fresh read connection, committed data only ------------
    def load_orders(self, *, open_only: bool = False) -> dict[int, OrderRecord]:
        with _reading(self.path) as conn:
            rows = conn.execute(f"SELECT {_ORDER_COLUMNS} FROM orders ORDER BY client_order_id")
            orders = {r[0]: OrderRecord(*r) for r in rows}
        if open_only:
            return {k: o for k, o in orders.items() if o.state not in TERMINAL_STATES}
        return orders

    def load_open_orders(self) -> dict[int, OrderRecord]:
        """Orders not FILLED, CANCELED, REJECTED or EXPIRED: what the engine must track and
        reconcile after a restart."""
        return self.load_orders(open_only=True)

    def load_transitions(self, client_order_id: int) -> list[Transition]:
        with _reading(self.path) as conn:
            rows = conn.execute(
                "SELECT client_order_id, seq, from_state, event, to_state, ts_ns, detail"
                " FROM order_transitions WHERE client_order_id = ? ORDER BY seq",
                (client_order_id,)).fetchall()
        return [Transition(*r) for r in rows]

    def load_positions(self) -> dict[tuple[str, str], PositionRecord]:
        """Keyed by (account, instrument)."""
        with _reading(self.path) as conn:
            rows = conn.execute("SELECT account, instrument, quantity, average_price,"
                                " realized_pnl, updated_ns FROM positions").fetchall()
        return {(r[0], r[1]): PositionRecord(*r) for r in rows}

    def load_shim_sessions(self) -> dict[int, ShimSession]:
        """Keyed by shim session id: ``last_booked_sequence`` is what to acknowledge, and
        frames at or below it are duplicates."""
        with _reading(self.path) as conn:
            rows = conn.execute("SELECT shim_session_id, account, platform,"
                                " last_booked_sequence, first_seen_ns, last_seen_ns"
                                " FROM shim_sessions").fetchall()
        return {r[0]: ShimSession(*r) for r in rows}

    def load_fills(self, client_order_id: int | None = None) -> list[FillRecord]:
        where, args = ("WHERE client_order_id = ?", (client_order_id,)) \
            if client_order_id is not None else ("", ())
        with _reading(self.path) as conn:
            rows = conn.execute(
                "SELECT account, execution_id, client_order_id, instrument, side, quantity,"
                f" price, ts_ns, platform_order_id FROM fills {where} ORDER BY rowid",
                args).fetchall()
        return [FillRecord(*r) for r in rows]

    def load_audit(self, kinds: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
        """(kind, payload) of the audit records of ``kinds``, oldest first: what the
        engine rebuilds from its own records at a restart (flatten_orders.py)."""
        marks = ",".join("?" * len(kinds))
        with _reading(self.path) as conn:
            rows = conn.execute(f"SELECT kind, payload FROM audit_log WHERE kind IN ({marks})"
                                " ORDER BY id", kinds).fetchall()
        return [(kind, json.loads(payload)) for kind, payload in rows]

    def load_execution_ids(self, account: str | None = None) -> set[tuple[str, str]]:
        """(account, execution_id) of every booked fill: seeds the engine's in-memory
        duplicate check after a restart."""
        where, args = ("WHERE account = ?", (account,)) if account is not None else ("", ())
        with _reading(self.path) as conn:
            return {(a, e) for a, e in conn.execute(
                f"SELECT account, execution_id FROM fills {where}", args)}


_ORDER_COLUMNS = (
    "client_order_id, account, instrument, side, order_type, time_in_force, quantity, price,"
    " stop_price, state, filled_quantity, average_fill_price, platform_order_id, created_ns,"
    " updated_ns"
)


class _reading:
    """``with _reading(path) as conn``: a read connection closed on exit (sqlite3's own
    context manager only ends a transaction, it does not close)."""

    def __init__(self, path: Path) -> None:
        self.conn = open_reader(path)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _no_store_yet(path: Path) -> bool:
    """No file, or a file without the store's schema (another component sharing the file,
    like the webhook's alert table, may have created it first): a new store, whose chain
    starts now. Deleting the audit rows of a store does not make it one (its schema
    version stays)."""
    if not path.exists():
        return True
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0]) == 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # the writer's own open says what is wrong with it


def _running_future() -> Future:
    # Marked running at once so that a caller's future.cancel() returns False instead of
    # cancelling a write the writer will do anyway (and that set_result would then refuse).
    future: Future = Future()
    future.set_running_or_notify_cancel()
    return future


def _normalize_order(order: OrderRecord) -> OrderRecord:
    return replace(order, side=enum_name(order.side), order_type=enum_name(order.order_type),
                   time_in_force=enum_name(order.time_in_force), state=enum_name(order.state))


def _normalize_transition(t: Transition) -> Transition:
    return replace(t, from_state=enum_name(t.from_state), event=enum_name(t.event),
                   to_state=enum_name(t.to_state))


def _normalize_session(session: ShimSession | None) -> ShimSession | None:
    # Platform.SIERRA_CHART -> 'SIERRA_CHART': stored by name like every enumeration.
    return None if session is None else replace(session, platform=enum_name(session.platform))


def _normalize_fill(fill: FillRecord) -> FillRecord:
    if fill.client_order_id:
        check_client_order_id(fill.client_order_id)
    if not fill.execution_id:
        raise ValueError(f"fill for order {fill.client_order_id} has no execution_id: it "
                         "cannot be de-duplicated; refuse it at the protocol layer")
    side = enum_name(fill.side)
    if side not in ("BUY", "SELL"):
        raise ValueError(f"fill {fill.execution_id}: side {fill.side!r} is not BUY or SELL")
    if fill.quantity <= 0:
        raise ValueError(f"fill {fill.execution_id}: quantity {fill.quantity} is not positive")
    return replace(fill, side=side)
