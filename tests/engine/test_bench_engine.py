"""The engine benchmarks run and report what docs/benchmarks.md quotes (no timing
assertions: the figures are the benchmark's business, the shape is the test's)."""

from __future__ import annotations

from tickbridge_dev.bench.engine import BLOCKS, ROUNDS, run_ingest, run_roundtrip


def test_roundtrip_reports_both_sides_from_the_armed_path() -> None:
    result = run_roundtrip(quick=True)
    extra = result.extra
    assert extra["samples"] == BLOCKS * 20
    assert 0 < extra["baseline_p50_us"] <= extra["baseline_p99_us"]
    assert 0 < extra["p50_us"] <= extra["p99_us"]
    assert extra["p50_over_echo_us"] == extra["p50_us"] - extra["baseline_p50_us"]
    assert extra["p50_margin_ok"] in (0, 1) and extra["p99_ratio_ok"] in (0, 1)


def test_ingest_reports_a_ratio_against_the_bare_socket() -> None:
    result = run_ingest(quick=True)
    assert result.value > 0 and result.baseline_value > 0
    assert result.ratio == result.value / result.baseline_value
    assert result.extra["bars_closed"] > 0
    extra = result.extra
    assert len(extra["baseline_runs"]) == len(extra["engine_runs"]) == ROUNDS
    assert sorted(extra["engine_runs"])[ROUNDS // 2] == result.value
