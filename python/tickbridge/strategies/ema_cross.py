"""EMA crossover on closed bars: long when the fast EMA is above the slow one, short when
below, one position of ``size`` contracts per instrument, entered with marketable limit
orders a few ticks through the touch so a fill is likely but the price is capped."""

from __future__ import annotations

import math

from tickbridge.engine import Context, Strategy
from tickbridge.engine.events import Bar, FillEvent, OrderUpdate


class EmaCross(Strategy):
    name = "ema_cross"
    size = 1
    # How far through the touch the entry limit may go, in ticks.
    slippage_ticks = 4
    # Minimum EMA separation, in ticks, before acting: ignores flat-market noise.
    threshold_ticks = 1.0

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.fills = 0
        self.updates = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if math.isnan(bar.ema_fast) or math.isnan(bar.ema_slow) or ctx.working_orders(bar.symbol):
            return
        tick = ctx.tick_size(bar.symbol)
        spread = (bar.ema_fast - bar.ema_slow) / tick
        position = ctx.position(bar.symbol)
        target = self.size if spread > self.threshold_ticks else (
            -self.size if spread < -self.threshold_ticks else position)
        if target == position:
            return
        quantity = abs(target - position)
        offset = self.slippage_ticks * tick
        if target > position:
            ctx.buy(bar.symbol, quantity, bar.close + offset)
        else:
            ctx.sell(bar.symbol, quantity, bar.close - offset)

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        self.updates += 1

    def on_fill(self, ctx: Context, fill: FillEvent) -> None:
        self.fills += 1
