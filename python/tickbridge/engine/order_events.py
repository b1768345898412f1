"""Platform events to the order book: command answers, order updates, fills.

The compiled OrderBook owns every order's state; an update reaches its transition table
through the named pre-filters of update_events.py only, and an event the table refuses
is surfaced (logged and audited), never applied blindly. What happened is published on
the bus (the store, the risk gate, the strategies and reconciliation subscribe).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge import orders as ob
from tickbridge.engine.bus import (
    EventBus,
    ExternalFill,
    ExternalOrder,
    FillBooked,
    FillForStrategy,
    OrderChanged,
    OrderDone,
    TransitionApplied,
)
from tickbridge.engine.events import FillEvent, OrderUpdate
from tickbridge.engine.update_events import update_event
from tickbridge.protocol import OrderStatus, RecordType, RejectReason, Side

if TYPE_CHECKING:
    from tickbridge.engine.session import ShimSession

log = logging.getLogger("tickbridge.engine")

_COMMAND_EVENT_ON_ACK = {
    RecordType.SUBMIT: ob.OrderEvent.SUBMIT_ACKED,
    RecordType.CANCEL: ob.OrderEvent.CANCEL_ACKED,
}
_COMMAND_EVENT_ON_REJECT = {
    RecordType.SUBMIT: ob.OrderEvent.REJECTED,
    RecordType.CANCEL: ob.OrderEvent.CANCEL_REJECTED,
    RecordType.REPLACE: ob.OrderEvent.REPLACE_REJECTED,
}
_COMMANDS = {int(t) for t in RecordType}
_REASONS = {int(r) for r in RejectReason}
_STATUSES = {int(s) for s in OrderStatus}


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class OrderEvents:
    def __init__(self, *, book: Any, owners: dict[int, str], bus: EventBus,
                 audit: Callable[..., None],
                 request_snapshot: Callable[[ShimSession], None]) -> None:
        self.book = book
        self._owners = owners  # client order id -> strategy name (the router's)
        self._bus = bus
        self._audit = audit
        self._request_snapshot = request_snapshot
        # Adopted orders that ended canceled or expired after fills: (event, fills first).
        self._adopted_final: dict[int, tuple[Any, int]] = {}
        self.anomalies: list[str] = []

    def on_command_answer(self, session: ShimSession, rtype: RecordType, rec: Any) -> None:
        pending = session.pending.pop(int(rec["request_id"]), None)
        command = RecordType(int(rec["command_type"])) if rec["command_type"] in _COMMANDS \
            else None
        coid = int(rec["client_order_id"])
        if self._foreign(session, coid, rtype):
            return
        if rtype == RecordType.COMMAND_REJECT:
            reason = RejectReason(int(rec["reason"])) if rec["reason"] in _REASONS else None
            text = _text(rec["text"])
            log.warning("%s rejected %s for order %s: %s (%s)", session.name,
                        command.name if command else rec["command_type"],
                        ob.format_client_order_id(coid) if coid else "-",
                        reason.name if reason else rec["reason"], text)
            self._audit("command_reject", client_order_id=coid or None,
                        command=command.name if command else None,
                        reason=reason.name if reason else int(rec["reason"]), text=text)
            event = _COMMAND_EVENT_ON_REJECT.get(command) if command else None
            if reason == RejectReason.UNKNOWN_ORDER:
                # The platform does not know an order the engine does: a doubt, settled
                # by reconciliation (missing at the platform, or a state that differs).
                self._request_snapshot(session)
        else:
            event = _COMMAND_EVENT_ON_ACK.get(command) if command else None
        if pending is None:
            log.info("%s answered request %d that is not pending (a resend or a late answer)",
                     session.name, int(rec["request_id"]))
        if event is not None and coid and coid in self.book:
            self._apply(coid, event, ts=time.time_ns())

    def on_order_update(self, session: ShimSession, rec: Any) -> None:
        coid = int(rec["client_order_id"])
        status = int(rec["status"])
        if not coid or coid not in self.book:
            self._bus.publish(ExternalOrder(session, rec))  # reconciliation's to classify
            return
        if self._foreign(session, coid, RecordType.ORDER_UPDATE):
            return
        event = update_event(self.book.order(coid), status, int(rec["quantity"]),
                             float(rec["price"]))
        if event is not None:
            self._apply(coid, event, ts=int(rec["time_ns"]))
        self._bus.publish(OrderChanged(self._owners.get(coid), self._order_view(coid, rec)))

    def on_fill(self, session: ShimSession, rec: Any) -> bool:
        """Books a fill; True when it was booked now (not a duplicate, not refused)."""
        coid = int(rec["client_order_id"])
        execution_id = _text(rec["execution_id"])
        if not coid or coid not in self.book:
            self._bus.publish(ExternalFill(session, rec))
            return False
        if self._foreign(session, coid, RecordType.FILL):
            return False
        result = self.book.fill(coid, execution_id, int(rec["quantity"]), float(rec["price"]),
                                ts=int(rec["time_ns"]))
        final = self._adopted_final.get(coid)
        if final is not None and self.book.order(coid).filled_qty >= final[1]:
            del self._adopted_final[coid]
            self._apply(coid, final[0], ts=int(rec["time_ns"]))
        if result.outcome == ob.Outcome.DUPLICATE:
            log.info("fill %s for %s already booked; ignored", execution_id,
                     ob.format_client_order_id(coid))
            return False
        if result.outcome == ob.Outcome.REFUSED:
            self.anomaly(result.reason)
            return False
        if result.outcome == ob.Outcome.OVERFILL:
            self.anomaly(result.reason or f"overfill on {ob.format_client_order_id(coid)}")
        order = self.book.order(coid)
        self._bus.publish(FillBooked(order, rec, execution_id))
        if order.is_terminal:
            self._bus.publish(OrderDone(order))
        position = int(self.book.position(session.account, order.instrument).net_qty)
        self._audit("fill", client_order_id=coid, execution_id=execution_id,
                    quantity=int(rec["quantity"]), price=float(rec["price"]),
                    side=Side(int(rec["side"])).name, position=position)
        self._bus.publish(FillForStrategy(self._owners.get(coid), FillEvent(
            coid, order.instrument, Side(int(rec["side"])), int(rec["quantity"]),
            float(rec["price"]), execution_id, int(rec["time_ns"]), position)))
        return True

    # -- internals -------------------------------------------------------------------
    def _foreign(self, session: ShimSession, coid: int, rtype: RecordType) -> bool:
        """An event about an order of another account than the one this peer speaks for:
        only the account's own shim moves its orders (docs/security.md). Ignored, audited."""
        if not coid or coid not in self.book:
            return False
        account = self.book.order(coid).account
        if account == session.account:
            return False
        log.error("%s sent %s for order %s of account %r; ignored", session.name, rtype.name,
                  ob.format_client_order_id(coid), account)
        self._audit("foreign_order_event", shim=session.name, record=rtype.name,
                    client_order_id=coid, order_account=account)
        return True

    def adopt_quantity(self, coid: int, quantity: int) -> None:
        """Reconciliation's "adopt" of a working quantity the platform reports: recorded
        as a replace the platform confirmed (same price), so the history shows it."""
        order = self.book.order(coid)
        before = order.status.name
        result = self.book.replace_sent(coid, quantity, float(order.price), ts=time.time_ns())
        if result.outcome != ob.Outcome.APPLIED:
            self.anomaly(result.reason)
            return
        self._saved(coid, "REPLACE_SENT", before, time.time_ns())
        self._apply(coid, ob.OrderEvent.REPLACED, ts=time.time_ns())

    def reject(self, coid: int, reason: str) -> None:
        """An order refused after it was booked, before it was sent (the store failed
        while recording it): REJECTED, with the reason audited."""
        self._audit("order_rejected", client_order_id=coid, reason=reason)
        self._apply(coid, ob.OrderEvent.REJECTED, ts=time.time_ns())

    def mark_canceled(self, coid: int) -> None:
        self._apply(coid, ob.OrderEvent.CANCELED, ts=time.time_ns())

    def adopt(self, session: ShimSession, rec: Any) -> bool:
        """Reconciliation's "adopt" of an order with one of the engine's client order ids
        that the engine does not know: it was sent, then the engine died before its record
        was durable (the store writes behind the order path). Taken back from the
        platform's report; its fills follow in the same snapshot and are booked as usual.
        Platform-made ids (the top bit set) are never adopted: they are external orders.
        False when it cannot be (its instrument not defined by the shim)."""
        coid = int(rec["client_order_id"])
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if not coid or coid >> 63 or instrument is None or session.refused:
            return False
        status = OrderStatus(int(rec["status"])) if int(rec["status"]) in _STATUSES else None
        if status is None:
            return False
        price = float(rec["price"]) or math.nan
        stop = float(rec["stop_price"]) or math.nan
        ts = int(rec["time_ns"])
        self.book.new_order(
            session.account, instrument.symbol, ob.Side(int(rec["side"])),
            int(rec["quantity"]), price, order_type=ob.OrderType(int(rec["order_type"])),
            time_in_force=ob.TimeInForce(int(rec["time_in_force"])), stop_price=stop, ts=ts,
            client_order_id=coid)
        self.book.apply(coid, ob.OrderEvent.SUBMIT_SENT, ts=ts)
        self._saved(coid, "SUBMIT_SENT", "NEW_REQUESTED", ts)
        self._audit("order_adopted", client_order_id=coid, symbol=instrument.symbol,
                    status=status.name, quantity=int(rec["quantity"]),
                    filled=int(rec["filled_quantity"]),
                    reason="an engine order missing locally (not durable before a restart)")
        log.warning("%s reports order %s (%s) that this engine sent but has no record of; "
                    "adopted", session.name, ob.format_client_order_id(coid), status.name)
        if status == OrderStatus.REJECTED:
            self._apply(coid, ob.OrderEvent.REJECTED, ts)
            return True
        self._apply(coid, ob.OrderEvent.SUBMIT_ACKED, ts)
        if status != OrderStatus.ACKNOWLEDGED:
            self._apply(coid, ob.OrderEvent.ACCEPTED, ts)
        final = {OrderStatus.CANCELED: ob.OrderEvent.CANCELED,
                 OrderStatus.EXPIRED: ob.OrderEvent.EXPIRED}.get(status)
        if final is not None:
            filled = int(rec["filled_quantity"])
            if filled:  # after its fills, which the snapshot sends next
                self._adopted_final[coid] = (final, filled)
            else:
                self._apply(coid, final, ts)
        return True

    def _apply(self, coid: int, event: Any, ts: int) -> None:
        before = self.book.order(coid).status
        result = self.book.apply(coid, event, ts=ts)
        if result.outcome == ob.Outcome.REFUSED:
            self.anomaly(result.reason)
        elif result.status != before or event == ob.OrderEvent.REPLACED:
            # REPLACED changes the terms even where the state stays (a replace confirmed
            # while a cancel is pending): stored, or a restart restores the old quantity.
            self._audit("transition", client_order_id=coid, event=event.name,
                        from_state=before.name, to_state=result.status.name)
            self._saved(coid, event.name, before.name, ts)
            order = self.book.order(coid)
            if order.is_terminal:
                self._bus.publish(OrderDone(order))

    def anomaly(self, reason: str) -> str:
        self.anomalies.append(reason)
        log.error("order state machine refused an event: %s", reason)
        self._audit("state_machine_refusal", text=reason)
        return reason

    def _saved(self, coid: int, event: str, before: str, ts: int) -> None:
        self._bus.publish(TransitionApplied(coid, event, before, ts))

    def _order_view(self, coid: int, rec: Any) -> OrderUpdate:
        order = self.book.order(coid)
        return OrderUpdate(
            client_order_id=coid, symbol=order.instrument, side=Side(int(order.side)),
            status=OrderStatus(int(order.status)), quantity=int(order.qty),
            filled_quantity=int(order.filled_qty), average_fill_price=order.avg_fill_price,
            price=float(order.price), reason=_text(rec["text"]),
        )


