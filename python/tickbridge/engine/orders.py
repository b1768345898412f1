"""Execution: strategy intents to commands, over the instruments the shims define.

A submit passes the pre-trade checks, is booked in the compiled OrderBook (tickbridge.
orders) and sent; cancel, replace and flatten likewise. What the platforms answer is
order_events.py's; armed orders (sent from the compiled tick path) are armed.py's.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge import orders as ob
from tickbridge.engine.account_routes import AccountRoutes
from tickbridge.engine.armed import ArmedOrders
from tickbridge.engine.bus import EventBus, OrderRefused, TransitionApplied
from tickbridge.engine.order_checks import on_grid
from tickbridge.engine.order_events import OrderEvents
from tickbridge.engine.replace_working import ReplaceWorking
from tickbridge.protocol import DTYPES, OrderType, RecordType, Side, TimeInForce, pack_record

if TYPE_CHECKING:
    from tickbridge.engine.outbound import Outbound
    from tickbridge.engine.session import Instrument, ShimSession

# (session, instrument, side, quantity, order type, price, stop price) -> RiskDecision
PreTradeCheck = Callable[..., Any]

log = logging.getLogger("tickbridge.engine")


class OrderRouter:
    """Strategy intents to commands. It decides nothing about an order's state itself:
    the compiled transition table does, and what happened goes out on the bus."""

    def __init__(self, *, core: Any, outbound: Outbound, pre_trade: PreTradeCheck,
                 bus: EventBus, audit: Callable[..., None], risk: Any = None,
                 epoch: int | None = None) -> None:
        self._core = core
        self._outbound = outbound
        self._pre_trade = pre_trade
        self._bus = bus
        self._audit = audit
        # High 32 bits of every client order id: new at every start, so ids never repeat
        # (a replay passes the captured run's, so it makes the same ids).
        self.epoch = (int(time.time()) if epoch is None else epoch) & 0xFFFFFFFF
        self.book = ob.OrderBook(session_epoch=self.epoch)
        self._routes: dict[str, tuple[ShimSession, Instrument]] = {}
        self.accounts = AccountRoutes()  # (account, symbol) -> session: orders for an account
        self._owner: dict[int, str] = {}  # client order id -> strategy name
        self.armed = ArmedOrders(router=self, core=core, risk=risk, bus=bus, audit=audit,
                                 session_by_slot=outbound.session_by_slot)
        self.events = OrderEvents(book=self.book, owners=self._owner, bus=bus, audit=audit,
                                  request_snapshot=outbound.request_snapshot)
        self.replace_working = ReplaceWorking(self.book, bus)
        self.store_failed: Callable[[], bool] = lambda: False  # the coordinator's
        self.refusals = 0

    # -- instruments -------------------------------------------------------------
    def define(self, session: ShimSession, instrument: Instrument) -> None:
        self.book.register_instrument(instrument.symbol, instrument.point_value,
                                      instrument.tick_size)
        self._routes[instrument.symbol] = (session, instrument)
        self.accounts.define(session, instrument)

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
        return self._core.state(self.instrument(symbol).slot)

    # -- intents -------------------------------------------------------------------
    def submit(self, *, strategy: str, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float,
               tif: TimeInForce, account: str | None = None) -> int | str:
        """The client order id, or the reason the order was refused. ``account``: sent
        through that account's own session (the copier's followers); None: the session
        that trades ``symbol``."""
        route = self._routes.get(symbol) if account is None else \
            self.accounts.route(account, symbol)
        if route is None:
            return self.refuse(strategy, symbol, "UNKNOWN_INSTRUMENT",
                                f"unknown instrument {symbol!r}")
        session, instrument = route
        decision = self._pre_trade(session, instrument, side, quantity, order_type, price,
                                   stop_price)
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
        self._bus.publish(TransitionApplied(coid, "SUBMIT_SENT", "NEW_REQUESTED", now))
        if self.store_failed():
            # Writing the order's record found the store failed (the policy has halted
            # trading): nothing leaves without its record (defect 6).
            self.events.reject(coid, "STORE_FAILED")
            return self.refuse(strategy, symbol, "STORE_FAILED", "the state store failed "
                               "while recording the order; not sent (trading halted)")
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
            return self.events.anomaly(result.reason)
        self._bus.publish(TransitionApplied(coid, "CANCEL_SENT", before, time.time_ns()))
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
        if self.store_failed():
            # New terms the store cannot record: after the restart the order would come
            # back at its old ones, and the platform's fill-driven answers never say
            # otherwise (seed 3520). A cancel still goes out.
            return self.refuse(self._owner.get(coid, ""), instrument.symbol, "STORE_FAILED",
                               "the state store has failed: no replace until a restart")
        # Risk-checked like a new order when it grows the working quantity (defect 5 of
        # docs/simulation-testing.md: an unchecked replace passed the position limit).
        decision = self._pre_trade.replace(session, instrument, order, new_qty, new_price)
        if not decision.ok:
            return self.refuse(self._owner.get(coid, ""), instrument.symbol, decision.code,
                               decision.message)
        before = order.status.name
        result = self.book.replace_sent(coid, new_qty, new_price, ts=time.time_ns())
        if result.outcome != ob.Outcome.APPLIED:
            return self.events.anomaly(result.reason)
        self._bus.publish(TransitionApplied(coid, "REPLACE_SENT", before, time.time_ns()))
        self.replace_working.sent(coid)
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
    def _live_order(self, coid: int) -> tuple[Any, Any, Any]:
        if coid not in self.book:
            return f"unknown order {ob.format_client_order_id(coid)}", None, None
        order = self.book.order(coid)
        if order.is_terminal:
            return (f"order {ob.format_client_order_id(coid)} is {order.status.name}",
                    None, None)
        route = self.accounts.route(order.account, order.instrument)
        if route is None:  # restored from the store, its shim not back yet
            return (f"order {ob.format_client_order_id(coid)}: no shim trades "
                    f"{order.instrument} now", None, None)
        session, instrument = route
        return order, session, instrument

    def _send(self, session: ShimSession, command: RecordType, coid: int,
              instrument_id: int, **fields: Any) -> int:
        request_id = self._core.take_request_id()  # shared with the tick path
        record = pack_record(command, request_id=request_id, instrument_id=instrument_id,
                             **({"client_order_id": coid} if "client_order_id"
                                in _FIELDS[command] else {}), **fields)
        self._outbound.send_command(session, command, request_id, coid, record)
        return request_id

    def refuse(self, strategy: str, symbol: str, code: str, text: str) -> str:
        """An order refused before it left the engine: counted, logged and audited."""
        self.refusals += 1
        log.warning("order refused for %s on %s: %s", strategy, symbol, text)
        self._audit("risk_refusal", strategy=strategy, symbol=symbol, reason=code, text=text)
        self._bus.publish(OrderRefused(strategy, symbol, code, text, time.time_ns()))
        return text


_FIELDS = {t: set(d.names) for t, d in DTYPES.items()}
