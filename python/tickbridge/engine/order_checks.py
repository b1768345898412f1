"""The checks that depend on the order alone (quantity, prices its type needs, the tick
grid), before any risk limit: one wording for intents, control submits and armed orders.
A problem is a refused ``RiskDecision`` (the one decision type; tickbridge.risk.reasons)."""

from __future__ import annotations

import math

from tickbridge.protocol import OrderType
from tickbridge.risk.reasons import RiskDecision


def on_grid(price: float, tick_size: float) -> bool:
    if tick_size <= 0:
        return True
    ticks = price / tick_size
    return abs(ticks - round(ticks)) <= 1e-9 * max(1.0, abs(ticks))


def off_grid(what: str, value: float, symbol: str, tick_size: float) -> RiskDecision | None:
    if math.isnan(value) or on_grid(value, tick_size):
        return None
    return RiskDecision("OFF_TICK", f"{what} {value} is not on the {symbol} tick grid "
                                    f"({tick_size})", value)


def order_problem(symbol: str, tick_size: float, quantity: float, order_type: OrderType,
                  price: float, stop_price: float) -> RiskDecision | None:
    """The refusal of the first problem, or None. The limit price's grid is not checked
    here: with a risk gate its tick policy may round it instead."""
    if int(quantity) != quantity or quantity <= 0:
        return RiskDecision("INVALID_QUANTITY",
                            f"quantity {quantity} must be a positive whole number", price)
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and math.isnan(price):
        return RiskDecision("NO_PRICE", f"a {order_type.name} order needs a price", price)
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and math.isnan(stop_price):
        return RiskDecision("NO_PRICE", f"a {order_type.name} order needs a stop price", price)
    problem = off_grid("stop price", stop_price, symbol, tick_size)
    return None if problem is None else RiskDecision(problem.code, problem.message, price)
