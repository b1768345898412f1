"""The simulator's matching engine: pure logic, no sockets, no clock of its own.

Time is simulated market time (the tape's ``time_ns``): every call carries ``now``. A
command takes effect ``latency_ns`` after it is made, and the tape keeps trading in
between, which is how a cancel loses the race to a fill, as on a real exchange.

Fill model (see docs/simulator.md for its limits):
- market orders, marketable limits and triggered stops take the touch (the ask for a
  buy) for their whole quantity: no depth walk, no slippage beyond the touch;
- a resting limit fills by traded volume at its price, after the queue ahead of it (the
  displayed size at that price when it joined) has traded; a trade through the price, or
  the opposite quote reaching it, fills what is left at the limit price;
- stops trigger on a trade at or through the stop price.

Answers are ``Event`` objects (Ack, Reject, Update, Execution) in the order a platform
reports them; ``platform.py`` turns them into protocol records.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tickbridge.protocol import (
    OrderStatus,
    OrderType,
    RecordType,
    RejectReason,
    Side,
    TimeInForce,
)

SessionOpen = Callable[[int], bool]

FINISHED = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


def always_open(_time_ns: int) -> bool:
    return True


def on_tick(price: float, tick_size: float) -> bool:
    """True when price is a whole number of ticks, within 1e-9 relative (floats such as
    6012.75 are exact, but 0.1-tick contracts are not)."""
    ticks = price / tick_size
    return math.isclose(ticks, round(ticks), rel_tol=1e-9, abs_tol=1e-9)


@dataclass
class Order:
    client_order_id: int
    instrument_id: int
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price: float
    stop_price: float
    platform_order_id: str
    status: OrderStatus = OrderStatus.ACKNOWLEDGED
    filled_quantity: int = 0
    average_fill_price: float = 0.0
    live: bool = False  # reached the simulated exchange (after the latency)
    triggered: bool = False  # stop orders: the stop price has traded
    queue_ahead: float = 0.0  # contracts at our price that must trade before us
    finished_ns: int | None = None

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_buy(self) -> bool:
        return self.side == Side.BUY


@dataclass(frozen=True)
class Ack:
    request_id: int
    client_order_id: int
    command_type: RecordType
    instrument_id: int = 0


@dataclass(frozen=True)
class Reject:
    request_id: int
    client_order_id: int
    command_type: RecordType
    reason: RejectReason
    text: str
    instrument_id: int = 0


@dataclass(frozen=True)
class Update:
    """The order as the platform sees it at ``time_ns`` (a copy, not the live object)."""

    order: Order
    time_ns: int
    text: str = ""


@dataclass(frozen=True)
class Execution:
    order: Order  # a copy after the fill
    time_ns: int
    price: float
    quantity: int
    execution_id: str


Event = Ack | Reject | Update | Execution


@dataclass
class _Quote:
    bid: float
    ask: float
    bid_size: int
    ask_size: int


@dataclass(order=True)
class _Due:
    time_ns: int
    seq: int
    action: Callable[[int], list[Event]] = field(compare=False)


class MatchingEngine:
    """Orders of one account on several instruments, matched against a tape."""

    def __init__(
        self,
        tick_sizes: dict[int, float],
        *,
        latency_ns: int = 0,
        is_open: SessionOpen = always_open,
        execution_prefix: str = "X",
        first_platform_order_id: int = 100001,
        queue_front: bool = False,
    ) -> None:
        self.tick_sizes = dict(tick_sizes)
        # True: a resting order joins at the front of its price level (an optimistic model,
        # and the quick way to see partial fills); False: behind the displayed size.
        self.queue_front = queue_front
        self.latency_ns = int(latency_ns)
        self.is_open = is_open
        self.orders: dict[int, Order] = {}
        self._active: dict[int, dict[int, Order]] = {iid: {} for iid in self.tick_sizes}
        self._quotes: dict[int, _Quote] = {}
        self.last_trade: dict[int, float] = {}
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._exec_ids = itertools.count(1)
        self._order_ids = itertools.count(first_platform_order_id)
        self._exec_prefix = execution_prefix

    # ---- queries -------------------------------------------------------------------
    def has_active(self, instrument_id: int | None = None) -> bool:
        if instrument_id is None:
            return any(self._active.values()) or bool(self._due)
        return bool(self._active.get(instrument_id)) or bool(self._due)

    def working_orders(self) -> list[Order]:
        return [o for orders in self._active.values() for o in orders.values()]

    # ---- commands ------------------------------------------------------------------
    def submit(
        self,
        *,
        request_id: int,
        client_order_id: int,
        instrument_id: int,
        side: int,
        order_type: int,
        time_in_force: int,
        quantity: int,
        price: float,
        stop_price: float,
        now: int,
    ) -> list[Event]:
        kind = RecordType.SUBMIT

        def refuse(reason: RejectReason, text: str) -> list[Event]:
            return [Reject(request_id, client_order_id, kind, reason, text, instrument_id)]

        existing = self.orders.get(client_order_id)
        if existing is not None:
            # A retried submit (DESIGN: the client order id "makes a retried submit a
            # no-op"): acknowledge again and restate the order, change nothing.
            return [
                Ack(request_id, client_order_id, kind, instrument_id),
                Update(replace(existing), now, "duplicate submit: order already exists"),
            ]
        tick = self.tick_sizes.get(instrument_id)
        if tick is None:
            return refuse(RejectReason.UNKNOWN_INSTRUMENT, f"instrument {instrument_id} unknown")
        if quantity <= 0:
            return refuse(RejectReason.INVALID_QUANTITY, f"quantity {quantity} must be > 0")
        try:
            side_, type_, tif = Side(side), OrderType(order_type), TimeInForce(time_in_force)
        except ValueError as exc:
            return refuse(RejectReason.MALFORMED, str(exc)[:64])
        if type_ in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not _valid_price(price, tick):
            return refuse(RejectReason.OFF_TICK_PRICE, f"price {price} not a multiple of {tick}")
        if type_ in (OrderType.STOP, OrderType.STOP_LIMIT) and not _valid_price(stop_price, tick):
            return refuse(
                RejectReason.OFF_TICK_PRICE, f"stop {stop_price} not a multiple of {tick}"
            )
        if not self.is_open(now):
            return refuse(RejectReason.SESSION_CLOSED, "session closed")
        order = Order(
            client_order_id, instrument_id, side_, type_, tif, int(quantity),
            float(price), float(stop_price), str(next(self._order_ids)),
        )
        self.orders[client_order_id] = order
        self._active[instrument_id][client_order_id] = order
        events: list[Event] = [Ack(request_id, client_order_id, kind, instrument_id),
                               Update(replace(order), now)]
        self._schedule(now, lambda t: self._activate(order, t))
        return events + self.advance(now)

    def cancel(self, *, request_id: int | None, client_order_id: int, now: int) -> list[Event]:
        """``request_id`` None: an internal cancel (cancel-all, kill, engine silence) that
        answers with order updates only."""
        kind = RecordType.CANCEL
        order = self.orders.get(client_order_id)
        if order is None:
            return self._reject(request_id, client_order_id, kind, RejectReason.UNKNOWN_ORDER,
                                f"no order with client_order_id {client_order_id}")
        if order.finished:
            return self._reject(request_id, client_order_id, kind,
                                RejectReason.TOO_LATE_TO_CANCEL, _finished_text(order))
        order.status = OrderStatus.PENDING_CANCEL
        events: list[Event] = [Update(replace(order), now)]
        self._schedule(now, lambda t: self._apply_cancel(order, request_id, t))
        return events + self.advance(now)

    def replace(
        self,
        *,
        request_id: int,
        client_order_id: int,
        price: float,
        stop_price: float,
        quantity: int,
        now: int,
    ) -> list[Event]:
        """A platform-native modify of the same order. A price of 0.0 keeps the current
        one (Replace carries both prices; an order uses one or two of them)."""
        kind = RecordType.REPLACE
        order = self.orders.get(client_order_id)
        if order is None:
            return self._reject(request_id, client_order_id, kind, RejectReason.UNKNOWN_ORDER,
                                f"no order with client_order_id {client_order_id}")
        tick = self.tick_sizes[order.instrument_id]
        working = (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED)
        if not order.live or order.status not in working:
            return self._reject(request_id, client_order_id, kind,
                                RejectReason.PLATFORM_REJECTED,
                                f"order not working (status {order.status.name})")
        if quantity <= order.filled_quantity:
            return self._reject(request_id, client_order_id, kind,
                                RejectReason.INVALID_QUANTITY,
                                f"quantity {quantity} <= filled {order.filled_quantity}")
        for value in (price, stop_price):
            if value and not _valid_price(value, tick):
                return self._reject(request_id, client_order_id, kind,
                                    RejectReason.OFF_TICK_PRICE,
                                    f"price {value} not a multiple of {tick}")
        order.status = OrderStatus.PENDING_REPLACE
        events: list[Event] = [Update(replace(order), now)]
        self._schedule(now, lambda t: self._apply_replace(
            order, request_id, float(price), float(stop_price), int(quantity), t))
        return events + self.advance(now)

    def cancel_all(self, instrument_id: int, now: int,
                   which: Callable[[int], bool] = lambda coid: True) -> list[Event]:
        """Internal cancels of every live order (instrument_id 0: all instruments) whose
        client order id ``which`` takes."""
        events: list[Event] = []
        for order in self.working_orders():
            if instrument_id in (0, order.instrument_id) and which(order.client_order_id) \
                    and order.status != OrderStatus.PENDING_CANCEL:
                events += self.cancel(request_id=None, client_order_id=order.client_order_id,
                                      now=now)
        return events

    def restore(self, orders: list[Order], now: int) -> None:
        """Orders saved by a previous run of the simulator (persist.py). Commands that
        were in flight died with that process: a pending cancel is taken as done (the
        order is CANCELED), a pending replace as not done, an order not yet at the
        exchange as arrived. A snapshot then tells the engine."""
        for order in orders:
            self.orders[order.client_order_id] = order
            if order.finished:
                continue
            if order.status == OrderStatus.PENDING_CANCEL:
                order.status = OrderStatus.CANCELED
                order.finished_ns = now
                continue
            if order.status in (OrderStatus.PENDING_REPLACE, OrderStatus.ACKNOWLEDGED):
                order.status = (OrderStatus.PARTIALLY_FILLED if order.filled_quantity
                                else OrderStatus.WORKING)
            order.live = True
            self._active[order.instrument_id][order.client_order_id] = order
        numbers = [int(o.platform_order_id) for o in orders if o.platform_order_id.isdigit()]
        if numbers:
            self._order_ids = itertools.count(max(numbers) + 1)

    # ---- market data ---------------------------------------------------------------
    def set_market(self, instrument_id: int, bid: float, ask: float, bid_size: int,
                   ask_size: int, last_trade: float) -> None:
        """The market state after ticks replayed with no order to match (the replay skips
        per-tick matching then): a later order joins the current quote, not a stale one."""
        self._quotes[instrument_id] = _Quote(bid, ask, bid_size, ask_size)
        self.last_trade[instrument_id] = last_trade

    def advance(self, now: int) -> list[Event]:
        """Applies every command whose latency has elapsed by ``now``, and expires DAY
        orders when the session has closed."""
        events: list[Event] = []
        while self._due and self._due[0].time_ns <= now:
            due = heapq.heappop(self._due)
            events += due.action(due.time_ns)
        if self.is_open is not always_open and not self.is_open(now):
            for order in self.working_orders():
                if order.time_in_force == TimeInForce.DAY and order.live:
                    events += self._finish(order, OrderStatus.EXPIRED, now, "session closed")
        return events

    def on_quote(
        self, instrument_id: int, now: int, bid: float, ask: float, bid_size: int, ask_size: int
    ) -> list[Event]:
        events = self.advance(now) if self._due else []
        self._quotes[instrument_id] = _Quote(bid, ask, bid_size, ask_size)
        for order in list(self._active.get(instrument_id, {}).values()):
            if not order.live:
                continue
            if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
                continue
            if order.order_type in (OrderType.MARKET, OrderType.STOP):
                events += self._take(order, now)  # was waiting for a first quote
                continue
            touch = bid if order.is_buy else ask
            opposite = ask if order.is_buy else bid
            if (opposite <= order.price) if order.is_buy else (opposite >= order.price):
                # The other side reached our price: we would have been hit, at our price.
                events += self._fill(order, order.price, order.remaining, now)
            elif touch == order.price:
                # The displayed size caps the queue: orders ahead of us were canceled.
                shown = bid_size if order.is_buy else ask_size
                order.queue_ahead = min(order.queue_ahead, shown)
        return events

    def on_trade(
        self, instrument_id: int, now: int, price: float, size: int, aggressor: int
    ) -> list[Event]:
        events = self.advance(now) if self._due else []
        self.last_trade[instrument_id] = price
        for order in list(self._active.get(instrument_id, {}).values()):
            if not order.live or order.finished:
                continue
            if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
                through = price >= order.stop_price if order.is_buy else price <= order.stop_price
                if through:
                    events += self._trigger(order, now)
                continue
            if order.order_type == OrderType.MARKET or order.order_type == OrderType.STOP:
                continue  # waits for a quote (see on_quote)
            if (price < order.price) if order.is_buy else (price > order.price):
                events += self._fill(order, order.price, order.remaining, now)  # traded through
            elif price == order.price and aggressor != (1 if order.is_buy else 2):
                # Volume at our price goes to the queue ahead first, then to us.
                left = size - order.queue_ahead
                order.queue_ahead = max(0.0, order.queue_ahead - size)
                if left > 0:
                    events += self._fill(order, order.price, min(order.remaining, int(left)), now)
        return events

    # ---- internals -----------------------------------------------------------------
    def _schedule(self, now: int, action: Callable[[int], list[Event]]) -> None:
        heapq.heappush(self._due, _Due(now + self.latency_ns, next(self._seq), action))

    @staticmethod
    def _reject(request_id: int | None, client_order_id: int, kind: RecordType,
                reason: RejectReason, text: str) -> list[Event]:
        if request_id is None:
            return []
        return [Reject(request_id, client_order_id, kind, reason, text)]

    def _activate(self, order: Order, now: int) -> list[Event]:
        if order.finished:
            return []  # canceled before it reached the exchange
        order.live = True
        if order.status == OrderStatus.ACKNOWLEDGED:
            order.status = OrderStatus.WORKING
        events: list[Event] = [Update(replace(order), now)]
        if order.order_type == OrderType.MARKET:
            events += self._take(order, now)
        elif order.order_type == OrderType.LIMIT:
            events += self._join(order, now)
        else:
            last = self.last_trade.get(order.instrument_id)
            if last is not None and (
                last >= order.stop_price if order.is_buy else last <= order.stop_price
            ):
                # A stop already through the market triggers at once (some platforms
                # reject it instead; documented).
                events += self._trigger(order, now)
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) and not order.finished:
            events += self._finish(order, OrderStatus.CANCELED, now,
                                   f"{order.time_in_force.name} remainder canceled")
        return events

    def _trigger(self, order: Order, now: int) -> list[Event]:
        order.triggered = True
        if order.order_type == OrderType.STOP:
            return self._take(order, now)
        return self._join(order, now)

    def _take(self, order: Order, now: int) -> list[Event]:
        """Takes the touch for the whole remaining quantity (or waits for a quote)."""
        quote = self._quotes.get(order.instrument_id)
        if quote is None:
            return []
        price = quote.ask if order.is_buy else quote.bid
        return self._fill(order, price, order.remaining, now)

    def _join(self, order: Order, now: int) -> list[Event]:
        """A limit price meets the book: take if marketable, else join the queue."""
        quote = self._quotes.get(order.instrument_id)
        if quote is None:
            order.queue_ahead = 0.0
            return []
        if order.is_buy and quote.ask <= order.price:
            return self._fill(order, quote.ask, order.remaining, now)
        if not order.is_buy and quote.bid >= order.price:
            return self._fill(order, quote.bid, order.remaining, now)
        if order.time_in_force == TimeInForce.FOK:
            return []
        order.queue_ahead = 0.0 if self.queue_front else self._queue_estimate(order, quote)
        return []

    @staticmethod
    def _queue_estimate(order: Order, quote: _Quote) -> float:
        touch = quote.bid if order.is_buy else quote.ask
        shown = quote.bid_size if order.is_buy else quote.ask_size
        better = order.price > touch if order.is_buy else order.price < touch
        # At the touch: everything displayed is ahead of us. Improving the touch: nobody.
        # Behind the touch we see no depth: the touch's size stands in for that level's.
        return 0.0 if better else float(shown)

    def execute(self, client_order_id: int, quantity: int, now: int) -> list[Event]:
        """``quantity`` of a working order executed now at its limit price (or the last
        trade for a market order): the simulator's by-hand fills."""
        order = self.orders[client_order_id]
        if order.finished or quantity > order.remaining:
            raise ValueError(f"order {client_order_id}: {quantity} cannot fill "
                             f"({order.status.name}, {order.remaining} remaining)")
        events = self.advance(now)  # its pending steps (activation) first
        price = order.price if order.order_type == OrderType.LIMIT else \
            self.last_trade.get(order.instrument_id, order.price)
        return events + self._fill(order, price, quantity, now)

    def _fill(self, order: Order, price: float, quantity: int, now: int) -> list[Event]:
        if quantity <= 0:
            return []
        total = order.filled_quantity + quantity
        order.average_fill_price = (
            order.average_fill_price * order.filled_quantity + price * quantity
        ) / total
        order.filled_quantity = total
        execution_id = f"{self._exec_prefix}-{next(self._exec_ids)}"
        if order.remaining == 0:
            order.status = OrderStatus.FILLED
            order.finished_ns = now
            self._active[order.instrument_id].pop(order.client_order_id, None)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
        snapshot = replace(order)
        return [Execution(snapshot, now, price, quantity, execution_id), Update(snapshot, now)]

    def _finish(self, order: Order, status: OrderStatus, now: int, text: str = "") -> list[Event]:
        order.status = status
        order.finished_ns = now
        self._active[order.instrument_id].pop(order.client_order_id, None)
        return [Update(replace(order), now, text)]

    def _apply_cancel(self, order: Order, request_id: int | None, now: int) -> list[Event]:
        if order.finished:
            # The fill won the race: the cancel is too late, the fill stands.
            return self._reject(request_id, order.client_order_id, RecordType.CANCEL,
                                RejectReason.TOO_LATE_TO_CANCEL, _finished_text(order))
        events: list[Event] = []
        if request_id is not None:
            events.append(Ack(request_id, order.client_order_id, RecordType.CANCEL,
                              order.instrument_id))
        return events + self._finish(order, OrderStatus.CANCELED, now)

    def _apply_replace(self, order: Order, request_id: int, price: float, stop_price: float,
                       quantity: int, now: int) -> list[Event]:
        kind = RecordType.REPLACE
        if order.finished:
            return self._reject(request_id, order.client_order_id, kind,
                                RejectReason.TOO_LATE_TO_CANCEL, _finished_text(order))
        restored = (OrderStatus.PARTIALLY_FILLED if order.filled_quantity
                    else OrderStatus.WORKING)
        if order.status == OrderStatus.PENDING_CANCEL:
            return self._reject(request_id, order.client_order_id, kind,
                                RejectReason.PLATFORM_REJECTED, "cancel pending")
        if quantity <= order.filled_quantity:
            # Fills during the latency took the order past the new quantity: refuse and
            # restate the order so the engine leaves PENDING_REPLACE.
            order.status = restored
            refusal = self._reject(request_id, order.client_order_id, kind,
                                   RejectReason.INVALID_QUANTITY,
                                   f"quantity {quantity} <= filled {order.filled_quantity}")
            return [*refusal, Update(replace(order), now, "replace refused")]
        new_price = price or order.price
        new_stop = stop_price or order.stop_price
        # Exchange priority rules (CME): a smaller quantity at the same price keeps the
        # order's place in the queue; a price change or a larger quantity loses it.
        keeps_place = new_price == order.price and quantity <= order.quantity
        order.price, order.stop_price, order.quantity = new_price, new_stop, quantity
        order.status = restored
        events: list[Event] = [Ack(request_id, order.client_order_id, kind, order.instrument_id),
                               Update(replace(order), now)]
        if not keeps_place and (order.order_type == OrderType.LIMIT or order.triggered):
            events += self._join(order, now)
        elif order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
            last = self.last_trade.get(order.instrument_id)
            if last is not None and (
                last >= order.stop_price if order.is_buy else last <= order.stop_price
            ):
                events += self._trigger(order, now)
        return events


def _valid_price(price: float, tick_size: float) -> bool:
    return price > 0 and math.isfinite(price) and on_tick(price, tick_size)


def _finished_text(order: Order) -> str:
    return f"order already {order.status.name.lower()}"
