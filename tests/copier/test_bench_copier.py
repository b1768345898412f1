"""The copier benchmark runs and reports what docs/benchmarks.md quotes (no timing
assertions), every sample a copy the core sent."""

from __future__ import annotations

from tickbridge_dev.bench.copier import BLOCKS, run_copier


def test_copier_bench_reports_one_and_ten_followers_against_the_echo() -> None:
    result = run_copier(quick=True)
    extra = result.extra
    assert extra["samples"] == BLOCKS * 10
    assert 0 < extra["echo_p50_us"] <= extra["echo_p99_us"]
    assert 0 < extra["followers_1_p50_us"] <= extra["followers_1_p99_us"]
    assert extra["followers_1_p50_over_echo_us"] == \
        extra["followers_1_p50_us"] - extra["echo_p50_us"]
    assert 0 < extra["followers_10_p50_us"] <= extra["followers_10_p99_us"]
    assert extra["p50_margin_ok"] in (0, 1) and extra["linear_ok"] in (0, 1)
    # Every leader fill was copied by the core, none by the Python copier (the warm-up
    # block and both runs included).
    assert extra["compiled_copies"] == extra["copies"]
