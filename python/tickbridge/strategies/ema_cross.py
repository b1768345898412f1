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
        # Every problem at once, each naming its parameter: a config is fixed in one pass.
        known = {k for k in vars(EmaCross) if not k.startswith("_") and k != "name"
                 and not callable(getattr(EmaCross, k))}
        errors = [f"{k}: unknown parameter (known: {', '.join(sorted(known))})"
                  for k in params if k not in known]
        super().__init__(**{k: v for k, v in params.items() if k in known})
        errors += self._value_errors()
        if errors:
            raise ValueError("; ".join(errors))
        self._emas: dict[str, tuple[Ema, Ema, list[int]]] = {}
        self.fills = 0

    def _value_errors(self) -> list[str]:
        errors = []
        for name in ("size", "fast_bars", "slow_bars", "slippage_ticks"):
            value = getattr(self, name)
            least = 0 if name == "slippage_ticks" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                errors.append(f"{name}: must be a whole number >= {least} (got {value!r})")
        threshold = self.threshold_ticks
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                or not threshold >= 0:
            errors.append(f"threshold_ticks: must be a number >= 0 (got {threshold!r})")
        fast, slow = self.fast_bars, self.slow_bars
        if not any(e.startswith(("fast_bars", "slow_bars")) for e in errors) and fast >= slow:
            errors.append(f"fast_bars: {fast} must be below slow_bars ({slow})")
        return errors

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
