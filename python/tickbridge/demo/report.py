"""The demo's summary table and chart."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tickbridge.demo.runner import DemoResult


def summary_table(result: DemoResult) -> str:
    head = (f"{'instrument':<10} {'bars':>6} {'orders':>7} {'fills':>6} {'position':>9} "
            f"{'platform':>9} {'realized':>12} {'unrealized':>12}")
    lines = [head, "-" * len(head)]
    for s in result.instruments.values():
        platform = "-" if s.platform_position is None else f"{s.platform_position:+d}"
        lines.append(f"{s.symbol:<10} {s.bars:>6} {s.orders:>7} {s.fills:>6} "
                     f"{s.position:>+9d} {platform:>9} {s.realized:>12,.2f} "
                     f"{s.unrealized:>12,.2f}")
    realized = sum(s.realized for s in result.instruments.values())
    unrealized = sum(s.unrealized for s in result.instruments.values())
    lines.append("-" * len(head))
    lines.append(f"{'total':<10} {'':>6} {sum(s.orders for s in result.instruments.values()):>7}"
                 f" {sum(s.fills for s in result.instruments.values()):>6} {'':>9} {'':>9} "
                 f"{realized:>12,.2f} {unrealized:>12,.2f}")
    rate = result.ticks / result.seconds if result.seconds else 0.0
    lines.append("")
    lines.append(f"{result.ticks:,} ticks in {result.frames:,} frames, {result.seconds:.1f} s "
                 f"({rate:,.0f} ticks/s end to end); {result.refusals} orders refused before "
                 "leaving the engine")
    return "\n".join(lines)


def save_chart(result: DemoResult, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    symbols = list(result.prices)
    fig, axes = plt.subplots(len(symbols) + 1, 1, figsize=(11, 3.2 * (len(symbols) + 1)),
                             sharex=True, constrained_layout=True)

    def when(ns: int) -> datetime:
        return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)

    for ax, symbol in zip(axes, symbols, strict=False):
        points = result.prices[symbol]
        ax.plot([when(t) for t, _ in points], [p for _, p in points], lw=1, color="#333",
                label=f"{symbol} bar close")
        for side, marker, color in ((1, "^", "#1a7f37"), (2, "v", "#cf222e")):
            mine = [f for f in result.fills if f.symbol == symbol and int(f.side) == side]
            if mine:
                ax.scatter([when(f.time_ns) for f in mine], [f.price for f in mine],
                           marker=marker, color=color, s=40, zorder=3,
                           label="buy fills" if side == 1 else "sell fills")
        ax.set_ylabel("price")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    pnl_ax = axes[-1]
    if result.equity:
        pnl_ax.plot([when(t) for t, _ in result.equity], [v for _, v in result.equity],
                    color="#0969da", lw=1.2)
    pnl_ax.axhline(0, color="#999", lw=0.8)
    pnl_ax.set_ylabel("PnL (USD)")
    pnl_ax.set_xlabel("simulated time (UTC)")
    pnl_ax.grid(alpha=0.3)
    fig.suptitle("tickbridge demo: EMA cross on the simulator")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
