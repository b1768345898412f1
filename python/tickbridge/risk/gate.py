"""The risk gate as the engine uses it: built from validated limits, addressed by name.

The compiled ``tickbridge._core.risk.RiskGate`` does the checks; this wrapper maps account
names and symbols to the small integer ids the hot path uses, and converts the pydantic
limits. ``RiskGateHandle.core`` is the raw gate for batch or id-based calls.

Positions: the gate reads one position book, the engine's ``OrderBook`` once attached
(``attach_positions``; ``MarketCore.attach`` does it), its own before that (a standalone
gate, which ``on_fill`` books into). Nothing feeds it a copy: with a book attached a fill
only ends working quantity (``release_working``); the book has it already.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tickbridge._core import risk as core
from tickbridge.protocol.enums import OrderType, Side
from tickbridge.risk.limits import AccountRisk, InstrumentRisk, RiskLimits
from tickbridge.risk.reasons import RiskDecision, RiskReason, TradingState

log = logging.getLogger("tickbridge.risk")


class InstrumentSpec(Protocol):
    tick_size: float
    point_value: float


_STATE = {"reducing_only": TradingState.REDUCING_ONLY, "halted": TradingState.HALTED}


def instrument_limits(symbol: str, spec: InstrumentSpec, risk: InstrumentRisk) -> Any:
    out = core.InstrumentLimits()
    out.symbol = symbol
    out.tick_size = float(spec.tick_size)
    out.point_value = float(spec.point_value)
    out.max_order_qty = risk.max_order_qty
    out.max_position = risk.max_position
    mid = risk.band_basis == "mid"
    pct = risk.band_percent is not None
    out.band_basis = core.BandBasis.MID if mid else core.BandBasis.LAST_TRADE
    out.band_unit = core.BandUnit.PERCENT if pct else core.BandUnit.TICKS
    out.tick_policy = (core.TickPolicy.ROUND_PASSIVE if risk.tick_policy == "round_passive"
                       else core.TickPolicy.REJECT)
    out.band_width = float(risk.band_percent if pct else risk.band_ticks)  # type: ignore[arg-type]
    out.max_data_age_ns = risk.max_data_age_ms * 1_000_000
    return out


def account_limits(account: str, risk: AccountRisk, instrument_ids: Mapping[str, int]) -> Any:
    out = core.AccountLimits()
    out.account = account
    out.max_position = risk.max_position
    out.daily_loss_limit = float(risk.daily_loss_limit)
    state = _STATE[risk.on_daily_loss]
    out.on_daily_loss = core.TradingState(int(state))
    out.max_orders_per_second = risk.max_orders_per_second
    out.max_orders_per_minute = risk.max_orders_per_minute
    out.max_orders_per_hour = risk.max_orders_per_hour
    unknown = [s for s in risk.allowed_instruments if s not in instrument_ids]
    if unknown:
        raise ValueError(f"account {account}: allowed_instruments {unknown} are not configured "
                         f"instruments ({sorted(instrument_ids)})")
    out.allowed_instruments = [instrument_ids[s] for s in risk.allowed_instruments]
    return out


class RiskGateHandle:
    """A configured compiled gate (its pure-Python twin, for tests and the benchmark's
    baseline, is ``tickbridge_dev.oracles.risk.PyRiskGateHandle``, outside the package)."""

    def __init__(self, limits: RiskLimits, instruments: Mapping[str, InstrumentSpec],
                 accounts: Iterable[str]) -> None:
        self.core: Any = core.RiskGate()
        self.instrument_ids: dict[str, int] = {}
        self.account_ids: dict[str, int] = {}
        for symbol, spec in instruments.items():
            self.instrument_ids[symbol] = self.core.add_instrument(
                instrument_limits(symbol, spec, limits.for_instrument(symbol)))
        for name in accounts:
            self.account_ids[name] = self.core.add_account(
                account_limits(name, limits.for_account(name), self.instrument_ids))
        self._specs = dict(instruments)
        self.limits = limits

    def check(self, account: str, symbol: str, side: Side | int, qty: int, price: float,
              now_ns: int, session_open: bool, order_type: OrderType | int = OrderType.LIMIT,
              commit: bool = True) -> RiskDecision:
        """One pre-trade decision. ``commit`` books a passing order as working."""
        if account not in self.account_ids:
            return RiskDecision.of_gate(RiskReason.NOT_ALLOWED,
                                        f"account {account} is not configured", price)
        if symbol not in self.instrument_ids:
            return RiskDecision.of_gate(RiskReason.NOT_ALLOWED,
                                        f"{symbol} is not a configured instrument "
                                        f"({', '.join(sorted(self.instrument_ids))})", price)
        args = (self.account_ids[account], self.instrument_ids[symbol], int(side),
                int(order_type), int(qty), float(price))
        order = core.Order(*args)
        d = self.core.check(order, now_ns, session_open, commit)
        return RiskDecision.of_gate(int(d.reason), d.message, d.price)

    # events, by name ------------------------------------------------------------------
    def on_trade(self, symbol: str, price: float, time_ns: int) -> None:
        self.core.on_trade(self.instrument_ids[symbol], price, time_ns)

    def on_quote(self, symbol: str, bid: float, ask: float, time_ns: int) -> None:
        self.core.on_quote(self.instrument_ids[symbol], bid, ask, time_ns)

    def on_fill(self, account: str, symbol: str, side: Side | int, qty: int, price: float) -> None:
        """A standalone gate's fill (no position book attached): booked into its own."""
        self.core.on_fill(self.account_ids[account], self.instrument_ids[symbol], int(side), qty,
                          price)

    def release_working(self, account: str, symbol: str, side: Side | int, qty: int) -> None:
        """Quantity no longer working (filled, canceled, rejected, expired)."""
        self.core.on_order_done(self.account_ids[account], self.instrument_ids[symbol],
                                int(side), qty)

    def attach_positions(self, order_book: Any) -> None:
        """Read positions from ``order_book`` (an OrderBook), the one fills are booked into."""
        self.core.attach_positions(order_book)

    @property
    def positions_attached(self) -> bool:
        return bool(self.core.positions_attached)

    def alias(self, book_symbol: str, symbol: str) -> None:
        """The position book's ``book_symbol`` (a platform's) is the configured ``symbol``."""
        try:
            self.core.alias_instrument(book_symbol, self.instrument_ids[symbol])
        except ValueError as error:  # the symbol is another instrument's already
            log.error("risk: %s; its positions count for that instrument only", error)

    def mark_day_start(self) -> None:
        """Realized PnL counts from now (restart recovery, at the trading day's start)."""
        self.core.mark_day_start()

    def on_order_done(self, account: str, symbol: str, side: Side | int,
                      remaining_qty: int) -> None:
        self.core.on_order_done(self.account_ids[account], self.instrument_ids[symbol], int(side),
                                remaining_qty)

    def set_working(self, account: str, symbol: str, working_buy: int, working_sell: int) -> None:
        self.core.set_working(self.account_ids[account], self.instrument_ids[symbol], working_buy,
                              working_sell)

    def note_sent(self, account: str, time_ns: int) -> None:
        """An order sent at ``time_ns``: into the rate windows (restart recovery)."""
        self.core.note_sent(self.account_ids[account], time_ns)

    def book(self, account: str, symbol: str) -> Any:
        return self.core.book(self.account_ids[account], self.instrument_ids[symbol])

    # trading state and PnL ------------------------------------------------------------
    def _state_arg(self, state: TradingState | int) -> Any:
        return core.TradingState(int(state))

    def set_trading_state(self, state: TradingState | int, account: str | None = None) -> None:
        """Gate-wide state, or one account's with ``account``; the stricter of the two applies."""
        if account is None:
            self.core.set_trading_state(self._state_arg(state))
        else:
            self.core.set_account_state(self.account_ids[account], self._state_arg(state))

    def trading_state(self, account: str | None = None) -> TradingState:
        """Gate-wide state, or the effective state of ``account``."""
        if account is None:
            return TradingState(int(self.core.trading_state()))
        return TradingState(int(self.core.effective_state(self.account_ids[account])))

    def account_pnl(self, account: str) -> float:
        return float(self.core.account_pnl(self.account_ids[account]))

    def evaluate_loss(self) -> list[str]:
        """Re-evaluates every loss limit; returns the accounts whose state just changed."""
        names = {v: k for k, v in self.account_ids.items()}
        return [names[i] for i in self.core.evaluate_loss()]

    def start_new_day(self) -> None:
        self.core.start_new_day()

    def replace_limits(self, limits: RiskLimits) -> None:
        """Applies reloaded limits (validate with ``reload_risk_limits`` first)."""
        for symbol, iid in self.instrument_ids.items():
            self.core.replace_instrument_limits(iid, instrument_limits(
                symbol, self._specs[symbol], limits.for_instrument(symbol)))
        for name, aid in self.account_ids.items():
            self.core.replace_account_limits(aid, account_limits(
                name, limits.for_account(name), self.instrument_ids))
        self.limits = limits
