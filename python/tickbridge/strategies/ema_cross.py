"""EMA crossover on closed bars: long when the fast EMA of bar closes is above the slow
one by more than ``threshold_ticks``, short when below, one position of ``size``
contracts per instrument. Entries are marketable limit orders ``slippage_ticks`` through
the bar close: likely to fill, never at any price.

The EMAs are the compiled streaming kernels of tickbridge.signals, the same code the
research API runs in batch, fed one bar close at a time.
"""

from __future__ import annotations

from tickbridge.engine import Context, Strategy
from tickbridge.engine.events import Bar, FillEvent
from tickbridge.signals import Ema, ema_alpha


class EmaCross(Strategy):
    name = "ema_cross"
    size = 1
    fast_bars = 5
    slow_bars = 20
    threshold_ticks = 2.0
    slippage_ticks = 4

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        if not 0 < self.fast_bars < self.slow_bars:
            raise ValueError(f"fast_bars ({self.fast_bars}) must be positive and below "
                             f"slow_bars ({self.slow_bars})")
        self._emas: dict[str, tuple[Ema, Ema, list[int]]] = {}
        self.fills = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        fast, slow, seen = self._emas.setdefault(
            bar.symbol, (Ema(ema_alpha(self.fast_bars)), Ema(ema_alpha(self.slow_bars)), [0]))
        fast_value, slow_value = fast.update(bar.close), slow.update(bar.close)
        seen[0] += 1
        if seen[0] < self.slow_bars or ctx.working_orders(bar.symbol):
            return  # warming up, or an order is still out: one decision at a time
        tick = ctx.tick_size(bar.symbol)
        spread = (fast_value - slow_value) / tick
        position = ctx.position(bar.symbol)
        if spread > self.threshold_ticks:
            target = self.size
        elif spread < -self.threshold_ticks:
            target = -self.size
        else:
            return
        if target == position:
            return
        offset = self.slippage_ticks * tick
        if target > position:
            ctx.buy(bar.symbol, target - position, bar.close + offset)
        else:
            ctx.sell(bar.symbol, position - target, bar.close - offset)

    def on_fill(self, ctx: Context, fill: FillEvent) -> None:
        self.fills += 1
