"""The engine's reconciliation: it collects a shim's snapshot, runs the pure
``tickbridge.reconcile`` on it against the order book, audits each drift and carries out
the planned actions through the hooks it was given.

A snapshot is what the shim sends between the two SnapshotBoundary records of the engine's
request. Nothing in it is applied while it arrives: at the end boundary the orders and
fills are compared and handled first (adopting an order before booking its fills), then,
with those fills booked, the positions. Outside a snapshot, an order update for an order
the engine does not know is reconciled the same way as a one-order snapshot.

The reconciler never holds the engine: it reads the order book, and acts through
``ReconcileHooks`` (the router's adopt/cancel/route calls, halt and the kill switch).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tickbridge import orders as ob
from tickbridge.engine.session import ShimSession
from tickbridge.protocol import DTYPES, OrderStatus, RecordType, Side, SnapshotPhase
from tickbridge.reconcile import (
    Action,
    Drift,
    DriftClass,
    EngineView,
    OrderView,
    PlannedAction,
    PositionView,
    ReconcilePolicy,
    drift_record,
    reconcile,
    snapshot_from_records,
    trading_state_change,
)

log = logging.getLogger("tickbridge.engine")

_STATUSES = {int(s) for s in OrderStatus}
_SIDES = {int(s) for s in Side}
# Records one snapshot may hold (orders, fills, positions) before it is given up: a
# snapshot asks for every fill, so a busy account's is large, but a peer stays bounded.
MAX_SNAPSHOT_RECORDS = 200_000
_PLATFORM_MADE = 1 << 63  # client order ids with the top bit are made by the platform
# Drifts about an order the platform reports (handled with that order's record).
_REPORTED_ORDERS = frozenset({DriftClass.MISSING_LOCALLY, DriftClass.UNKNOWN_EXTERNAL_ORDER,
                              DriftClass.STATE_DIFFERS, DriftClass.QUANTITY_DIFFERS})


def is_ours(client_order_id: int) -> bool:
    """An engine-made client order id (any run's): nonzero, top bit clear."""
    return client_order_id != 0 and not client_order_id & _PLATFORM_MADE


def _text(value: bytes) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", "replace")


@dataclass(frozen=True)
class ReconcileHooks:
    """What reconciliation may do to the engine's state, injected by the coordinator."""

    apply_update: Callable[[ShimSession, Any], None]  # an OrderUpdate, as the router takes it
    book_fill: Callable[[ShimSession, Any], bool]  # a Fill, booked once by execution id
    adopt_order: Callable[[ShimSession, Any], bool]  # track the platform's order; False: cannot
    adopt_quantity: Callable[[int, int], None]  # (client order id, the platform's quantity)
    mark_canceled: Callable[[int], None]
    halt: Callable[[str, str], None]  # (account, why): trading state halted
    flatten: Callable[[str, str], None]  # (account, why): the kill switch, with flatten


@dataclass(frozen=True)
class ExternalHooks:
    """Accounts whose positions another owner keeps right (the copier's leader and
    followers: the leader trades by hand, a follower is brought to its target by the
    copier's sync): their position and external-order drifts are audited but never halt
    or flatten the account; what the platform reports there is passed on."""

    owned: Callable[[str], bool]
    order: Callable[[ShimSession, Any], None]  # an external order's report, as received
    position: Callable[[ShimSession, str, int], None]  # (session, symbol, the platform's)


_OWNED_DRIFTS = frozenset({DriftClass.POSITION_DIFFERS, DriftClass.UNKNOWN_EXTERNAL_ORDER})


@dataclass
class _Snapshot:
    """The snapshot asked for from one shim, and its records as they arrive."""

    request_id: int
    asked_ns: int
    begun: bool = False
    orders: list[Any] = field(default_factory=list)
    fills: list[Any] = field(default_factory=list)
    positions: list[Any] = field(default_factory=list)


def _key(drift: Drift) -> tuple:
    """A drift's identity in the drift memory."""
    return (drift.drift_class, drift.account, drift.instrument, drift.client_order_id,
            drift.platform.get("platform_order_id", ""), drift.platform.get("execution_id", ""))


def _figures(drift: Drift) -> str:
    return repr((sorted(drift.engine.items()), sorted(drift.platform.items())))


class Reconciler:
    def __init__(self, book: Any, policy: Callable[[], ReconcilePolicy],
                 hooks: ReconcileHooks, audit: Callable[..., None]) -> None:
        self._book = book  # the compiled OrderBook: read only
        self._policy = policy
        self._hooks = hooks
        self._audit = audit
        self._snapshots: dict[bytes, _Snapshot] = {}  # shim identity -> snapshot asked
        # Drifts reported per account (identity -> figures): one found again with the same
        # figures is handled by policy but not audited or acted on account-wide again (an
        # operator who resumed trading is not halted again by the same known difference).
        self._reported: dict[str, dict[tuple, str]] = {}
        self.external_orders = 0
        self.max_records = MAX_SNAPSHOT_RECORDS
        self.on_external: ExternalHooks | None = None

    # -- records from the shim ---------------------------------------------------------
    def expect(self, session: ShimSession, request_id: int, asked_ns: int) -> None:
        """A snapshot was asked for (any earlier one being received is dropped)."""
        self._snapshots[session.identity] = _Snapshot(request_id, asked_ns)

    def forget(self, session: ShimSession) -> None:
        self._snapshots.pop(session.identity, None)

    def _receiving(self, session: ShimSession) -> _Snapshot | None:
        snap = self._snapshots.get(session.identity)
        return snap if snap is not None and snap.begun else None

    def on_order_update(self, session: ShimSession, rec: Any) -> bool:
        """True when reconciliation takes the update (part of a snapshot, or an order the
        engine does not know); False: the router applies it as a live event."""
        snap = self._receiving(session)
        if snap is not None and self._room(session, snap):
            snap.orders.append(rec.copy())  # the record is a view of the frame's buffer
            return True
        coid = int(rec["client_order_id"])
        if coid and coid in self._book:
            return False
        if not _valid_order(rec):
            return False  # the router reports what it cannot read
        self._one_order(session, rec)
        return True

    def on_fill(self, session: ShimSession, rec: Any) -> bool:
        """True when the fill is part of a snapshot (booked, by policy, at its end)."""
        snap = self._receiving(session)
        if snap is None or not self._room(session, snap):
            return False
        snap.fills.append(rec.copy())
        return True

    def on_position(self, session: ShimSession, rec: Any) -> None:
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is None:
            return
        session.platform_positions[instrument.symbol] = int(rec["quantity"])
        if self.on_external is not None:
            self.on_external.position(session, instrument.symbol, int(rec["quantity"]))
        snap = self._receiving(session)
        if snap is not None and self._room(session, snap):
            snap.positions.append(rec.copy())

    def on_unknown_order(self, session: ShimSession, rec: Any) -> None:
        """An order update the router could not place (its id unknown to the book)."""
        if _valid_order(rec):
            self._one_order(session, rec)
        else:
            log.warning("%s: an order update with status %d, side %d for unknown order %d; "
                        "ignored", session.name, int(rec["status"]), int(rec["side"]),
                        int(rec["client_order_id"]))

    def _room(self, session: ShimSession, snap: _Snapshot) -> bool:
        """Whether the snapshot may hold one more record. A peer is bounded: past
        ``max_records`` the snapshot is given up, not compared, and what it had collected
        is applied as live events (nothing lost; what follows is live too)."""
        if len(snap.orders) + len(snap.fills) + len(snap.positions) < self.max_records:
            return True
        del self._snapshots[session.identity]
        log.error("%s: snapshot %d has more than %d records; not compared (its records "
                  "applied as live events)", session.name, snap.request_id, self.max_records)
        self._audit("snapshot_too_large", shim=session.name, request_id=snap.request_id,
                    max_records=self.max_records)
        for rec in snap.orders:
            self._hooks.apply_update(session, rec)
        for rec in snap.fills:
            self._hooks.book_fill(session, rec)
        return False

    def on_external_fill(self, session: ShimSession, rec: Any) -> None:
        # Expected on the copier's accounts (the leader trades by hand): not a warning.
        owned = self.on_external is not None and self.on_external.owned(session.account)
        log.log(logging.DEBUG if owned else logging.WARNING,
                "%s reports fill %s for an order the engine did not make", session.name,
                _text(rec["execution_id"]))
        instrument = session.instruments.get(int(rec["instrument_id"]))
        self._audit("external_fill", shim=session.name, execution_id=_text(rec["execution_id"]),
                    client_order_id=int(rec["client_order_id"]) or None,
                    account=session.account,
                    symbol=instrument.symbol if instrument is not None else None,
                    side=int(rec["side"]), quantity=int(rec["quantity"]))

    def on_snapshot_boundary(self, session: ShimSession, rec: Any) -> bool:
        """True when this boundary ended the snapshot asked for and it was compared."""
        snap = self._snapshots.get(session.identity)
        if snap is None or int(rec["request_id"]) != snap.request_id:
            return False  # an older snapshot's, or one we did not ask for
        if int(rec["phase"]) == int(SnapshotPhase.BEGIN):
            snap.begun = True
            snap.orders.clear(), snap.fills.clear(), snap.positions.clear()
            return False
        del self._snapshots[session.identity]
        if not snap.begun:
            return False
        self._compare(session, snap)
        return True

    # -- one snapshot ------------------------------------------------------------------
    def _compare(self, session: ShimSession, snap: _Snapshot) -> None:
        """Each pass's drifts are audited and its trading-state change made first, then
        its order-level actions carried out."""
        policy = self._policy()
        orders = self._latest_orders(session, snap.orders)
        fills = [f for f in snap.fills if _valid_fill(f)]
        for rec in snap.fills:
            if not _valid_fill(rec):
                self._hooks.book_fill(session, rec)  # the router reports it
        symbols = {iid: i.symbol for iid, i in session.instruments.items()}
        platform = snapshot_from_records(session.account, symbols, order_updates=_stack(
            orders, RecordType.ORDER_UPDATE), fills=_stack(fills, RecordType.FILL),
            request_id=snap.request_id)
        first = reconcile(self._view(session, snap.asked_ns, fills), platform, policy,
                          is_ours=is_ours)
        # The memory becomes this snapshot's drifts: one that cleared and comes back is new.
        known = self._reported.pop(session.account, {})
        fresh = self._remember(session.account, first.actions, known)
        self._report(session, fresh, request_id=snap.request_id)
        by_order = {_order_key(a.drift.client_order_id or 0,
                               a.drift.platform.get("platform_order_id", "")): a
                    for a in first.actions if a.drift.drift_class in _REPORTED_ORDERS}
        by_fill = {a.drift.platform["execution_id"]: a for a in first.actions
                   if a.drift.drift_class == DriftClass.MISSING_FILL}
        for rec in orders:
            key = _order_key(int(rec["client_order_id"]), _text(rec["platform_order_id"]))
            self._handle_order(session, rec, by_order.get(key))
        for planned in first.actions:
            if planned.drift.drift_class == DriftClass.MISSING_AT_PLATFORM and \
                    planned.action == Action.MARK_CANCELED:
                self._hooks.mark_canceled(int(planned.drift.client_order_id or 0))
        for rec in fills:
            planned = by_fill.pop(_text(rec["execution_id"]), None)
            if planned is None or planned.action == Action.ADOPT:
                self._hooks.book_fill(session, rec)  # booked once by execution id
        # The positions, with the snapshot's fills booked: compared directly.
        positions = snapshot_from_records(session.account, symbols, positions=_stack(
            [p for p in snap.positions if int(p["instrument_id"]) in symbols],
            RecordType.POSITION), request_id=snap.request_id)
        second = reconcile(self._view(session, snap.asked_ns), positions, policy)
        fresh_positions = self._remember(session.account, second.actions, known)
        self._report(session, fresh_positions, request_id=snap.request_id)
        actions, fresh = first.actions + second.actions, fresh + fresh_positions
        self._audit("reconciliation", shim=session.name, account=session.account,
                    request_id=snap.request_id, drifts=len(actions), reported=len(fresh),
                    actions=sorted({a.action.value for a in fresh}))

    def _one_order(self, session: ShimSession, rec: Any) -> None:
        """An order update outside a snapshot for an order the engine does not know."""
        symbols = {iid: i.symbol for iid, i in session.instruments.items()}
        platform = snapshot_from_records(session.account, symbols, order_updates=_stack(
            [rec], RecordType.ORDER_UPDATE))
        result = reconcile(EngineView(session.account, {}, {}), platform, self._policy(),
                           is_ours=is_ours)
        planned = result.actions[0] if result.actions else None
        self._handle_order(session, rec, planned)
        known = self._reported.get(session.account, {})
        self._report(session, self._remember(session.account, result.actions, known),
                     request_id=0)

    def _handle_order(self, session: ShimSession, rec: Any,
                      planned: PlannedAction | None) -> None:
        """One order the platform reports, carried out by its drift's planned action."""
        coid = int(rec["client_order_id"])
        if planned is None:
            if coid and coid in self._book:
                self._hooks.apply_update(session, rec)  # agrees, or its command is in flight
            return  # ours, unknown here, finished without fills: nothing to track
        drift_class, action = planned.drift.drift_class, planned.action
        if drift_class == DriftClass.UNKNOWN_EXTERNAL_ORDER:
            self.external_orders += 1
            if self.on_external is not None:
                self.on_external.order(session, rec)
        elif drift_class == DriftClass.MISSING_LOCALLY:
            if action == Action.ADOPT and not self._hooks.adopt_order(session, rec):
                log.warning("%s: order %d cannot be adopted (instrument %d not defined)",
                            session.name, coid, int(rec["instrument_id"]))
        elif drift_class == DriftClass.STATE_DIFFERS:
            self._state_differs(session, rec, action)
        elif drift_class == DriftClass.QUANTITY_DIFFERS:
            if action == Action.ADOPT:
                self._hooks.adopt_quantity(coid, int(rec["quantity"]))
            self._hooks.apply_update(session, rec)

    def _state_differs(self, session: ShimSession, rec: Any, action: Action) -> None:
        coid = int(rec["client_order_id"])
        if action == Action.ADOPT:
            self._hooks.apply_update(session, rec)
        elif action == Action.MARK_CANCELED and not self._book.order(coid).is_terminal:
            self._hooks.mark_canceled(coid)
        # alert, halt, flatten: the engine's state is kept until a person looks

    # -- reporting and the account-wide actions -------------------------------------------
    def _remember(self, account: str, actions: list[PlannedAction],
                  known: dict[tuple, str]) -> list[PlannedAction]:
        """The actions whose drift is not in ``known`` with the same figures; every one
        is added to the account's memory."""
        memory = self._reported.setdefault(account, {})
        fresh = []
        for planned in actions:
            key, figures = _key(planned.drift), _figures(planned.drift)
            if known.get(key) != figures:
                fresh.append(planned)
            memory[key] = figures
        return fresh

    def _report(self, session: ShimSession, actions: list[PlannedAction],
                request_id: int) -> None:
        if self.on_external is not None and self.on_external.owned(session.account):
            actions = [PlannedAction(Action.ALERT, a.drift)
                       if a.drift.drift_class in _OWNED_DRIFTS else a for a in actions]
        for planned in actions:
            drift = planned.drift
            log.warning("%s: reconciliation: %s %s (%s); policy: %s", session.name,
                        drift.drift_class.value, drift.client_order_id or drift.instrument,
                        drift.note, planned.action.value)
            self._audit("reconcile_drift", shim=session.name, request_id=request_id,
                        **drift_record(drift, planned.action))
        change = trading_state_change(actions)
        if change is None:
            return
        why = "reconciliation: " + ", ".join(sorted(
            {a.drift.drift_class.value.replace("_", " ") for a in actions
             if a.action == change}))
        self._hooks.halt(session.account, why)
        if change == Action.FLATTEN:
            self._hooks.flatten(session.account, why)

    # -- the engine's side ---------------------------------------------------------------
    def _view(self, session: ShimSession, asked_ns: int, fills: Iterable[Any] = ()
              ) -> EngineView:
        """The engine's orders, booked executions and positions in the instruments
        ``session`` trades, for its account. The book keeps an execution id as its 64-bit
        key (ob.exec_id_key), so the booked ones are named by the snapshot's ``fills``
        whose key it holds (compared as text, every fill was a missing_fill)."""
        symbols = {i.symbol for i in session.instruments.values()}
        orders: dict[int, OrderView] = {}
        keys: set[int] = set()
        new: set[int] = set()
        for order in self._book.orders():
            if order.account != session.account or order.instrument not in symbols:
                continue
            coid = int(order.client_order_id)
            orders[coid] = OrderView(coid, order.instrument, order.status.name,
                                     int(order.qty), int(order.filled_qty), order.side.name)
            keys.update(int(f.exec_id) for f in self._book.fills(coid))
            if order.created_ts >= asked_ns:
                new.add(coid)
        executions = {e for e in (_text(f["execution_id"]) for f in fills)
                      if ob.exec_id_key(e) in keys}
        positions = {}
        for symbol in symbols:
            position = self._book.position(session.account, symbol)
            if int(position.net_qty):
                positions[symbol] = PositionView(symbol, int(position.net_qty),
                                                 float(position.avg_entry_price))
        return EngineView(session.account, orders, positions, frozenset(executions),
                          frozenset(new))

    def _latest_orders(self, session: ShimSession, records: Iterable[Any]) -> list[Any]:
        """The last report of each order (as the snapshot keeps it); one the engine cannot
        read (an unknown status or side) goes to the router, which reports it."""
        latest: dict[tuple[int, str], Any] = {}
        for rec in records:
            if not _valid_order(rec):
                self._hooks.apply_update(session, rec)
                continue
            latest[_order_key(int(rec["client_order_id"]), _text(rec["platform_order_id"]))] = rec
        return list(latest.values())


def _valid_order(rec: Any) -> bool:
    return int(rec["status"]) in _STATUSES and int(rec["side"]) in _SIDES


def _valid_fill(rec: Any) -> bool:
    return int(rec["side"]) in _SIDES


def _order_key(coid: int, platform_order_id: str) -> tuple[int, str]:
    # External orders (id 0) are told apart by the platform's own order id.
    return (coid, "" if coid else platform_order_id)


def _stack(records: list[Any], rtype: RecordType) -> np.ndarray:
    return np.array(records, dtype=DTYPES[rtype]) if records else \
        np.empty(0, dtype=DTYPES[rtype])
