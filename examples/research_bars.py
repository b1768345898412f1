"""Research example: load a tick history, build bars and signals with the compiled
kernels, and save a PNG of price, session VWAP (with bands) and cumulative delta.

    python examples/research_bars.py                      # synthetic ESH4.scid, made here
    python examples/research_bars.py ticks.scid -o out.png
    python examples/research_bars.py "ES 03-24.Last.txt" --tz America/New_York

Without a path it writes a synthetic Sierra Chart tick file (spanning CME session opens) with
the .scid writer first, so the example runs anywhere.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import numpy as np

from tickbridge import research

NS = research.NS_PER_SECOND


def synthetic_scid(path: Path, n: int = 200_000, seed: int = 7) -> Path:
    """About 28 hours of E-mini-like ticks, across two 17:00 Chicago session opens."""
    rng = np.random.default_rng(seed)
    start = 1_705_348_800 * NS  # 2024-01-15 20:00 UTC = 14:00 Chicago
    ts = start + np.cumsum(rng.exponential(0.5, n) * NS).astype(np.int64)
    ts = ts // 1000 * 1000  # .scid keeps microseconds
    price = 4800 + 0.25 * np.cumsum(rng.choice([-1, 0, 1], n, p=[0.3, 0.4, 0.3]))
    side = np.where(rng.random(n) < 0.5, 1, 2).astype(np.uint8)
    volume = rng.geometric(0.4, n).astype(np.float64)
    bid = np.where(side == 1, price - 0.25, price)
    ask = np.where(side == 1, price, price + 0.25)
    research.write_scid(path, research.tick_records(ts, price, volume, side, bid, ask))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, help=".scid tick file, NinjaTrader .txt "
                        "tick export or .csv")
    parser.add_argument("--tz", default=None, help="zone of NinjaTrader / zone-less CSV times "
                        "(IANA, or NinjaTrader's Windows name like 'Eastern Standard Time')")
    parser.add_argument("--session-tz", default="America/Chicago")
    parser.add_argument("--session-start", default="17:00")
    parser.add_argument("--bar-seconds", type=int, default=300)
    parser.add_argument("--atr-period", type=int, default=14)
    parser.add_argument("-o", "--output", type=Path, default=Path("research_bars.png"))
    args = parser.parse_args()
    bar = timedelta(seconds=args.bar_seconds)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or synthetic_scid(Path(tmp) / "ESH4.scid")
        try:
            ticks = research.load(path, tz=args.tz)
        except (ValueError, OSError) as e:  # a missing --tz, a corrupt or missing file
            print(f"research_bars: {e}", file=sys.stderr)
            return 2
    if "price" not in ticks:
        print(f"research_bars: {path} holds bars, not ticks; this example builds its own "
              "bars from a tick file (Intraday Data Storage Time Unit = 1 tick)",
              file=sys.stderr)
        return 2
    if len(ticks["ts"]) == 0:
        print(f"research_bars: {path} has no trades", file=sys.stderr)
        return 2

    session = research.session_ids(ticks["ts"], args.session_tz, args.session_start)
    bars = research.bars(ticks, "time", bar, session=session)
    sig = research.signals(ticks, session=session)
    per_bar = research.bar_signals(bars, atr_period=args.atr_period)
    atr = per_bar["atr"][-1]
    atr_text = (f"last ATR({args.atr_period}) {atr:.2f}" if np.isfinite(atr) else
                f"ATR({args.atr_period}) needs {args.atr_period} bars, have {len(bars['ts'])}")
    print(f"{len(ticks['ts']):,} ticks, {len(np.unique(session))} session(s), "
          f"{len(bars['ts']):,} bars of {args.bar_seconds}s; {atr_text}, "
          f"last VWAP {sig['vwap'][-1]:.2f}, cumulative delta {sig['cumulative_delta'][-1]:+.0f}")

    # One point per bar, at the bar's end (its close is known then, not at its open):
    # the tick-level signals are sampled at each bar's last tick.
    last_tick = np.cumsum(bars["trade_count"]) - 1
    bar_end = np.minimum(bars["ts"] + args.bar_seconds * NS, ticks["ts"][last_tick] + 1)
    when = research.ns_to_datetime64(bar_end)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7),
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.fill_between(when, bars["low"], bars["high"], step="pre", color="0.85",
                     label=f"{args.bar_seconds}s bar high-low")
    top.plot(when, bars["close"], color="black", lw=0.8, label="bar close (at bar end)")
    top.plot(when, sig["vwap"][last_tick], color="tab:blue", lw=1.2, label="session VWAP")
    top.plot(when, sig["vwap_upper"][last_tick], color="tab:blue", lw=0.6, ls="--",
             label="VWAP +- 2 stddev")
    top.plot(when, sig["vwap_lower"][last_tick], color="tab:blue", lw=0.6, ls="--")
    top.set_ylabel("price")
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(when, sig["cumulative_delta"][last_tick], color="tab:red", lw=0.8)
    bottom.axhline(0, color="0.7", lw=0.5)
    bottom.set_ylabel("cumulative delta")
    bottom.set_xlabel("UTC")
    fig.suptitle(f"{Path(path).name}: {args.bar_seconds}s bars, session VWAP, cumulative delta")
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
