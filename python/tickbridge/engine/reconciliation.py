"""Reconciliation: the platform's snapshot against the engine's picture, by policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge.engine.recovery import resync_working
from tickbridge.protocol import OrderStatus, SnapshotPhase
from tickbridge.reconcile.policy import Action, ReconcilePolicy
from tickbridge.risk.reasons import TradingState

if TYPE_CHECKING:
    from tickbridge.engine.orders import OrderRouter
    from tickbridge.engine.session import ShimSession
    from tickbridge.engine.trading_control import TradingControl

log = logging.getLogger("tickbridge.engine")

_STATUS_NAMES = {int(s): s.name for s in OrderStatus}
_FINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}
# Engine states with no command in flight: a snapshot that disagrees with them is drift.
_SETTLED = {"ACKNOWLEDGED", "WORKING", "PARTIALLY_FILLED", *_FINAL}


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class Reconciler:
    def __init__(self, *, router: OrderRouter, trading: TradingControl, risk: Any,
                 policy: ReconcilePolicy, audit: Callable[..., None],
                 confirm: Callable[[ShimSession], None]) -> None:
        self._router = router
        self._trading = trading
        self._risk = risk
        self.policy = policy
        self._audit = audit
        self._confirm = confirm
        # (account, symbol) -> (platform, engine) position difference last reported
        self._position_drift: dict[tuple[str, str], tuple[int, int]] = {}
        self.external_orders = 0

    def on_order_update(self, session: ShimSession, rec: Any) -> bool:
        """An order update during a snapshot: whether the platform's version is taken."""
        if session.snapshot_orders is None:
            return True
        session.snapshot_orders.add(int(rec["client_order_id"]))
        return self._compare_restated(session, rec)

    def on_fill_booked(self, session: ShimSession, rec: Any) -> None:
        if session.snapshot_orders is not None:
            # Restated by a snapshot and never booked: its Fill event was lost.
            self._audit("reconcile_drift", shim=session.name, drift="missing_fill",
                        client_order_id=int(rec["client_order_id"]),
                        execution_id=_text(rec["execution_id"]), action="adopt")

    def on_snapshot_boundary(self, session: ShimSession, rec: Any) -> None:
        if int(rec["request_id"]) != session.snapshot_id:
            return  # an older snapshot's, or one we did not ask for
        if int(rec["phase"]) == int(SnapshotPhase.BEGIN):
            session.snapshot_orders = set()
            return
        seen, session.snapshot_orders = session.snapshot_orders, None
        if seen is None:
            return
        self._missing_at_platform(session, seen)
        self._reconcile_positions(session)
        if self._risk is not None:
            # Orders the snapshot made known (adopted) or finished now count as the gate's
            # working quantities: what it reserves is what is working.
            resync_working(self._risk, self._router.book)
        self._confirm(session)

    def _missing_at_platform(self, session: ShimSession, seen: set[int]) -> None:
        """A live engine order, sent before the snapshot was asked for, that the platform
        does not restate (working or recently finished) cannot be working there."""
        for order in self._router.book.orders():
            coid = int(order.client_order_id)
            route = self._router.route(order.instrument)
            if order.is_terminal or route is None or route[0] is not session:
                continue  # not a live engine order routed to this shim
            if coid in seen or order.created_ts >= session.snapshot_asked_ns:
                continue
            action = self.policy.missing_at_platform
            log.warning("%s does not know order %s (%s at the engine); policy: %s",
                        session.name, coid, order.status.name, action)
            self._audit("reconcile_drift", shim=session.name, client_order_id=coid,
                        drift="missing_at_platform", engine_state=order.status.name,
                        action="marked canceled" if action == Action.MARK_CANCELED
                        else str(action))
            if action == Action.MARK_CANCELED:
                self._router.events.mark_canceled(coid)
            self._drift_action(session, action, "missing at the platform")

    def _compare_restated(self, session: ShimSession, rec: Any) -> bool:
        """An order both sides know, as a snapshot restates it: "state differs" and
        "quantity differs". An engine order with a command in flight is not compared:
        its answer is on the way, and guessing its outcome is what DESIGN forbids."""
        coid = int(rec["client_order_id"])
        status = int(rec["status"])
        book = self._router.book
        if not coid or coid not in book or status not in _STATUS_NAMES:
            return True
        order = book.order(coid)
        if order.status.name not in _SETTLED:
            return True
        theirs = _STATUS_NAMES[status]
        theirs_final = theirs in _FINAL
        # FILLED/PARTIALLY_FILLED move with Fill records, which the snapshot sends next.
        fill_driven = theirs in ("FILLED", "PARTIALLY_FILLED")
        if not fill_driven and (order.is_terminal != theirs_final or (
                theirs_final and order.status.name != theirs)):
            action = self.policy.state_differs
            self._report_drift(session, "state_differs", action, client_order_id=coid,
                               engine=order.status.name, platform=theirs)
            if action == Action.MARK_CANCELED and not order.is_terminal:
                self._router.events.mark_canceled(coid)
            return action == Action.ADOPT
        quantity = int(rec["quantity"])
        if not order.is_terminal and not theirs_final and quantity != int(order.qty):
            action = self.policy.quantity_differs
            self._report_drift(session, "quantity_differs", action, client_order_id=coid,
                               engine=int(order.qty), platform=quantity)
            if action == Action.ADOPT:
                self._router.events.adopt_quantity(coid, quantity)
        return True

    def _report_drift(self, session: ShimSession, drift: str, action: Action,
                      **detail: Any) -> None:
        log.warning("%s: reconciliation: %s %s; policy: %s", session.name, drift,
                    " ".join(f"{k}={v}" for k, v in detail.items()), action)
        self._audit("reconcile_drift", shim=session.name, drift=drift, action=str(action),
                    **detail)
        self._drift_action(session, action, drift.replace("_", " "))

    def _reconcile_positions(self, session: ShimSession) -> None:
        """After a snapshot (its fills booked), the platform's position must equal the
        engine's. A difference is audited and, by policy, halts the account."""
        for symbol, theirs in session.platform_positions.items():
            ours = self._router.position(symbol)
            key = (session.account, symbol)
            if ours == theirs or self._position_drift.get(key) == (theirs, ours):
                if ours == theirs:
                    self._position_drift.pop(key, None)
                continue  # in agreement, or this very difference was reported already
            self._position_drift[key] = (theirs, ours)
            action = self.policy.position_differs
            log.error("%s: %s position %+d at the platform, %+d at the engine; policy: %s",
                      session.name, symbol, theirs, ours, action)
            self._audit("reconcile_drift", shim=session.name, symbol=symbol,
                        drift="position_differs", platform=theirs, engine=ours,
                        action="halted" if action == Action.HALT else str(action))
            self._drift_action(session, action, "position differs")

    def _drift_action(self, session: ShimSession, action: Action, why: str) -> None:
        """The account-wide part of a drift's policy: halt, or the kill switch."""
        if action in (Action.HALT, Action.FLATTEN) and \
                self._trading.state(session.account) != TradingState.HALTED:
            self._trading.set(TradingState.HALTED, session.account,
                              source=f"reconciliation: {why}")
        if action == Action.FLATTEN:
            self._trading.kill(flatten=True, account=session.account,
                               source=f"reconciliation: {why}")

    def on_position(self, session: ShimSession, rec: Any) -> None:
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is None:
            return
        session.platform_positions[instrument.symbol] = int(rec["quantity"])

    def on_external_order(self, session: ShimSession, rec: Any) -> None:
        self.external_orders += 1
        action = self.policy.unknown_external_order
        if action != Action.ALERT:
            self._drift_action(session, action, "unknown external order")
        log.warning("%s reports an order the engine did not make (%s, platform id %s); "
                    "left to reconciliation", session.name,
                    int(rec["client_order_id"]) or "no client order id",
                    _text(rec["platform_order_id"]))
        self._audit("external_order", shim=session.name,
                    platform_order_id=_text(rec["platform_order_id"]),
                    client_order_id=int(rec["client_order_id"]) or None)
        if session.snapshot_orders is not None:  # found by reconciliation: classified
            self._audit("reconcile_drift", shim=session.name, drift="unknown_external_order",
                        platform_order_id=_text(rec["platform_order_id"]), action=str(action))

    def on_external_fill(self, session: ShimSession, rec: Any) -> None:
        log.warning("%s reports fill %s for an order the engine did not make", session.name,
                    _text(rec["execution_id"]))
        self._audit("external_fill", shim=session.name, execution_id=_text(rec["execution_id"]))
