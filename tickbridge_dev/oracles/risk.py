"""The pre-trade checks in pure Python: the benchmark's baseline and the tests' oracle
(development code, not in the wheel: see tickbridge_dev/__init__.py).

Same API, same check order and same reasons as the compiled ``tickbridge._core.risk.RiskGate``
(cpp/src/risk/gate.cpp); the differential test holds them to it. Messages are shorter.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tickbridge.protocol.enums import OrderType, Side
from tickbridge.risk.gate import (
    InstrumentSpec,
    RiskDecision,
    RiskGateHandle,
    account_limits,
    instrument_limits,
)
from tickbridge.risk.limits import RiskLimits
from tickbridge.risk.reasons import BandBasis, BandUnit, RiskReason, TickPolicy, TradingState

SECOND_NS = 1_000_000_000
MINUTE_NS = 60 * SECOND_NS
HOUR_NS = 60 * MINUTE_NS
TICK_EPSILON = 1e-6
BUY, SELL = 1, 2
MARKET, STOP = 1, 3


@dataclass
class PyInstrumentLimits:
    symbol: str = ""
    tick_size: float = 0.25
    point_value: float = 50.0
    max_order_qty: int = 1
    max_position: int = 1
    band_basis: int = BandBasis.LAST_TRADE
    band_unit: int = BandUnit.TICKS
    band_width: float = 40.0
    max_data_age_ns: int = 5_000_000_000
    tick_policy: int = TickPolicy.REJECT


@dataclass
class PyAccountLimits:
    account: str = ""
    max_position: int = 0
    daily_loss_limit: float = 0.0
    on_daily_loss: int = TradingState.REDUCING_ONLY
    max_orders_per_second: int = 0
    max_orders_per_minute: int = 0
    max_orders_per_hour: int = 0
    allowed_instruments: list[int] = field(default_factory=list)


@dataclass
class PyOrder:
    account_id: int
    instrument_id: int
    side: int
    order_type: int
    qty: int
    price: float = 0.0


@dataclass
class PyDecision:
    reason: RiskReason
    price: float
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == RiskReason.OK


@dataclass
class PyBook:
    position: int = 0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    working_buy: int = 0
    working_sell: int = 0


class _Refuse(Exception):
    def __init__(self, reason: RiskReason, message: str) -> None:
        self.reason, self.message = reason, message


class PyRiskGate:
    """Pure-Python twin of the compiled RiskGate."""

    def __init__(self) -> None:
        self.instruments: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self._state = TradingState.ACTIVE

    # set-up -----------------------------------------------------------------------------
    def add_instrument(self, limits: Any) -> int:
        if not limits.tick_size > 0:
            raise ValueError(f"{limits.symbol}: tick_size must be > 0")
        self.instruments.append({"limits": limits, "last": 0.0, "last_t": 0, "has_trade": False,
                                 "bid": 0.0, "ask": 0.0, "quote_t": 0, "has_quote": False})
        for acc in self.accounts:
            acc["books"].append(PyBook())
            acc["allowed"].append(not acc["limits"].allowed_instruments)
        return len(self.instruments) - 1

    def add_account(self, limits: Any) -> int:
        self.accounts.append({"books": [PyBook() for _ in self.instruments], "state": 0,
                              "breached": False, "sent": (deque(), deque(), deque())})
        self.replace_account_limits(len(self.accounts) - 1, limits)
        return len(self.accounts) - 1

    def replace_instrument_limits(self, instrument_id: int, limits: Any) -> None:
        self.instruments[instrument_id]["limits"] = limits

    def replace_account_limits(self, account_id: int, limits: Any) -> None:
        acc = self.accounts[account_id]
        acc["limits"] = limits
        allowed = list(limits.allowed_instruments)
        acc["allowed"] = [not allowed or i in allowed for i in range(len(self.instruments))]

    # market data and order events ---------------------------------------------------------
    def on_trade(self, instrument_id: int, price: float, time_ns: int) -> None:
        ins = self.instruments[instrument_id]
        ins["last"], ins["last_t"], ins["has_trade"] = price, time_ns, True

    def on_quote(self, instrument_id: int, bid: float, ask: float, time_ns: int) -> None:
        ins = self.instruments[instrument_id]
        ins["bid"], ins["ask"], ins["quote_t"] = bid, ask, time_ns
        ins["has_quote"] = bid > 0 and ask > 0

    def on_fill(self, account_id: int, instrument_id: int, side: int, qty: int,
                price: float) -> None:
        book = self.accounts[account_id]["books"][instrument_id]
        point_value = self.instruments[instrument_id]["limits"].point_value
        if qty <= 0:
            return
        if int(side) == BUY:
            book.working_buy = max(0, book.working_buy - qty)
        else:
            book.working_sell = max(0, book.working_sell - qty)
        signed = qty if int(side) == BUY else -qty
        before, after = book.position, book.position + signed
        if before == 0 or (before > 0) == (signed > 0):
            book.avg_price = (book.avg_price * abs(before) + price * qty) / abs(after)
        else:
            closed = min(abs(before), qty)
            direction = 1.0 if before > 0 else -1.0
            book.realized_pnl += direction * closed * (price - book.avg_price) * point_value
            if after == 0:
                book.avg_price = 0.0
            elif (after > 0) != (before > 0):
                book.avg_price = price
        book.position = after

    def on_order_done(self, account_id: int, instrument_id: int, side: int, qty: int) -> None:
        book = self.accounts[account_id]["books"][instrument_id]
        if int(side) == BUY:
            book.working_buy = max(0, book.working_buy - qty)
        else:
            book.working_sell = max(0, book.working_sell - qty)

    def set_position(self, account_id: int, instrument_id: int, position: int, avg_price: float,
                     realized_pnl: float) -> None:
        book = self.accounts[account_id]["books"][instrument_id]
        book.position, book.realized_pnl = position, realized_pnl
        book.avg_price = 0.0 if position == 0 else avg_price

    def set_working(self, account_id: int, instrument_id: int, working_buy: int,
                    working_sell: int) -> None:
        book = self.accounts[account_id]["books"][instrument_id]
        book.working_buy, book.working_sell = working_buy, working_sell

    def note_sent(self, account_id: int, time_ns: int) -> None:
        acc = self.accounts[account_id]
        lim = acc["limits"]
        for sent, limit in zip(acc["sent"], (lim.max_orders_per_second, lim.max_orders_per_minute,
                                             lim.max_orders_per_hour), strict=True):
            if limit > 0:
                sent.append(time_ns)

    def book(self, account_id: int, instrument_id: int) -> PyBook:
        return self.accounts[account_id]["books"][instrument_id]

    # states and PnL ---------------------------------------------------------------------
    def set_trading_state(self, state: int) -> None:
        self._state = TradingState(int(state))

    def trading_state(self) -> TradingState:
        return self._state

    def set_account_state(self, account_id: int, state: int) -> None:
        self.accounts[account_id]["state"] = int(state)

    def account_state(self, account_id: int) -> TradingState:
        return TradingState(self.accounts[account_id]["state"])

    def effective_state(self, account_id: int) -> TradingState:
        return TradingState(max(int(self._state), self.accounts[account_id]["state"]))

    def loss_breached(self, account_id: int) -> bool:
        return self.accounts[account_id]["breached"]

    def _mark(self, ins: dict[str, Any]) -> float:
        if ins["has_trade"]:
            return ins["last"]
        if ins["has_quote"]:
            return 0.5 * (ins["bid"] + ins["ask"])
        return 0.0

    def account_pnl(self, account_id: int) -> float:
        pnl = 0.0
        for ins, book in zip(self.instruments, self.accounts[account_id]["books"], strict=True):
            pnl += book.realized_pnl
            if book.position:
                mark = self._mark(ins)
                if mark != 0.0:
                    pnl += book.position * (mark - book.avg_price) * ins["limits"].point_value
        return pnl

    def _update_loss(self, account_id: int) -> bool:
        acc = self.accounts[account_id]
        limit = acc["limits"].daily_loss_limit
        if acc["breached"] or limit <= 0 or self.account_pnl(account_id) > -limit:
            return False
        acc["breached"] = True
        acc["state"] = max(acc["state"], int(acc["limits"].on_daily_loss))
        return True

    def evaluate_loss(self) -> list[int]:
        return [i for i in range(len(self.accounts)) if self._update_loss(i)]

    def start_new_day(self) -> None:
        for acc in self.accounts:
            for book in acc["books"]:
                book.realized_pnl = 0.0
            if acc["breached"]:
                acc["state"] = 0
            acc["breached"] = False

    # the check --------------------------------------------------------------------------
    def check(self, order: Any, now_ns: int, session_open: bool, commit: bool = True) -> PyDecision:
        price = [order.price]
        try:
            self._evaluate(order, now_ns, session_open, price)
        except _Refuse as refused:
            return PyDecision(refused.reason, price[0], refused.message)
        if commit:
            self._commit(order, now_ns)
        return PyDecision(RiskReason.OK, price[0])

    def check_batch(self, account_ids: Any, instrument_ids: Any, sides: Any, order_types: Any,
                    qtys: Any, prices: Any, now_ns: Any, session_open: bool,
                    commit: bool = False) -> tuple[list[int], list[float]]:
        reasons, out = [], []
        for order in zip(account_ids, instrument_ids, sides, order_types, qtys, prices, now_ns,
                         strict=True):
            decision = self.check(PyOrder(*order[:6]), order[6], session_open, commit)
            reasons.append(int(decision.reason))
            out.append(decision.price)
        return reasons, out

    def _commit(self, order: Any, now_ns: int) -> None:
        acc = self.accounts[order.account_id]
        book = acc["books"][order.instrument_id]
        if int(order.side) == BUY:
            book.working_buy += order.qty
        else:
            book.working_sell += order.qty
        self.note_sent(order.account_id, now_ns)

    @staticmethod
    def _reduces(book: PyBook, side: int, qty: int) -> bool:
        if side == SELL:
            return book.position > 0 and qty + book.working_sell <= book.position
        return book.position < 0 and qty + book.working_buy <= -book.position

    def _evaluate(self, order: Any, now_ns: int, session_open: bool, price: list[float]) -> None:
        R = RiskReason
        if not 0 <= order.account_id < len(self.accounts):
            raise _Refuse(R.NOT_ALLOWED, f"account id {order.account_id} is not configured")
        if not 0 <= order.instrument_id < len(self.instruments):
            raise _Refuse(R.NOT_ALLOWED, f"instrument id {order.instrument_id} is not configured")
        acc = self.accounts[order.account_id]
        ins = self.instruments[order.instrument_id]
        lim, alim = ins["limits"], acc["limits"]
        symbol, side, qty = lim.symbol, int(order.side), order.qty
        priced = int(order.order_type) != MARKET
        if side not in (BUY, SELL):
            raise _Refuse(R.INVALID_ORDER, f"side {side} for {symbol} is neither buy nor sell")
        if not 1 <= int(order.order_type) <= 4:
            raise _Refuse(R.INVALID_ORDER, f"order type {order.order_type} for {symbol} is unknown")
        if qty <= 0:
            raise _Refuse(R.INVALID_ORDER, f"order quantity {qty} for {symbol} must be positive")
        if priced and not (math.isfinite(order.price) and order.price > 0):
            raise _Refuse(R.INVALID_ORDER, f"order price {order.price} for {symbol} is not valid")
        if not acc["allowed"][order.instrument_id]:
            raise _Refuse(R.NOT_ALLOWED, f"{symbol} is not on the allow-list of {alim.account}")
        self._update_loss(order.account_id)
        book = acc["books"][order.instrument_id]
        state = max(int(self._state), acc["state"])
        if state == TradingState.HALTED:
            if acc["breached"] and acc["state"] == TradingState.HALTED:
                raise _Refuse(R.DAILY_LOSS, f"account {alim.account} breached its daily loss limit")
            raise _Refuse(R.TRADING_HALTED, f"trading is halted for account {alim.account}")
        if not session_open:
            raise _Refuse(R.SESSION_CLOSED, f"the {symbol} session is closed")
        if state == TradingState.REDUCING_ONLY and not self._reduces(book, side, qty):
            if acc["breached"] and self._state != TradingState.REDUCING_ONLY:
                raise _Refuse(R.DAILY_LOSS, f"account {alim.account} breached its daily loss limit")
            raise _Refuse(R.REDUCING_ONLY, f"account {alim.account} is reducing-only")
        if qty > lim.max_order_qty:
            raise _Refuse(R.MAX_ORDER_SIZE,
                          f"order {qty} exceeds max order size {lim.max_order_qty} for {symbol}")
        if priced:
            ticks = order.price / lim.tick_size
            nearest = round(ticks)
            if abs(ticks - nearest) > TICK_EPSILON:
                if int(lim.tick_policy) == TickPolicy.REJECT:
                    raise _Refuse(R.OFF_TICK, f"price {order.price} for {symbol} is off the "
                                              f"{lim.tick_size} tick grid")
                round_down = (side == BUY) == (int(order.order_type) != STOP)
                price[0] = (math.floor(ticks) if round_down else math.ceil(ticks)) * lim.tick_size
            else:
                price[0] = nearest * lim.tick_size
        reference, reference_t = 0.0, 0
        if int(lim.band_basis) == BandBasis.MID:
            if ins["has_quote"]:
                reference, reference_t = 0.5 * (ins["bid"] + ins["ask"]), ins["quote_t"]
        elif ins["has_trade"]:
            reference, reference_t = ins["last"], ins["last_t"]
        if reference == 0.0:
            raise _Refuse(R.STALE_MARKET_DATA, f"no reference price for {symbol} yet")
        if now_ns - reference_t > lim.max_data_age_ns:
            raise _Refuse(R.STALE_MARKET_DATA, f"reference price for {symbol} is stale")
        if priced:
            if int(lim.band_unit) == BandUnit.TICKS:
                band = lim.band_width * lim.tick_size
            else:
                band = reference * lim.band_width / 100.0
            if abs(price[0] - reference) > band + TICK_EPSILON * lim.tick_size:
                raise _Refuse(R.PRICE_BAND, f"price {price[0]} for {symbol} is outside the band "
                                            f"{band} around {reference}")
        add_buy = qty if side == BUY else 0
        add_sell = qty if side == SELL else 0
        worst_long = book.position + book.working_buy + add_buy
        worst_short = book.position - book.working_sell - add_sell
        if max(abs(worst_long), abs(worst_short)) > lim.max_position:
            raise _Refuse(R.POSITION_LIMIT, f"projected position in {symbol} exceeds limit "
                                            f"{lim.max_position}")
        if alim.max_position > 0:
            total = 0
            for i, b in enumerate(acc["books"]):
                this = i == order.instrument_id
                lo = b.position - b.working_sell - (add_sell if this else 0)
                hi = b.position + b.working_buy + (add_buy if this else 0)
                total += max(abs(lo), abs(hi))
            if total > alim.max_position:
                raise _Refuse(R.ACCOUNT_POSITION_LIMIT,
                              f"projected position {total} across {alim.account} exceeds "
                              f"{alim.max_position}")
        windows = ((SECOND_NS, "second"), (MINUTE_NS, "minute"), (HOUR_NS, "hour"))
        limits = (alim.max_orders_per_second, alim.max_orders_per_minute, alim.max_orders_per_hour)
        for sent, (window, unit), limit in zip(acc["sent"], windows, limits, strict=True):
            if limit <= 0:
                continue
            while sent and sent[0] <= now_ns - window:
                sent.popleft()
            if len(sent) >= limit:
                raise _Refuse(R.RATE_LIMIT, f"account {alim.account} sent {len(sent)} orders in "
                                            f"the last {unit}, limit {limit}")


def _as_python(limits: Any, kind: type) -> Any:
    """The compiled limits object ``limits`` as the dataclass ``kind``: the handle builds
    its limits one way (tickbridge.risk.gate) and both gates get the same values."""
    out = kind()
    for f in fields(kind):
        value = getattr(limits, f.name)
        if isinstance(value, list):
            value = list(value)
        elif not isinstance(value, (str, int, float)):
            value = int(value)  # a compiled enum
        setattr(out, f.name, value)
    return out


class PyRiskGateHandle(RiskGateHandle):
    """``RiskGateHandle`` over ``PyRiskGate``: same names, same ids, same limits."""

    def __init__(self, limits: RiskLimits, instruments: Mapping[str, InstrumentSpec],
                 accounts: Iterable[str]) -> None:
        super().__init__(limits, instruments, accounts)
        # Re-added in the compiled gate's order, so the ids are the same.
        self.core = PyRiskGate()
        for symbol, spec in self._specs.items():
            iid = self.core.add_instrument(_as_python(
                instrument_limits(symbol, spec, limits.for_instrument(symbol)),
                PyInstrumentLimits))
            assert iid == self.instrument_ids[symbol], (symbol, iid)
        for name in self.account_ids:
            aid = self.core.add_account(_as_python(
                account_limits(name, limits.for_account(name), self.instrument_ids),
                PyAccountLimits))
            assert aid == self.account_ids[name], (name, aid)

    def check(self, account: str, symbol: str, side: Side | int, qty: int, price: float,
              now_ns: int, session_open: bool, order_type: OrderType | int = OrderType.LIMIT,
              commit: bool = True) -> RiskDecision:
        if account not in self.account_ids or symbol not in self.instrument_ids:
            return super().check(account, symbol, side, qty, price, now_ns, session_open,
                                 order_type, commit)
        order = PyOrder(self.account_ids[account], self.instrument_ids[symbol], int(side),
                        int(order_type), int(qty), float(price))
        d = self.core.check(order, now_ns, session_open, commit)
        return RiskDecision.of_gate(int(d.reason), d.message, d.price)

    def _state_arg(self, state: TradingState | int) -> Any:
        return int(state)

    # The twin keeps its own positions (fed by on_fill), never an order book's.
    @property
    def positions_attached(self) -> bool:
        return False

    def alias(self, book_symbol: str, symbol: str) -> None:
        return None

    def mark_day_start(self) -> None:
        self.core.start_new_day()  # its realized PnL to zero: the same here

    def replace_limits(self, limits: RiskLimits) -> None:
        for symbol, iid in self.instrument_ids.items():
            self.core.replace_instrument_limits(iid, _as_python(instrument_limits(
                symbol, self._specs[symbol], limits.for_instrument(symbol)), PyInstrumentLimits))
        for name, aid in self.account_ids.items():
            self.core.replace_account_limits(aid, _as_python(account_limits(
                name, limits.for_account(name), self.instrument_ids), PyAccountLimits))
        self.limits = limits
