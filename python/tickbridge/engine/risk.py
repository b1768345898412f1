"""The pre-trade gate as the engine uses it: platform symbols mapped to configured roots,
market state synced from the compiled tick path at check time (never per tick from
Python), session hours from the calendar, and the loss limit watched on a timer."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tickbridge.config.models import TickbridgeConfig
from tickbridge.contracts import SymbolError, resolve
from tickbridge.protocol import OrderType, Side
from tickbridge.risk.build import build_risk_gate
from tickbridge.risk.reasons import RiskDecision, RiskReason, TradingState
from tickbridge.sessions import SessionClock

log = logging.getLogger("tickbridge.engine")


@dataclass
class RiskAdapter:
    config: TickbridgeConfig
    # "wall": session hours and data staleness against the wall clock (live). "market": the
    # instrument's last trade time stands for now (replays and the simulator's tape).
    clock: str = "wall"
    roots: dict[str, str] = field(default_factory=dict)  # platform symbol -> configured root
    _clocks: dict[str, SessionClock] = field(default_factory=dict)
    # What "wall" means: UTC nanoseconds now. Injectable so the session calendar can be
    # exercised at a chosen instant (a test during the CME maintenance break on a Sunday).
    wall_clock: Callable[[], int] = time.time_ns

    def __post_init__(self) -> None:
        if self.clock not in ("wall", "market"):
            raise ValueError(f"clock must be 'wall' or 'market', not {self.clock!r}")
        self.gate, self.contracts = build_risk_gate(self.config)
        self._configured = {c.root: symbol for symbol, c in self.contracts.items()}
        # Built now (pandas-market-calendars takes ~2 s): never on the order path.
        for symbol, contract in self.contracts.items():
            self._clocks[symbol] = SessionClock(contract.root)

    def map_symbol(self, platform_symbol: str) -> str | None:
        """The configured symbol a platform's symbol trades under, or None (not allowed)."""
        if platform_symbol in self.roots:
            return self.roots[platform_symbol]
        try:
            contract = resolve(platform_symbol, specs=None)
        except SymbolError as e:
            log.warning("risk: %s", e)
            return None
        configured = self._configured.get(contract.root)
        if configured is None:
            log.warning("risk: %s (%s) is not a configured instrument; its orders will be "
                        "refused", platform_symbol, contract.root)
            return None
        expected = self.contracts[configured]
        if contract.code != expected.code:
            log.warning("risk: the platform trades %s but %s resolves to %s today (%s)",
                        contract.code, configured, expected.code, expected.reason)
        self.roots[platform_symbol] = configured
        # The order book keeps positions under the platform's symbol: the gate counts
        # them for the configured one.
        self.gate.alias(platform_symbol, configured)
        self._clocks.setdefault(configured, SessionClock(contract.root))
        return configured

    def check(self, account: str, platform_symbol: str, side: Side, quantity: int,
              order_type: OrderType, price: float, market: dict[str, float],
              commit: bool = True) -> RiskDecision:
        """``commit=False``: the answer only, nothing booked (the wording of a refusal
        the compiled tick path made)."""
        symbol = self.map_symbol(platform_symbol)
        if symbol is None:
            return RiskDecision.of_gate(RiskReason.NOT_ALLOWED,
                                        f"{platform_symbol} is not on the instrument allow-list",
                                        price)
        self.sync_market(symbol, market)
        now = self.now(market)
        session_open = self._clocks[symbol].is_open(now)
        # Market orders carry no price: the band check is made at the last trade.
        check_price = market["last_price"] if math.isnan(price) else price
        decision = self.gate.check(account, symbol, int(side), int(quantity),
                                   0.0 if math.isnan(check_price) else check_price, now,
                                   session_open, order_type=int(order_type), commit=commit)
        sent_price = price if math.isnan(price) else decision.price
        return RiskDecision(decision.code, decision.message, sent_price)

    def session_window(self, platform_symbol: str, market: dict[str, float]
                       ) -> tuple[int, int] | None:
        """The exchange session open now, [open, close) UTC ns; None when closed or the
        symbol is not configured."""
        symbol = self.map_symbol(platform_symbol)
        return None if symbol is None else self._clocks[symbol].window(self.now(market))

    def now(self, market: dict[str, float]) -> int:
        if self.clock == "market" and market.get("last_time_ns"):
            return int(market["last_time_ns"])
        return self.wall_clock()

    def sync_market(self, symbol: str, market: dict[str, float]) -> None:
        if market["trades"]:
            self.gate.on_trade(symbol, market["last_price"], int(market["last_time_ns"]))
        if market["quotes"] and not (math.isnan(market["bid"]) or math.isnan(market["ask"])):
            self.gate.on_quote(symbol, market["bid"], market["ask"], int(market["quote_time_ns"]))

    def on_fill(self, account: str, platform_symbol: str, side: Side, quantity: int,
                price: float) -> None:
        """A fill the engine booked into its OrderBook, whose positions the gate reads:
        only its quantity stops working here (a gate not attached to the book, the
        pure-Python twin, books it itself)."""
        symbol = self.map_symbol(platform_symbol)
        if symbol is None or account not in self.gate.account_ids:
            return
        if self.gate.positions_attached:
            self.gate.release_working(account, symbol, int(side), quantity)
        else:
            self.gate.on_fill(account, symbol, int(side), quantity, price)

    def _working(self, account: str, platform_symbol: str) -> tuple[str, int, int] | None:
        symbol = self.map_symbol(platform_symbol)
        if symbol is None or account not in self.gate.account_ids:
            return None
        view = self.gate.book(account, symbol)
        return symbol, int(view.working_buy), int(view.working_sell)

    def move_working(self, account: str, platform_symbol: str, side: Side, change: int
                     ) -> None:
        """The gate's working quantity on ``side`` moved by ``change`` (a replace's
        increase reserved, a replace's decrease or a refused increase released)."""
        now = self._working(account, platform_symbol)
        if now is None or not change:
            return
        symbol, buy, sell = now
        if side == Side.BUY:
            buy = max(0, buy + change)
        else:
            sell = max(0, sell + change)
        self.gate.set_working(account, symbol, buy, sell)

    @contextmanager
    def working_released(self, account: str, platform_symbol: str, side: Side,
                         quantity: int) -> Iterator[None]:
        """Within: ``quantity`` on ``side`` not working (the order a replace checks is the
        one being replaced); after: the gate's working quantities exactly as before."""
        now = self._working(account, platform_symbol)
        if now is None:
            yield
            return
        symbol, buy, sell = now
        self.move_working(account, platform_symbol, side, -quantity)
        try:
            yield
        finally:
            self.gate.set_working(account, symbol, buy, sell)

    def on_order_done(self, account: str, platform_symbol: str, side: Side,
                      remaining: int) -> None:
        symbol = self.map_symbol(platform_symbol)
        if symbol is not None and account in self.gate.account_ids and remaining > 0:
            self.gate.on_order_done(account, symbol, int(side), remaining)

    def evaluate_loss(self) -> list[tuple[str, TradingState]]:
        return [(a, self.gate.trading_state(a)) for a in self.gate.evaluate_loss()]
