"""The dashboard benchmark runs and reports what docs/benchmarks.md quotes (no timing
assertions: the figures are the benchmark's business, the shape is the test's)."""

from __future__ import annotations

import pytest

from tickbridge_dev.bench.dashboard import BROWSERS, run_dashboard


@pytest.mark.parametrize("separate", [False, True])
def test_dashboard_bench_measures_both_sides_with_browsers_reading(separate: bool) -> None:
    result = run_dashboard(quick=True, separate=separate)
    assert result.name == ("dashboard_process" if separate else "dashboard")
    extra = result.extra
    assert result.ratio == min(extra["ingest_ratio"], extra["roundtrip_p50_ratio"])
    assert len(extra["ingest_with"]) == len(extra["ingest_without"]) == extra["rounds"]
    assert all(v > 0 for v in extra["ingest_with"] + extra["ingest_without"])
    assert all(v > 0 for v in extra["roundtrip_p50_us_with"] +
               extra["roundtrip_p50_us_without"])
    # Two attachments (ingest, roundtrip), each with every browser receiving frames.
    assert len(extra["browser_frames"]) == 2
    assert all(len(got) == BROWSERS and min(got) > 0 for got in extra["browser_frames"])
