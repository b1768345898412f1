"""Intents to commands, and platform events to the order state machine.

The compiled OrderBook (tickbridge.orders) owns every order's state; this module only
translates: strategy intents become Submit/Cancel/Replace/Flatten commands after the
pre-trade checks, and the shims' acks, rejects, order updates and fills become state
machine events. An event the transition table refuses is surfaced (logged and audited),
never applied blindly.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge import orders as ob
from tickbridge.engine.armed import ArmedOrders, ArmSpec
from tickbridge.engine.order_checks import on_grid
from tickbridge.protocol import (
    DTYPES,
    OrderStatus,
    OrderType,
    RecordType,
    RejectReason,
    Side,
    TimeInForce,
    pack_record,
)

if TYPE_CHECKING:
    from tickbridge.engine.engine import Engine
    from tickbridge.engine.session import Instrument, ShimSession

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
# The platform's view of an order, as state machine events. PARTIALLY_FILLED and FILLED
# updates carry no event: quantities and positions move on Fill records only.
_STATUS_EVENT = {
    OrderStatus.ACKNOWLEDGED: ob.OrderEvent.SUBMIT_ACKED,
    OrderStatus.WORKING: ob.OrderEvent.ACCEPTED,
    OrderStatus.CANCELED: ob.OrderEvent.CANCELED,
    OrderStatus.REJECTED: ob.OrderEvent.REJECTED,
    OrderStatus.EXPIRED: ob.OrderEvent.EXPIRED,
}


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class OrderRouter:
    def __init__(self, engine: Engine, audit: Callable[..., None],
                 epoch: int | None = None) -> None:
        self._engine = engine
        self._audit = audit
        # High 32 bits of every client order id: new at every start, so ids never repeat
        # (a replay passes the captured run's, so it makes the same ids).
        self.epoch = (int(time.time()) if epoch is None else epoch) & 0xFFFFFFFF
        self.book = ob.OrderBook(session_epoch=self.epoch)
        self._routes: dict[str, tuple[ShimSession, Instrument]] = {}
        self.armed = ArmedOrders(engine)
        self._owner: dict[int, str] = {}  # client order id -> strategy name
        # Adopted orders that ended canceled or expired after fills: (event, fills first).
        self._adopted_final: dict[int, tuple[Any, int]] = {}
        self.refusals = 0
        self.anomalies: list[str] = []

    # -- instruments -------------------------------------------------------------
    def define(self, session: ShimSession, instrument: Instrument) -> None:
        self.book.register_instrument(instrument.symbol, instrument.point_value,
                                      instrument.tick_size)
        self._routes[instrument.symbol] = (session, instrument)

    def instrument(self, symbol: str) -> Instrument:
        route = self._routes.get(symbol)
        if route is None:
            known = ", ".join(sorted(self._routes)) or "none yet"
            raise KeyError(f"unknown instrument {symbol!r} (defined by the shims: {known})")
        return route[1]

    def symbols(self) -> list[str]:
        return sorted(self._routes)

    def route(self, symbol: str) -> tuple[ShimSession, Instrument] | None:
        """The shim session that trades ``symbol`` and its instrument, or None."""
        return self._routes.get(symbol)

    def own(self, coid: int, strategy: str) -> None:
        """``strategy`` placed order ``coid`` (its updates and fills go to it)."""
        self._owner[coid] = strategy

    # -- state for strategies ------------------------------------------------------
    def position(self, symbol: str) -> int:
        session, _ = self._routes[symbol]
        return int(self.book.position(session.account, symbol).net_qty)

    def pnl(self, symbol: str) -> tuple[float, float]:
        """(realized, unrealized at the last trade) in currency."""
        session, _ = self._routes[symbol]
        position = self.book.position(session.account, symbol)
        mark = self.market(symbol)["last_price"]
        unrealized = 0.0 if math.isnan(mark) else float(
            self.book.unrealized_pnl(session.account, symbol, mark))
        return float(position.realized_pnl), unrealized

    def working_orders(self, symbol: str | None = None) -> list[int]:
        return [o.client_order_id for o in self.book.orders()
                if not o.is_terminal and (symbol is None or o.instrument == symbol)]

    def working_orders_of(self, strategy: str, symbol: str | None = None) -> list[int]:
        """Working orders placed under ``strategy`` (the source a control submit gave)."""
        return [coid for coid in self.working_orders(symbol)
                if self._owner.get(coid) == strategy]

    def market(self, symbol: str) -> dict[str, float]:
        return self._engine.core.state(self.instrument(symbol).slot)

    def add_trigger(self, symbol: str, level: float, above: bool) -> int:
        return self._engine.core.add_trigger(self.instrument(symbol).slot, level, above)

    def clear_triggers(self, symbol: str) -> None:
        self._engine.core.clear_triggers(self.instrument(symbol).slot)
        self.armed.forget_symbol(symbol)

    def arm(self, spec: ArmSpec) -> int | str:
        result = self.armed.arm(spec)
        if isinstance(result, str):
            self.refuse(spec.strategy, spec.symbol, "NOT_ARMED", result)
        return result

    # -- intents -------------------------------------------------------------------
    def submit(self, *, strategy: str, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float,
               tif: TimeInForce) -> int | str:
        """The client order id, or the reason the order was refused."""
        route = self._routes.get(symbol)
        if route is None:
            return self.refuse(strategy, symbol, "UNKNOWN_INSTRUMENT",
                                f"unknown instrument {symbol!r}")
        session, instrument = route
        decision = self._engine.pre_trade_check(session, instrument, side, quantity,
                                                order_type, price, stop_price)
        if not decision.ok:
            return self.refuse(strategy, symbol, decision.code, decision.message)
        price = decision.price
        now = time.time_ns()
        order = self.book.new_order(
            session.account, symbol, ob.Side(int(side)), int(quantity), price,
            order_type=ob.OrderType(int(order_type)), time_in_force=ob.TimeInForce(int(tif)),
            stop_price=stop_price, ts=now,
        )
        coid = int(order.client_order_id)
        self._owner[coid] = strategy
        self.book.apply(coid, ob.OrderEvent.SUBMIT_SENT, ts=now)
        self._engine.persist_transition(coid, "SUBMIT_SENT", "NEW_REQUESTED", now)
        self._audit("order_submit", client_order_id=coid, strategy=strategy, symbol=symbol,
                    side=side.name, quantity=quantity, order_type=order_type.name,
                    price=None if math.isnan(price) else price,
                    stop_price=None if math.isnan(stop_price) else stop_price)
        self._send(session, RecordType.SUBMIT, coid, instrument.instrument_id,
                   price=0.0 if math.isnan(price) else price,
                   stop_price=0.0 if math.isnan(stop_price) else stop_price,
                   quantity=quantity, side=int(side), order_type=int(order_type),
                   time_in_force=int(tif))
        return coid

    def cancel(self, coid: int) -> str | None:
        order, session, instrument = self._live_order(coid)
        if isinstance(order, str):
            return order
        before = order.status.name
        result = self.book.apply(coid, ob.OrderEvent.CANCEL_SENT, ts=time.time_ns())
        if result.outcome != ob.Outcome.APPLIED:
            return self._anomaly(result.reason)
        self._engine.persist_transition(coid, "CANCEL_SENT", before, time.time_ns())
        self._audit("order_cancel", client_order_id=coid)
        self._send(session, RecordType.CANCEL, coid, instrument.instrument_id)
        return None

    def replace(self, coid: int, quantity: int | None, price: float | None) -> str | None:
        order, session, instrument = self._live_order(coid)
        if isinstance(order, str):
            return order
        new_qty = int(order.qty if quantity is None else quantity)
        new_price = float(order.price if price is None else price)
        if price is not None and not on_grid(new_price, instrument.tick_size):
            return f"price {new_price} is not on the {instrument.symbol} tick grid " \
                   f"({instrument.tick_size})"
        before = order.status.name
        result = self.book.replace_sent(coid, new_qty, new_price, ts=time.time_ns())
        if result.outcome != ob.Outcome.APPLIED:
            return self._anomaly(result.reason)
        self._engine.persist_transition(coid, "REPLACE_SENT", before, time.time_ns())
        self._audit("order_replace", client_order_id=coid, quantity=new_qty, price=new_price)
        is_stop = order.order_type in (ob.OrderType.STOP, ob.OrderType.STOP_LIMIT)
        self._send(session, RecordType.REPLACE, coid, instrument.instrument_id,
                   price=0.0 if order.order_type == ob.OrderType.STOP else new_price,
                   stop_price=new_price if is_stop else 0.0, quantity=new_qty)
        return None

    def flatten(self, symbol: str | None) -> str | None:
        targets = ([self._routes[symbol]] if symbol else list(self._routes.values()))
        if symbol and symbol not in self._routes:
            return f"unknown instrument {symbol!r}"
        sessions = {id(s): (s, i) for s, i in targets}
        for session, instrument in sessions.values():
            self._audit("flatten", symbol=symbol, shim=session.name)
            self._send(session, RecordType.FLATTEN, 0, instrument.instrument_id if symbol else 0)
        return None

    def cancel_all(self, session: ShimSession) -> int:
        return self._send(session, RecordType.CANCEL_ALL, 0, 0)

    def flatten_session(self, session: ShimSession) -> int:
        return self._send(session, RecordType.FLATTEN, 0, 0)

    # -- platform events -------------------------------------------------------------
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
                self._engine.request_snapshot(session)
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
            if not self._adopt(session, rec):
                self._engine.on_external_order(session, rec)
            return
        if self._foreign(session, coid, RecordType.ORDER_UPDATE):
            return
        order = self.book.order(coid)
        event = _STATUS_EVENT.get(OrderStatus(status)) if status in _STATUSES else None
        if status == int(order.status) and not order.replace_pending:
            event = None  # what we already know (a snapshot, a repeated update)
        if event == ob.OrderEvent.ACCEPTED and order.replace_pending:
            event = ob.OrderEvent.REPLACED  # a modify confirmed: same logical order
        if event == ob.OrderEvent.SUBMIT_ACKED and order.status != ob.OrderStatus.SUBMITTED:
            event = None  # the platform's ack after the command ack: nothing new
        if event == ob.OrderEvent.ACCEPTED and order.status == ob.OrderStatus.WORKING:
            event = None  # a repeated working update (e.g. the answer to a retried submit)
        if event is not None:
            self._apply(coid, event, ts=int(rec["time_ns"]))
        self._engine.notify_order(self._owner.get(coid), self._order_view(coid, rec))

    def on_fill(self, session: ShimSession, rec: Any) -> bool:
        """Books a fill; True when it was booked now (not a duplicate, not refused)."""
        coid = int(rec["client_order_id"])
        execution_id = _text(rec["execution_id"])
        if not coid or coid not in self.book:
            self._engine.on_external_fill(session, rec)
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
            self._anomaly(result.reason)
            return False
        if result.outcome == ob.Outcome.OVERFILL:
            self._anomaly(result.reason or f"overfill on {ob.format_client_order_id(coid)}")
        order = self.book.order(coid)
        self._engine.on_fill_booked(order, rec, execution_id)
        if order.is_terminal:
            self._engine.on_order_done(order)
        position = int(self.book.position(session.account, order.instrument).net_qty)
        self._audit("fill", client_order_id=coid, execution_id=execution_id,
                    quantity=int(rec["quantity"]), price=float(rec["price"]),
                    side=Side(int(rec["side"])).name, position=position)
        self._engine.notify_fill(self._owner.get(coid), coid, order.instrument, rec, position)
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

    def live_orders_of(self, session: ShimSession) -> list[int]:
        """The engine's non-final orders routed to ``session``."""
        return [int(o.client_order_id) for o in self.book.orders()
                if not o.is_terminal and o.instrument in self._routes
                and self._routes[o.instrument][0] is session]

    def adopt_quantity(self, coid: int, quantity: int) -> None:
        """Reconciliation's "adopt" of a working quantity the platform reports: recorded
        as a replace the platform confirmed (same price), so the history shows it."""
        order = self.book.order(coid)
        before = order.status.name
        result = self.book.replace_sent(coid, quantity, float(order.price), ts=time.time_ns())
        if result.outcome != ob.Outcome.APPLIED:
            self._anomaly(result.reason)
            return
        self._engine.persist_transition(coid, "REPLACE_SENT", before, time.time_ns())
        self._apply(coid, ob.OrderEvent.REPLACED, ts=time.time_ns())

    def mark_canceled(self, coid: int) -> None:
        self._apply(coid, ob.OrderEvent.CANCELED, ts=time.time_ns())

    def _adopt(self, session: ShimSession, rec: Any) -> bool:
        """An order with one of the engine's client order ids that the engine does not
        know: it was sent, then the engine died before its record was durable (the store
        writes behind the order path). Taken back from the platform's report; its fills
        follow in the same snapshot and are booked as usual. Platform-made ids (the top
        bit set) are never adopted: they are external orders."""
        coid = int(rec["client_order_id"])
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if not coid or coid >> 63 or instrument is None or session.refused:
            return False
        if self._engine.policy.missing_locally != "adopt":
            return False  # alert: left to the operator, reported as an external order
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
        self._engine.persist_transition(coid, "SUBMIT_SENT", "NEW_REQUESTED", ts)
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
            self._anomaly(result.reason)
        elif result.status != before:
            self._audit("transition", client_order_id=coid, event=event.name,
                        from_state=before.name, to_state=result.status.name)
            self._engine.persist_transition(coid, event.name, before.name, ts)
            order = self.book.order(coid)
            if order.is_terminal:
                self._engine.on_order_done(order)

    def _live_order(self, coid: int) -> tuple[Any, Any, Any]:
        if coid not in self.book:
            return f"unknown order {ob.format_client_order_id(coid)}", None, None
        order = self.book.order(coid)
        if order.is_terminal:
            return (f"order {ob.format_client_order_id(coid)} is {order.status.name}",
                    None, None)
        session, instrument = self._routes[order.instrument]
        return order, session, instrument

    def _send(self, session: ShimSession, command: RecordType, coid: int,
              instrument_id: int, **fields: Any) -> int:
        request_id = self._engine.core.take_request_id()  # shared with the tick path
        record = pack_record(command, request_id=request_id, instrument_id=instrument_id,
                             **({"client_order_id": coid} if "client_order_id"
                                in _FIELDS[command] else {}), **fields)
        self._engine.send_command(session, command, request_id, coid, record)
        return request_id

    def refuse(self, strategy: str, symbol: str, code: str, text: str) -> str:
        """An order refused before it left the engine: counted, logged and audited."""
        self.refusals += 1
        log.warning("order refused for %s on %s: %s", strategy, symbol, text)
        self._audit("risk_refusal", strategy=strategy, symbol=symbol, reason=code, text=text)
        return text

    def _anomaly(self, reason: str) -> str:
        self.anomalies.append(reason)
        log.error("order state machine refused an event: %s", reason)
        self._audit("state_machine_refusal", text=reason)
        return reason

    def _order_view(self, coid: int, rec: Any) -> Any:
        from tickbridge.engine.events import OrderUpdate

        order = self.book.order(coid)
        return OrderUpdate(
            client_order_id=coid, symbol=order.instrument, side=Side(int(order.side)),
            status=OrderStatus(int(order.status)), quantity=int(order.qty),
            filled_quantity=int(order.filled_qty), average_fill_price=order.avg_fill_price,
            price=float(order.price), reason=_text(rec["text"]),
        )


_COMMANDS = {int(t) for t in RecordType}
_REASONS = {int(r) for r in RejectReason}
_STATUSES = {int(s) for s in OrderStatus}
_FIELDS = {t: set(d.names) for t, d in DTYPES.items()}
