"""What a campaign prints: progress, the table of faults injected and invariants
checked, and for a failure the replay command and the trace around it."""

from __future__ import annotations

from typing import TextIO

from tickbridge.simulate.campaign import Campaign, SessionResult
from tickbridge.simulate.faults import format_schedule
from tickbridge.simulate.invariants import INVARIANTS


def replay_command(result: SessionResult, schedule: list | None = None) -> str:
    chosen = result.schedule if schedule is None else schedule
    return (f"tickbridge simulate --seed {result.seed} "
            f"--schedule '{format_schedule(chosen)}'")


def table(campaign: Campaign, out: TextIO) -> None:
    counts = campaign.counts
    print(f"\n{campaign.sessions} sessions, {len(campaign.failures)} failing; "
          f"{campaign.simulated_s:.0f} simulated s in {campaign.real_s:.1f} real s "
          f"({campaign.simulated_s / max(campaign.real_s, 1e-9):.1f}x real time, "
          f"{campaign.sessions / max(campaign.real_s, 1e-9):.2f} sessions/s)", file=out)
    print(f"\n{'fault / effect':<34}{'count':>10}", file=out)
    for key in sorted(k for k in counts
                      if k.startswith(("fault ", "frames ", "engine ", "by hand ", "fills by "))):
        print(f"{key:<34}{counts[key]:>10}", file=out)
    for key in ("orders accepted", "orders refused"):
        print(f"{key:<34}{counts[key]:>10}", file=out)
    print(f"\n{'invariant':<20}{'checked':>10}{'broken':>8}  meaning", file=out)
    broken = {}
    for failure in campaign.failures:
        for violation in failure.violations:
            name = violation.split(":", 1)[0]
            broken[name] = broken.get(name, 0) + 1
    for name, meaning in INVARIANTS.items():
        print(f"{name:<20}{counts['checks ' + name]:>10}{broken.get(name, 0):>8}  {meaning}",
              file=out)
    if "exception" in broken:
        print(f"{'exception':<20}{'':>10}{broken['exception']:>8}  the world raised",
              file=out)


def failure(result: SessionResult, minimized: list, out: TextIO) -> None:
    print(f"\nseed {result.seed} FAILED at step {result.step}:", file=out)
    for violation in result.violations:
        print(f"  {violation}", file=out)
    print(f"  schedule: {format_schedule(result.schedule)}", file=out)
    print(f"  minimized: {format_schedule(minimized)}", file=out)
    print(f"  replay: {replay_command(result, minimized)}", file=out)
    print("  trace (last events before the failure):", file=out)
    for line in result.trace:
        print(f"    {line}", file=out)
