"""``tickbridge bench``: run the measured hot paths, each against a same-run baseline."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import tickbridge

# The benchmarks are development code (they build the study and the NinjaScript host from
# their sources, and measure against Python oracles), kept out of the wheel in the
# repository's ``tickbridge_dev`` package.
NOT_IN_WHEEL = (
    "tickbridge bench: the benchmarks are not part of the installed package; they live in "
    "the repository (tickbridge_dev/bench). Run it from a source checkout: 'make bench', or "
    "'tickbridge bench' in the repository's root folder, or set TICKBRIDGE_SOURCE to it.")


def _checkouts() -> list[Path]:
    """Where a checkout may be: $TICKBRIDGE_SOURCE, the working folder, and the folder this
    package was imported from when it is the checkout's python/ (an editable install)."""
    import os

    found = [Path(p) for p in (os.environ.get("TICKBRIDGE_SOURCE"), os.getcwd()) if p]
    return [*found, Path(tickbridge.__file__).resolve().parents[2]]


def _bench_package() -> ModuleType | None:
    """``tickbridge_dev.bench`` from this process's path or from a checkout; None: none."""
    try:
        return importlib.import_module("tickbridge_dev.bench")
    except ModuleNotFoundError as e:
        if e.name not in ("tickbridge_dev", "tickbridge_dev.bench"):
            raise
    for root in _checkouts():
        if (root / "tickbridge_dev" / "bench" / "__init__.py").is_file():
            sys.path.insert(0, str(root))
            return importlib.import_module("tickbridge_dev.bench")
    return None


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
    package = _bench_package()
    if package is None:
        print(NOT_IN_WHEEL, file=sys.stderr)
        return 2
    benches = [b for b in package.discover() if args.name in b.name]
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
