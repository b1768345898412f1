"""An example strategy on the tickbridge strategy API: fade the session VWAP bands.

On each closed bar it re-arms two compiled price triggers at the VWAP bands (the core
watches every tick, Python is called only when one fires). A trade through the upper band
sells one contract with a limit at the band, a trade through the lower band buys; the
position is closed when a bar closes back across the VWAP. At most one working order.

Run it against the platform simulator (both on loopback, paper mode):

    .venv/bin/python examples/vwap_fade_strategy.py --ticks 400000

or name it in a config (``entry = "vwap_fade_strategy:VwapFade"`` with ``examples/`` on
PYTHONPATH) and start ``tickbridge run --config FILE``.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from tickbridge.config import default_config
from tickbridge.engine import Context, Strategy
from tickbridge.engine.build import build_engine
from tickbridge.engine.events import Bar, FillEvent, TriggerFired


class VwapFade(Strategy):
    name = "vwap_fade"
    size = 1
    warmup_bars = 15  # the bands mean little in the first minutes of a session

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._bars: dict[str, int] = {}
        self._upper: dict[str, int] = {}  # symbol -> trigger id of the upper band
        self.fills: list[FillEvent] = []

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        seen = self._bars[bar.symbol] = self._bars.get(bar.symbol, 0) + 1
        market = ctx.market(bar.symbol)
        upper, lower = market["vwap_upper"], market["vwap_lower"]
        if seen < self.warmup_bars or math.isnan(upper) or ctx.working_orders(bar.symbol):
            return
        position = ctx.position(bar.symbol)
        if position and (position > 0) == (bar.close >= bar.vwap):
            # Back across the VWAP: take the profit (or the loss) with a marketable limit.
            tick = ctx.tick_size(bar.symbol)
            if position > 0:
                ctx.sell(bar.symbol, position, bar.close - 2 * tick)
            else:
                ctx.buy(bar.symbol, -position, bar.close + 2 * tick)
            return
        if position == 0:
            tick = ctx.tick_size(bar.symbol)
            ctx.clear_triggers(bar.symbol)  # re-armed at this bar's bands
            self._upper[bar.symbol] = ctx.add_trigger(bar.symbol, _on_grid(upper, tick),
                                                      above=True)
            ctx.add_trigger(bar.symbol, _on_grid(lower, tick), above=False)

    def on_trigger(self, ctx: Context, event: TriggerFired) -> None:
        ctx.clear_triggers(event.symbol)  # the other band's trigger too: one entry per arming
        if ctx.position(event.symbol) or ctx.working_orders(event.symbol):
            return
        tick = ctx.tick_size(event.symbol)
        price = _on_grid(event.price, tick)
        if event.trigger_id == self._upper.get(event.symbol):
            ctx.sell(event.symbol, self.size, price)
        else:
            ctx.buy(event.symbol, self.size, price)

    def on_fill(self, ctx: Context, fill: FillEvent) -> None:
        self.fills.append(fill)


def _on_grid(price: float, tick: float) -> float:
    return round(price / tick) * tick


def main() -> int:
    parser = argparse.ArgumentParser(description="VWAP-band fade against the simulator")
    parser.add_argument("--ticks", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    config = default_config()
    strategy = VwapFade()
    strategy.instruments = ("ES",)
    with tempfile.TemporaryDirectory() as folder:
        engine = build_engine(config, clock="market", shim_endpoint="tcp://127.0.0.1:*",
                              control_endpoint="tcp://127.0.0.1:*",
                              state_store=Path(folder) / "state.sqlite", strategies=[strategy])
        sim = subprocess.Popen([sys.executable, "-m", "tickbridge", "sim", "--engine",
                                engine.endpoint, "--kill-endpoint", "none", "--ticks",
                                str(args.ticks), "--seed", str(args.seed), "--speed", "0",
                                "--keep-time", "--exit-after-end", "1", "--status-interval",
                                "0", "--log-level", "WARNING"])
        try:
            engine.run(until=lambda: sim.poll() is not None, seconds=300)
            engine.poll(timeout_ms=100)
        finally:
            if sim.poll() is None:
                sim.terminate()
            sim.wait(timeout=10)
            router = engine.router
            for symbol in router.symbols():
                realized, unrealized = router.pnl(symbol)
                print(f"{symbol}: position {router.position(symbol):+d}, realized "
                      f"{realized:,.2f}, unrealized {unrealized:,.2f}")
            print(f"{len(strategy.fills)} fills, {engine.ticks:,} ticks")
            engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
