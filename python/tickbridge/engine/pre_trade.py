"""The engine's pre-trade decision for one order (``Engine.pre_trade_check`` delegates
here): the shim session it would go to, the order alone, then the risk gate; without a
gate (no ``[risk]`` section), the engine's own trading state.

One decision type (``RiskDecision``) and one meaning of reducing-only, the gate's
(cpp/src/risk/gate.cpp ``RiskGate::reduces``): an order reduces when it is against the
position and, with the working orders on its side, does not take the position through
zero. Two working sells of 2 against a long 2 leave nothing for a third sell to reduce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickbridge.engine.order_checks import off_grid, order_problem
from tickbridge.protocol import OrderType, Side
from tickbridge.risk.reasons import RiskDecision, TradingState

if TYPE_CHECKING:
    from tickbridge.engine.engine import Engine


def reduces(position: int, side: Side, quantity: int, working_buy: int,
            working_sell: int) -> bool:
    """gate.cpp's rule, to the letter: a sell reduces a long position by what is not
    already being sold; a buy a short one by what is not already being bought."""
    if side == Side.SELL:
        return position > 0 and quantity + working_sell <= position
    return position < 0 and quantity + working_buy <= -position


def working(book: Any, account: str, symbol: str) -> tuple[int, int]:
    """(buy, sell) quantities still working on (account, symbol) in the order book: what
    the gate reserves (the same sum recovery.resync_working sets it from)."""
    buy = sell = 0
    for order in book.orders():
        if order.is_terminal or order.account != account or order.instrument != symbol:
            continue
        if order.side == Side.BUY:
            buy += int(order.leaves_qty)
        else:
            sell += int(order.leaves_qty)
    return buy, sell


def pre_trade_check(engine: Engine, session: Any, instrument: Any, side: Side,
                    quantity: int, order_type: OrderType, price: float,
                    stop_price: float) -> RiskDecision:
    """Accepted (with the price to send: the gate may round it) or refused, and why."""
    if session.refused:
        return RiskDecision("ACCOUNT_REFUSED", f"{session.name} was refused at hello: "
                                               f"{session.refused}", price)
    if session.lost or not session.accepted:
        return RiskDecision("NOT_CONNECTED", f"{session.name} is not connected", price)
    if engine.risk is not None and not session.confirmed:
        # The gate's positions are the store's until the platform's own have been
        # compared with them: a restart must not trade on a picture it has not checked.
        return RiskDecision("AWAITING_SNAPSHOT", f"{session.name}: positions of "
                            f"{session.account} not yet confirmed by the platform's snapshot "
                            "since its hello; orders refused until then", price)
    problem = order_problem(instrument.symbol, instrument.tick_size, quantity, order_type,
                            price, stop_price)
    if problem is not None:
        return problem
    if engine.risk is not None:
        return engine.risk.check(session.account, instrument.symbol, side, int(quantity),
                                 order_type, price, engine.core.state(instrument.slot))
    return _without_gate(engine, session.account, instrument, side, int(quantity), price)


def _without_gate(engine: Engine, account: str, instrument: Any, side: Side, quantity: int,
                  price: float) -> RiskDecision:
    """No gate configured: the trading state still holds, with the gate's meaning."""
    state = engine.trading_state(account)
    if state == TradingState.HALTED:
        return RiskDecision("TRADING_HALTED", "trading is halted", price)
    if state == TradingState.REDUCING_ONLY:
        book = engine.router.book
        position = int(book.position(account, instrument.symbol).net_qty)
        buy, sell = working(book, account, instrument.symbol)
        if not reduces(position, side, quantity, buy, sell):
            return RiskDecision("REDUCING_ONLY", f"reducing-only: {side.name} {quantity} "
                                f"against the {instrument.symbol} position {position} "
                                f"(working buy {buy}, sell {sell}) does not reduce", price)
    problem = off_grid("price", price, instrument.symbol, instrument.tick_size)
    return RiskDecision.accept(price) if problem is None else \
        RiskDecision(problem.code, problem.message, price)
