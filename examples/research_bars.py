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
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, help=".scid, NinjaTrader .txt or .csv")
    parser.add_argument("--tz", default=None, help="zone of NinjaTrader / zone-less CSV times")
    parser.add_argument("--session-tz", default="America/Chicago")
    parser.add_argument("--session-start", default="17:00")
    parser.add_argument("--bar-seconds", type=int, default=300)
    parser.add_argument("-o", "--output", type=Path, default=Path("research_bars.png"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or synthetic_scid(Path(tmp) / "ESH4.scid")
        ticks = research.load(path, tz=args.tz)

    session = research.session_ids(ticks["ts"], args.session_tz, args.session_start)
    bars = research.bars(ticks, "time", args.bar_seconds * NS, session=session)
    sig = research.signals(ticks, session=session)
    per_bar = research.bar_signals(bars)
    print(f"{len(ticks['ts']):,} ticks, {len(np.unique(session))} session(s), "
          f"{len(bars['ts']):,} bars of {args.bar_seconds}s; last ATR {per_bar['atr'][-1]:.2f}, "
          f"last VWAP {sig['vwap'][-1]:.2f}, cumulative delta {sig['cumulative_delta'][-1]:+.0f}")

    when = research.ns_to_datetime64(ticks["ts"])
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7),
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.plot(when, ticks["price"], lw=0.4, color="0.55", label="trade price")
    top.step(research.ns_to_datetime64(bars["ts"]), bars["close"], where="post", lw=0.8,
             color="black", label=f"{args.bar_seconds}s bar close")
    top.plot(when, sig["vwap"], color="tab:blue", lw=1.2, label="session VWAP")
    top.plot(when, sig["vwap_upper"], color="tab:blue", lw=0.6, ls="--", label="VWAP +- 2 stddev")
    top.plot(when, sig["vwap_lower"], color="tab:blue", lw=0.6, ls="--")
    top.set_ylabel("price")
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(when, sig["cumulative_delta"], color="tab:red", lw=0.8)
    bottom.axhline(0, color="0.7", lw=0.5)
    bottom.set_ylabel("cumulative delta")
    bottom.set_xlabel("UTC")
    fig.suptitle(f"{Path(path).name}: price, session VWAP, cumulative delta")
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
