"""The checks an order passes before it leaves the engine (ctx.buy/sell, control submits,
armed orders the tick path deferred): the link may trade, the order is well formed, and
the risk gate (or, with no gate configured, the trading state alone) allows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickbridge.engine.order_checks import off_grid, order_problem
from tickbridge.engine.session import Instrument, ShimSession
from tickbridge.protocol import OrderType, Side
from tickbridge.risk.reasons import TradingState

Refusal = tuple[str, str]  # (code, sentence)


class PreTrade:
    def __init__(self, *, core: Any, risk: Any,
                 trading_state: Callable[[str | None], TradingState],
                 position: Callable[[str], int],
                 platform_refusal: Callable[[ShimSession], Refusal | None]) -> None:
        self._platform_refusal = platform_refusal
        self._core = core
        self._risk = risk
        self._trading_state = trading_state
        self._position = position

    def __call__(self, session: ShimSession, instrument: Instrument, side: Side,
                 quantity: int, order_type: OrderType, price: float,
                 stop_price: float) -> tuple[Refusal | None, float]:
        """((code, sentence) or None when the order may go out, the price to send)."""
        refusal = self._link(session) or order_problem(
            instrument.symbol, instrument.tick_size, quantity, order_type, price, stop_price)
        if refusal is not None:
            return refusal, price
        if self._risk is not None:
            decision = self._risk.check(session.account, instrument.symbol, side,
                                        int(quantity), order_type, price,
                                        self._core.state(instrument.slot))
            if not decision.ok:
                return (decision.reason.name, decision.message), price
            return None, decision.price
        return self._state_only(session.account, instrument, side, quantity, price), price

    def _link(self, session: ShimSession) -> Refusal | None:
        if session.refused:
            return ("ACCOUNT_REFUSED",
                    f"{session.name} was refused at hello: {session.refused}")
        if session.lost or not session.accepted:
            return ("NOT_CONNECTED", f"{session.name} is not connected")
        refusal = self._platform_refusal(session)  # its platform's broker link is down
        if refusal is not None:
            return refusal
        if self._risk is not None and not session.confirmed:
            # The gate's positions are the store's until the platform's own have been
            # compared with them: a restart must not trade on a picture it has not checked.
            return ("AWAITING_SNAPSHOT", f"{session.name}: positions of {session.account} "
                                         "not yet confirmed by the platform's snapshot "
                                         "since its hello; orders refused until then")
        return None

    def _state_only(self, account: str, instrument: Instrument, side: Side, quantity: int,
                    price: float) -> Refusal | None:
        """No risk gate configured: the trading state alone, and the tick grid."""
        state = self._trading_state(account)
        if state == TradingState.HALTED:
            return ("TRADING_HALTED", "trading is halted")
        if state == TradingState.REDUCING_ONLY:
            position = self._position(instrument.symbol)
            after = position + (quantity if side == Side.BUY else -quantity)
            reduces = position != 0 and (after == 0 or (after * position > 0
                                                        and abs(after) < abs(position)))
            if not reduces:
                return ("REDUCING_ONLY", f"reducing-only: {side.name} {quantity} would not "
                                         f"reduce the {instrument.symbol} position "
                                         f"{position}")
        return off_grid("price", price, instrument.symbol, instrument.tick_size)
