"""``tickbridge demo``: the main job on the embedded defaults."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tickbridge.engine import Engine


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the simulator and the engine end to end on bundled data",
        description=(
            "Starts the platform simulator as a separate process (seeded ES and NQ "
            "sessions) and the engine with the built-in EMA-cross strategy, over real "
            "ZeroMQ sockets on loopback. Shows live progress, then a summary table and a "
            "PNG chart of price, fills and PnL. The engine runs on the embedded default config "
            "(paper mode, risk gate, SQLite state store in the output folder). Exit code 0 "
            "only when the session ended cleanly: simulator exited normally, no malformed "
            "frames, no refused state machine events, engine positions equal to the "
            "simulator's, and the audit chain intact."
        ),
    )
    p.add_argument("--ticks", type=int, default=1_000_000,
                   help="trades to replay (default 1000000)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--bar-seconds", type=float, default=60.0, help="bar length (default 60)")
    p.add_argument("--out", type=Path, default=Path("tickbridge-demo"),
                   help="folder for the chart and the state store (default ./tickbridge-demo)")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    p.set_defaults(handler=run)


def _progress(engine: Engine, elapsed: float) -> None:
    router = engine.router
    positions = " ".join(f"{s} {router.position(s):+d}" for s in router.symbols())
    pnl = sum(sum(router.pnl(s)) for s in router.symbols())
    line = (f"  {elapsed:5.1f}s  ticks {engine.ticks:>9,}  bars {engine.bars:>4}  "
            f"orders {len(router.book):>3}  {positions}  PnL {pnl:>+10,.2f}")
    if sys.stderr.isatty():
        print(f"\r{line}", end="", file=sys.stderr, flush=True)
    elif int(elapsed * 4) % 8 == 0:
        print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from tickbridge.demo.report import save_chart, summary_table
    from tickbridge.demo.runner import run_demo

    if args.ticks <= 0:
        print("tickbridge demo: --ticks must be positive", file=sys.stderr)
        return 2
    from tickbridge.config import default_config
    from tickbridge.risk.mode import mode_banner

    print(f"tickbridge demo: {mode_banner(default_config())}\n  simulator + engine, "
          f"{args.ticks:,} ticks of ES and NQ, EMA cross on {args.bar_seconds:g} s bars, "
          f"risk gate and SQLite state store of the embedded default config", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run_demo(store=args.out / "state.sqlite", ticks=args.ticks, seed=args.seed,
                      bar_seconds=args.bar_seconds, progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(summary_table(result))
    if not args.no_chart:
        path = save_chart(result, args.out / "demo.png")
        print(f"chart: {path}")
    print(f"state store: {result.store} (audit chain: {result.audit_records} records, "
          f"{'intact' if result.audit_problem is None else 'BROKEN'}; "
          f"tickbridge audit verify --db {result.store})")
    if result.clean:
        print("session ended cleanly")
        return 0
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1
