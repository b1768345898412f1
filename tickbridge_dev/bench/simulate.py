"""``simulate``: simulated trading sessions under faults (tickbridge simulate), measured as
sessions per second; the ratio is simulated seconds per real second (the baseline: real
time, 1 s per s). Inputs: the campaign's own sessions (300 steps of 50 ms, then the
settle phase), seeds 0.., the transport faults (the CI slice's mix)."""

from __future__ import annotations

from tickbridge_dev.bench.registry import Benchmark, BenchResult


def run(quick: bool) -> BenchResult:
    from tickbridge.simulate.campaign import Campaign
    from tickbridge.simulate.faults import parse_kinds

    sessions = 4 if quick else 100
    campaign = Campaign(parse_kinds("drop,dup,reorder,delay"))
    for seed in range(sessions):
        campaign.run_one(seed)
    speed = campaign.simulated_s / campaign.real_s
    return BenchResult(
        name="simulate", value=campaign.sessions / campaign.real_s, unit="sessions/s",
        baseline="real time (1 simulated s per s)", baseline_value=1.0, ratio=speed,
        targets={"ratio": 10.0},
        extra={"sessions": campaign.sessions, "simulated_s": round(campaign.simulated_s, 1),
               "real_s": round(campaign.real_s, 2), "failing": len(campaign.failures)})


BENCHMARKS = [Benchmark("simulate", "simulated sessions under faults vs real time", run)]
