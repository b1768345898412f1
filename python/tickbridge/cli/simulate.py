"""``tickbridge simulate``: the seeded fault-injection campaign (docs/simulation-testing.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from tickbridge.simulate.faults import FAULT_KINDS

if TYPE_CHECKING:
    from tickbridge.simulate.campaign import Campaign, SessionResult


def register(sub: argparse._SubParsersAction) -> None:
    faults = "; ".join(f"{k}: {v}" for k, v in FAULT_KINDS.items())
    p = sub.add_parser(
        "simulate", help="seeded fault-injection campaign: simulated sessions under faults, "
                         "invariants checked, every failure replayable",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Runs the engine, a simulated platform and the state store in one process on a "
            "simulated clock and transport, one session per seed, under a fault schedule "
            "drawn from the seed. Invariants are checked after every step and at the end "
            "(after the faults stop and the engine has reconciled). A failing seed is "
            "shrunk to a minimal fault schedule and printed with the command that replays "
            "it exactly and the event trace before the failure.\n\nFaults: " + faults +
            "\n\nExit codes: 0 no invariant broken, 1 at least one broken, 2 bad usage."))
    p.add_argument("--seeds", type=int, default=100, help="sessions to run (default 100)")
    p.add_argument("--seed", type=int, default=0,
                   help="the first seed (default 0); with --schedule: the seed to replay")
    p.add_argument("--faults", default="all",
                   help="comma-separated fault kinds to draw from (default all; 'none': "
                        "only the random workload)")
    p.add_argument("--schedule", default=None,
                   help="replay: this exact schedule (STEP:KIND[:ARG],...) for --seed, "
                        "one session")
    p.add_argument("--steps", type=int, default=None, help="steps per session (50 ms each; "
                   "default 300)")
    p.add_argument("--jobs", type=int, default=1,
                   help="sessions run in parallel processes (default 1; make soak: 2)")
    p.add_argument("--no-shrink", action="store_true", help="report failures unshrunk")
    p.add_argument("--trace", action="store_true", help="print the trace of every session")
    p.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from tickbridge.simulate.campaign import STEPS, Campaign, shrink
    from tickbridge.simulate.faults import parse_kinds, parse_schedule
    from tickbridge.simulate.report import failure, table

    try:
        kinds = parse_kinds(args.faults)
        schedule = parse_schedule(args.schedule) if args.schedule is not None else None
    except ValueError as e:
        print(f"tickbridge simulate: {e}", file=sys.stderr)
        return 2
    steps = args.steps or STEPS
    campaign = Campaign(kinds, steps)
    seeds = [args.seed] if schedule is not None else range(args.seed, args.seed + args.seeds)
    for i, result in enumerate(_results(campaign, seeds, schedule, args.jobs), start=1):
        seed = result.seed
        if args.trace:
            print("\n".join(result.trace))
        if not result.ok:
            minimized = result.schedule if args.no_shrink or not result.schedule else \
                shrink(seed, result.schedule, result.violations[0], steps=steps)
            failure(result, minimized, sys.stdout)
        if i % 25 == 0 or i == len(seeds):
            print(f"[{i}/{len(seeds)}] seeds {args.seed}..{seed}: "
                  f"{len(campaign.failures)} failing", file=sys.stderr, flush=True)
    table(campaign, sys.stdout)
    return 1 if campaign.failures else 0


def _results(campaign: Campaign, seeds: Sequence[int], schedule: list | None,
             jobs: int) -> Iterator[SessionResult]:
    """Each seed's session, in seed order, added to the campaign's counts."""
    if jobs <= 1 or schedule is not None:
        for seed in seeds:
            yield campaign.run_one(seed, schedule)
        return
    from concurrent.futures import ProcessPoolExecutor

    from tickbridge.simulate.campaign import seed_session

    work = [(seed, campaign.kinds, campaign.steps) for seed in seeds]
    with ProcessPoolExecutor(jobs) as pool:
        for result in pool.map(seed_session, work, chunksize=10):
            yield campaign.add(result)
