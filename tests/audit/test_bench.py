"""The audit_durable benchmark runs and reports its targets (timings are not asserted)."""

from __future__ import annotations

from tickbridge_dev.bench import discover


def test_audit_durable_quick_runs() -> None:
    bench = {b.name: b for b in discover()}["audit_durable"]
    result = bench.run(True)
    assert result.value > 0 and result.baseline_value > 0
    assert result.targets == {"ratio": 0.5, "value": 50_000}
    assert result.extra["events"] == 5_000 and result.extra["mean_batch"] >= 1
