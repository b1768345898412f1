"""The strategy API. A strategy subscribes to instruments and is called on closed bars,
fired price triggers, order updates and fills: never per tick from Python (the ticks are
handled by the compiled core). It acts through its Context, which turns intents into
risk-checked orders."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tickbridge.protocol import OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from tickbridge.engine.events import ArmedFired, Bar, FillEvent, OrderUpdate, TriggerFired
    from tickbridge.engine.orders import OrderRouter


class Strategy:
    """Subclass and override the callbacks you need. ``instruments`` are the platform
    symbols the strategy trades (e.g. ``"ESZ6"``); empty means every instrument."""

    name: str = "strategy"
    instruments: tuple[str, ...] = ()

    def __init__(self, **params: Any) -> None:
        for key, value in params.items():
            if not hasattr(type(self), key):
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)

    def wants(self, symbol: str) -> bool:
        return not self.instruments or symbol in self.instruments

    def on_start(self, ctx: Context) -> None: ...
    def on_instrument(self, ctx: Context, symbol: str) -> None: ...
    def on_bar(self, ctx: Context, bar: Bar) -> None: ...
    def on_trigger(self, ctx: Context, event: TriggerFired) -> None: ...
    def on_armed(self, ctx: Context, fired: ArmedFired) -> None: ...
    def on_order(self, ctx: Context, update: OrderUpdate) -> None: ...
    def on_fill(self, ctx: Context, fill: FillEvent) -> None: ...
    def on_stop(self, ctx: Context) -> None: ...


class Context:
    """What a strategy may do. Every order goes through the engine's risk gate and state
    machine; the methods return the client order id, or None when the order was refused
    (the reason is logged and audited, and ``last_refusal`` holds it)."""

    def __init__(self, router: OrderRouter, strategy: Strategy) -> None:
        self._router = router
        self._strategy = strategy
        self.last_refusal: str = ""

    # -- orders ------------------------------------------------------------------
    def buy(self, symbol: str, quantity: int, price: float | None = None, *,
            stop_price: float | None = None, tif: TimeInForce = TimeInForce.DAY) -> int | None:
        return self._order(symbol, Side.BUY, quantity, price, stop_price, tif)

    def sell(self, symbol: str, quantity: int, price: float | None = None, *,
             stop_price: float | None = None, tif: TimeInForce = TimeInForce.DAY) -> int | None:
        return self._order(symbol, Side.SELL, quantity, price, stop_price, tif)

    def cancel(self, client_order_id: int) -> bool:
        return self._result(self._router.cancel(client_order_id))

    def replace(self, client_order_id: int, *, quantity: int | None = None,
                price: float | None = None) -> bool:
        return self._result(self._router.replace(client_order_id, quantity, price))

    def flatten(self, symbol: str | None = None) -> bool:
        return self._result(self._router.flatten(symbol))

    # -- state -------------------------------------------------------------------
    def position(self, symbol: str) -> int:
        return self._router.position(symbol)

    def pnl(self, symbol: str) -> tuple[float, float]:
        """(realized, unrealized) PnL in currency, marked at the last trade."""
        return self._router.pnl(symbol)

    def working_orders(self, symbol: str | None = None) -> list[int]:
        return self._router.working_orders(symbol)

    def market(self, symbol: str) -> dict[str, float]:
        return self._router.market(symbol)

    def add_trigger(self, symbol: str, level: float, *, above: bool) -> int:
        """A one-shot trigger evaluated in the compiled core on every trade."""
        return self._router.armed.add_trigger(symbol, level, above)

    def clear_triggers(self, symbol: str) -> None:
        """Removes the symbol's triggers and armed orders that have not fired."""
        self._router.armed.clear_triggers(symbol)

    def arm(self, symbol: str, level: float, *, above: bool, side: Side | str,
            quantity: int, price: float | None = None, stop_price: float | None = None,
            tif: TimeInForce = TimeInForce.DAY) -> int | None:
        """An order sent the moment a trade prints at or beyond ``level`` (``above``: at
        or above), from the compiled tick path: the order book and the risk gate act in
        C++ and the Submit leaves before any Python runs. One-shot; ``on_armed`` is called
        after it fired (re-arm there). The order type follows from the prices as in
        ``buy``. Returns the arm id, or None (``last_refusal`` says why)."""
        from tickbridge.engine.armed import ArmSpec

        side = Side[side.upper()] if isinstance(side, str) else Side(side)
        result = self._router.armed.arm(ArmSpec(
            strategy=self._strategy.name, symbol=symbol, side=side, quantity=quantity,
            order_type=_order_type(price, stop_price),
            price=math.nan if price is None else float(price),
            stop_price=math.nan if stop_price is None else float(stop_price), tif=tif,
            level=float(level), above=above))
        return self._result_id(result)

    def rearm(self, fired: ArmedFired) -> int | None:
        """From ``on_armed``: the order that just fired, armed again on the same trigger
        (the cheap way to keep an armed order standing)."""
        return self._result_id(self._router.armed.rearm(fired.arm_id))

    def disarm(self, arm_id: int) -> bool:
        """Removes an armed order that has not fired; False when there is none."""
        return self._router.armed.disarm(arm_id)

    def tick_size(self, symbol: str) -> float:
        return self._router.instrument(symbol).tick_size

    def _order(self, symbol: str, side: Side, quantity: int, price: float | None,
               stop_price: float | None, tif: TimeInForce) -> int | None:
        result = self._router.submit(
            strategy=self._strategy.name, symbol=symbol, side=side, quantity=quantity,
            order_type=_order_type(price, stop_price),
            price=math.nan if price is None else price,
            stop_price=math.nan if stop_price is None else stop_price, tif=tif,
        )
        return self._result_id(result)

    def _result_id(self, result: int | str) -> int | None:
        if isinstance(result, str):
            self.last_refusal = result
            return None
        return result

    def _result(self, outcome: str | None) -> bool:
        if outcome:
            self.last_refusal = outcome
            return False
        return True


def _order_type(price: float | None, stop_price: float | None) -> OrderType:
    if stop_price is not None:
        return OrderType.STOP if price is None else OrderType.STOP_LIMIT
    return OrderType.MARKET if price is None else OrderType.LIMIT
