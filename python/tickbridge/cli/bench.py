"""``tickbridge bench``: run the measured hot paths, each against a same-run baseline."""

from __future__ import annotations

import argparse
import json
import sys

from tickbridge.bench import discover


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run benchmarks against same-run baselines",
        description=(
            "Run the benchmarks whose name contains NAME (all when omitted). Each measures a "
            "hot path and a baseline in the same run and reports ratio = ours / baseline, "
            "higher is better. Absolute figures on shared machines are noisy; the ratio is "
            "what to compare."
        ),
    )
    p.add_argument("name", nargs="?", default="", help="substring of benchmark names to run")
    p.add_argument("--list", action="store_true", help="list benchmark names and exit")
    p.add_argument("--json", action="store_true", help="one JSON object per line per benchmark")
    p.add_argument("--quick", action="store_true", help="small inputs: checks it runs, not speed")
    p.add_argument(
        "--check", action="store_true", help="exit 1 when a benchmark misses its targets"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    benches = [b for b in discover() if args.name in b.name]
    if args.list:
        for b in benches:
            print(f"{b.name:<16} {b.description}")
        return 0
    if not benches:
        print(f"tickbridge bench: no benchmark name contains {args.name!r}; "
              "see 'tickbridge bench --list'", file=sys.stderr)
        return 2
    missed = 0
    if not args.json:
        print(f"{'benchmark':<16} {'value':>14} {'unit':<14} {'baseline':>14}  "
              f"{'ratio':>8}  {'targets':<22} baseline is")
    live = not args.json and sys.stderr.isatty()
    for b in benches:
        if live:
            print(f"{b.name:<16} running...", end="\r", file=sys.stderr, flush=True)
        r = b.run(args.quick)
        if live:
            print(" " * 40, end="\r", file=sys.stderr, flush=True)
        missed += not r.meets_targets
        if args.json:
            print(json.dumps(r.as_json()), flush=True)
        else:
            targets = ", ".join(f"{k}>={v:g}" for k, v in r.targets.items()) or "-"
            mark = "ok" if r.meets_targets else "MISSED"
            print(f"{r.name:<16} {r.value:>14,.0f} {r.unit:<14} {r.baseline_value:>14,.0f}  "
                  f"{r.ratio:>8.2f}  {targets + ' ' + mark:<22} {r.baseline}", flush=True)
    return 1 if (args.check and missed) else 0
