from tickbridge_dev.bench import discover


def test_webhook_bench_is_registered_and_runs_quick():
    (bench,) = [b for b in discover() if b.name == "webhook"]
    result = bench.run(True)
    assert result.unit == "alerts/s" and result.value > 0 and result.baseline_value > 0
    assert result.extra["accepted"] == result.extra["alerts"]
    assert result.extra["p99_ms"] < 3000
