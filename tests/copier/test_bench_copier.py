"""The copier benchmark runs and reports what docs/benchmarks.md quotes (no timing
assertions), every sample a copy the core sent."""

from __future__ import annotations

import os

from tickbridge_dev.bench.copier import BLOCKS, run_copier


def test_copier_bench_reports_one_five_and_ten_followers_against_the_echo() -> None:
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    result = run_copier(quick=True)
    # The engine pinned this thread (engine.cpu) and gave its CPUs back on closing.
    assert cpus is None or os.sched_getaffinity(0) == cpus
    extra = result.extra
    assert extra["samples"] == BLOCKS * 10
    assert 0 < extra["echo_p50_us"] <= extra["echo_p99_us"]
    assert 0 < extra["followers_1_p50_us"] <= extra["followers_1_p99_us"]
    assert extra["followers_1_p50_over_echo_us"] == \
        extra["followers_1_p50_us"] - extra["echo_p50_us"]
    for n in (5, 10):
        assert 0 < extra[f"followers_{n}_p50_us"] <= extra[f"followers_{n}_p99_us"]
    assert extra["per_extra_follower_1_to_5_us"] == \
        (extra["followers_5_p50_us"] - extra["followers_1_p50_us"]) / 4
    assert extra["p50_margin_ok"] in (0, 1) and extra["linear_ok"] in (0, 1)
    # Every leader fill was copied by the core, none by the Python copier (the warm-up
    # block and every run included).
    assert extra["compiled_copies"] == extra["copies"]
