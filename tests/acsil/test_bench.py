from tests.acsil.toolchain import acsil_headers
from tickbridge_dev.bench import discover
from tickbridge_dev.bench.acsil import run


def test_acsil_call_benchmark_is_discovered_and_runs():
    acsil_headers()  # skips, saying how to run it, without Sierra Chart's headers
    assert "acsil_call" in [b.name for b in discover()]
    result = run(quick=True)
    assert result.name == "acsil_call"
    assert result.value > 0 and result.baseline_value > 0
    assert 0 < result.ratio == result.baseline_value / result.value
    assert result.extra["events_per_second"] > 0
    assert result.extra["events_received"] > 0
