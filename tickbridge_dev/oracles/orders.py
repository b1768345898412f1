"""Pure-Python implementation of the order state machine: the same table, the same rules.

It is the benchmark baseline (``tickbridge bench state_machine``) and the oracle of the
differential tests: the compiled ``OrderBook`` must give the same outcome, state, fills and
positions on every event sequence. It is written the way one would write it in Python for
speed (ints, dicts, ``__slots__``), not as a strawman. The table itself is read from the
compiled core, so there is one table; the rules applied around it are re-implemented here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from tickbridge._core import NextRule, OrderEvent, OrderStatus, Outcome, transition_table

# Plain ints on the hot path: enum attribute access would dominate the Python timing.
NEW_REQUESTED = int(OrderStatus.NEW_REQUESTED)
PARTIALLY_FILLED = int(OrderStatus.PARTIALLY_FILLED)
WORKING = int(OrderStatus.WORKING)
FILLED = int(OrderStatus.FILLED)
TERMINAL = frozenset(int(s) for s in (OrderStatus.FILLED, OrderStatus.CANCELED,
                                      OrderStatus.REJECTED, OrderStatus.EXPIRED))
FILL = int(OrderEvent.FILL)
REPLACE_SENT = int(OrderEvent.REPLACE_SENT)
REPLACED = int(OrderEvent.REPLACED)
REPLACE_REJECTED = int(OrderEvent.REPLACE_REJECTED)
GOTO, STAY, BY_FILLS, STAY_UNLESS_COMPLETE, RESUME = (
    int(r) for r in (NextRule.GOTO, NextRule.STAY, NextRule.BY_FILLS,
                     NextRule.STAY_UNLESS_COMPLETE, NextRule.RESUME))
APPLIED, DUPLICATE, REFUSED, OVERFILL = (
    int(o) for o in (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.REFUSED, Outcome.OVERFILL))
BUY = 1

# (state, event) -> (rule, to); a missing pair is refused.
TABLE: dict[tuple[int, int], tuple[int, int]] = {
    (int(s), int(e)): (int(r), int(to) if to is not None else int(s))
    for s, e, r, to, _why in transition_table()
}


class RefOrder:
    __slots__ = ("account", "client_order_id", "exec_ids", "fill_notional", "filled_qty",
                 "fills", "history", "instrument", "overfill_qty", "pending_price",
                 "pending_qty", "position", "price", "qty", "replace_pending", "side", "status")

    def __init__(self, client_order_id: int, account: str, instrument: str, side: int,
                 qty: int, price: float, position: RefPosition) -> None:
        self.client_order_id = client_order_id
        self.account = account
        self.instrument = instrument
        self.side = side
        self.qty = qty
        self.price = price
        self.status = NEW_REQUESTED
        self.filled_qty = 0
        self.fill_notional = 0.0
        self.replace_pending = False
        self.pending_qty = 0
        self.pending_price = 0.0
        self.overfill_qty = 0
        self.position = position
        self.exec_ids: set[int] = set()
        self.fills: list[tuple[int, int, float, int, bool]] = []  # exec, qty, price, ts, over
        self.history: list[tuple[int, int, int, int, int]] = []  # ts, event, from, to, outcome

    @property
    def leaves_qty(self) -> int:
        return max(self.qty - self.filled_qty, 0)

    @property
    def avg_fill_price(self) -> float:
        return self.fill_notional / self.filled_qty if self.filled_qty else 0.0


@dataclass
class RefPosition:
    account: str
    instrument: str
    point_value: float
    net_qty: int = 0
    avg_entry_price: float = 0.0
    realized_pnl: float = 0.0
    bought_qty: int = 0
    sold_qty: int = 0

    def apply_fill(self, side: int, qty: int, price: float) -> None:
        signed = qty if side == BUY else -qty
        if side == BUY:
            self.bought_qty += qty
        else:
            self.sold_qty += qty
        before = self.net_qty
        after = before + signed
        if before == 0 or (before > 0) == (signed > 0):
            held = float(abs(before))
            added = float(qty)
            self.avg_entry_price = (self.avg_entry_price * held + price * added) / (held + added)
        else:
            closed = min(qty, abs(before))
            direction = 1.0 if before > 0 else -1.0
            self.realized_pnl += closed * (price - self.avg_entry_price) * direction \
                * self.point_value
            if after == 0:
                self.avg_entry_price = 0.0
            elif (after > 0) != (before > 0):
                self.avg_entry_price = price
        self.net_qty = after

    def unrealized_pnl(self, mark_price: float) -> float:
        if self.net_qty == 0:
            return 0.0
        return self.net_qty * (mark_price - self.avg_entry_price) * self.point_value


@dataclass
class ReferenceOrderBook:
    session_epoch: int
    orders: dict[int, RefOrder] = field(default_factory=dict)
    positions: dict[tuple[str, str], RefPosition] = field(default_factory=dict)
    point_values: dict[str, float] = field(default_factory=dict)
    anomalies: list[tuple[int, int, int, str]] = field(default_factory=list)
    next_counter: int = 1

    def register_instrument(self, symbol: str, point_value: float,
                            tick_size: float = 0.0) -> None:
        if not point_value > 0:
            raise ValueError(f"instrument {symbol}: point_value must be > 0, got {point_value}")
        self.point_values[symbol] = point_value
        for (_acct, sym), pos in self.positions.items():
            if sym == symbol:
                pos.point_value = point_value

    def new_order(self, account: str, instrument: str, side: int, qty: int,
                  price: float = math.nan, *, client_order_id: int | None = None) -> RefOrder:
        if client_order_id is not None and client_order_id in self.orders:
            existing = self.orders[client_order_id]  # a retried submit: a no-op
            if (existing.account, existing.instrument, existing.side) != (
                    account, instrument, int(side)):
                raise ValueError(f"client order id {client_order_id} already names another order")
            return existing
        if qty <= 0:
            raise ValueError(f"new order on {instrument}: qty must be > 0, got {qty}")
        if instrument not in self.point_values:
            raise ValueError(f"new order on {instrument}: instrument not registered")
        if client_order_id is None:
            client_order_id = (self.session_epoch << 32) | self.next_counter
            self.next_counter += 1
        key = (account, instrument)
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = RefPosition(account, instrument,
                                                    self.point_values[instrument])
        order = RefOrder(client_order_id, account, instrument, int(side), qty, price, pos)
        self.orders[client_order_id] = order
        return order

    def position(self, account: str, instrument: str) -> RefPosition:
        pos = self.positions.get((account, instrument))
        return pos if pos is not None else RefPosition(account, instrument,
                                                       self.point_values[instrument])

    def _refuse(self, o: RefOrder, event: int, ts: int, reason: str) -> int:
        o.history.append((ts, event, o.status, o.status, REFUSED))
        self.anomalies.append((o.client_order_id, event, o.status, reason))
        return REFUSED

    def apply(self, client_order_id: int, event: int, qty: int = 0, price: float = 0.0,
              exec_id: int = 0, ts: int = 0) -> int:
        """Applies one event; returns the Outcome code. KeyError for an unknown id."""
        o = self.orders[client_order_id]
        status = o.status
        if event == FILL:
            if exec_id == 0:
                return self._refuse(o, event, ts, "fill without an execution id")
            if exec_id in o.exec_ids:  # execution ids are unique per order
                o.history.append((ts, event, status, status, DUPLICATE))
                return DUPLICATE
            if qty <= 0 or not math.isfinite(price):
                return self._refuse(o, event, ts, "fill qty must be > 0 and price finite")
        line = TABLE.get((status, event))
        if line is None:
            return self._refuse(o, event, ts, "no such transition in the table")
        outcome = APPLIED
        if event == FILL:
            o.exec_ids.add(exec_id)
            o.filled_qty += qty
            o.fill_notional += qty * price
            over = o.filled_qty > o.qty
            o.fills.append((exec_id, qty, price, ts, over))
            o.position.apply_fill(o.side, qty, price)
            if over:
                o.overfill_qty = o.filled_qty - o.qty
                outcome = OVERFILL
        elif event == REPLACE_SENT:
            if qty <= o.filled_qty:
                return self._refuse(o, event, ts, f"new qty {qty} not above filled")
            o.replace_pending = True
            o.pending_qty = qty
            o.pending_price = price
        elif event == REPLACED:
            if not o.replace_pending:
                return self._refuse(o, event, ts, "no replace is pending")
            o.qty = o.pending_qty
            o.price = o.pending_price
            o.replace_pending = False
            if o.filled_qty > o.qty:
                o.overfill_qty = o.filled_qty - o.qty
                outcome = OVERFILL
        elif event == REPLACE_REJECTED:
            o.replace_pending = False
        rule, to = line
        if rule == GOTO:
            o.status = to
        elif rule == BY_FILLS:
            o.status = FILLED if o.filled_qty >= o.qty else PARTIALLY_FILLED
        elif rule == STAY_UNLESS_COMPLETE:
            if o.filled_qty >= o.qty:
                o.status = FILLED
        elif rule == RESUME:
            if o.filled_qty >= o.qty:
                o.status = FILLED
            else:
                o.status = PARTIALLY_FILLED if o.filled_qty > 0 else WORKING
        o.history.append((ts, event, status, o.status, outcome))
        if outcome == OVERFILL:
            self.anomalies.append((client_order_id, event, o.status, "overfill"))
        return outcome

    def apply_events(self, events: Sequence[int], client_order_ids: Sequence[int],
                     qtys: Sequence[int], prices: Sequence[float], exec_ids: Sequence[int],
                     tss: Sequence[int]) -> list[int]:
        """The batch form of ``apply``, as the benchmark baseline; unknown ids are refused."""
        apply = self.apply
        orders = self.orders
        out = []
        for event, coid, qty, price, exec_id, ts in zip(
                events, client_order_ids, qtys, prices, exec_ids, tss, strict=True):
            if coid not in orders or not 1 <= event <= 13:
                self.anomalies.append((coid, event, 0, "unknown order id or event"))
                out.append(REFUSED)
                continue
            out.append(apply(coid, event, qty, price, exec_id, ts))
        return out
