"""The checks an order passes before it leaves the engine (ctx.buy/sell, control submits,
armed orders the tick path deferred): the link may trade, its platform's order connection
is up, the order is well formed, and the risk gate allows it; without a gate (no
``[risk]`` section), the trading state alone, with the gate's meanings.

One decision type (``RiskDecision``) and one meaning of reducing-only, the gate's
(cpp/src/risk/gate.cpp ``RiskGate::reduces``): an order reduces when it is against the
position and, with the working orders on its side, does not take the position through
zero. Two working sells of 2 against a long 2 leave nothing for a third sell to reduce.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tickbridge.engine.order_checks import off_grid, order_problem
from tickbridge.engine.session import Instrument, ShimSession
from tickbridge.protocol import OrderType, Side
from tickbridge.risk.reasons import RiskDecision, RiskReason, TradingState


def reduces(position: int, side: Side, quantity: int, working_buy: int,
            working_sell: int) -> bool:
    """gate.cpp's rule, to the letter: a sell reduces a long position by what is not
    already being sold; a buy a short one by what is not already being bought."""
    if side == Side.SELL:
        return position > 0 and quantity + working_sell <= position
    return position < 0 and quantity + working_buy <= -position


def working(book: Any, account: str, symbol: str, exclude: int = 0) -> tuple[int, int]:
    """(buy, sell) quantities still working on (account, symbol) in the order book: what
    the gate reserves (the same sum recovery.resync_working sets it from); ``exclude``:
    an order left out (one being replaced)."""
    buy = sell = 0
    for order in book.orders():
        if order.is_terminal or order.account != account or order.instrument != symbol \
                or int(order.client_order_id) == exclude:
            continue
        if order.side == Side.BUY:
            buy += int(order.leaves_qty)
        else:
            sell += int(order.leaves_qty)
    return buy, sell


class PreTrade:
    def __init__(self, *, core: Any, risk: Any,
                 trading_state: Callable[[str | None], TradingState],
                 book: Callable[[], Any],
                 platform_refusal: Callable[[ShimSession], tuple[str, str] | None]) -> None:
        self._core = core
        self._risk = risk
        self._trading_state = trading_state
        self._book = book  # the order book (positions and working orders)
        self._platform_refusal = platform_refusal

    def __call__(self, session: ShimSession, instrument: Instrument, side: Side,
                 quantity: int, order_type: OrderType, price: float,
                 stop_price: float) -> RiskDecision:
        """Accepted (with the price to send: the gate may round it) or refused, and why."""
        refusal = self._link(session, price) or order_problem(
            instrument.symbol, instrument.tick_size, quantity, order_type, price, stop_price)
        if refusal is not None:
            return refusal
        if self._risk is not None:
            return self._risk.check(session.account, instrument.symbol, side, int(quantity),
                                    order_type, price, self._core.state(instrument.slot))
        return self._without_gate(session.account, instrument, side, int(quantity), price)

    def replace(self, session: ShimSession, instrument: Instrument, order: Any,
                quantity: int, price: float) -> RiskDecision:
        """A replace of working ``order`` to ``quantity`` (its new total) at ``price``.
        Smaller (what stays working does not grow) is always allowed: it only reduces
        risk. Larger is checked as a new order of its new working quantity, with the
        order's current working quantity released from the gate meanwhile (it is the one
        being replaced), at the new price; nothing is reserved here (the router reserves
        the increase once the book has taken the replace: replace_working.py)."""
        side = Side(int(order.side))
        filled = int(order.filled_qty)
        old_leaves, new_leaves = int(order.leaves_qty), int(quantity) - filled
        if new_leaves <= old_leaves:
            return RiskDecision.accept(price)
        order_type = OrderType(int(order.order_type))
        # The quantity only: the router checked the new price's grid, and a stop order's
        # replace carries its stop as the price.
        refusal = self._link(session, price) or order_problem(
            instrument.symbol, instrument.tick_size, quantity, OrderType.MARKET, price,
            math.nan)
        if refusal is not None:
            return refusal
        if self._risk is None:
            return self._without_gate(session.account, instrument, side, new_leaves, price,
                                      exclude=int(order.client_order_id))
        symbol = self._risk.map_symbol(instrument.symbol)
        limit = None if symbol is None else \
            self._risk.gate.limits.for_instrument(symbol).max_order_qty
        if limit is not None and int(quantity) > limit:
            return RiskDecision.of_gate(RiskReason.MAX_ORDER_SIZE, f"replace to {quantity} "
                                        f"exceeds max_order_qty {limit} for {symbol}", price)
        with self._risk.working_released(session.account, instrument.symbol, side,
                                         old_leaves):
            return self._risk.check(session.account, instrument.symbol, side, new_leaves,
                                    order_type, price, self._core.state(instrument.slot),
                                    commit=False)

    def _link(self, session: ShimSession, price: float) -> RiskDecision | None:
        if session.refused:
            return RiskDecision("ACCOUNT_REFUSED", f"{session.name} was refused at hello: "
                                                   f"{session.refused}", price)
        if session.lost or not session.accepted:
            return RiskDecision("NOT_CONNECTED", f"{session.name} is not connected", price)
        platform = self._platform_refusal(session)  # its platform's broker link is down
        if platform is not None:
            return RiskDecision(*platform, price)
        if self._risk is not None and not session.confirmed:
            # The gate's positions are the store's until the platform's own have been
            # compared with them: a restart must not trade on a picture it has not checked.
            return RiskDecision("AWAITING_SNAPSHOT", f"{session.name}: positions of "
                                f"{session.account} not yet confirmed by the platform's "
                                "snapshot since its hello; orders refused until then", price)
        return None

    def _without_gate(self, account: str, instrument: Instrument, side: Side, quantity: int,
                      price: float, exclude: int = 0) -> RiskDecision:
        """No gate configured: the trading state still holds, with the gate's meaning."""
        state = self._trading_state(account)
        if state == TradingState.HALTED:
            return RiskDecision("TRADING_HALTED", "trading is halted", price)
        if state == TradingState.REDUCING_ONLY:
            book = self._book()
            position = int(book.position(account, instrument.symbol).net_qty)
            buy, sell = working(book, account, instrument.symbol, exclude)
            if not reduces(position, side, quantity, buy, sell):
                return RiskDecision("REDUCING_ONLY", f"reducing-only: {side.name} {quantity} "
                                    f"against the {instrument.symbol} position {position} "
                                    f"(working buy {buy}, sell {sell}) does not reduce", price)
        problem = off_grid("price", price, instrument.symbol, instrument.tick_size)
        return RiskDecision.accept(price) if problem is None else \
            RiskDecision(problem.code, problem.message, price)
