"""The signal benchmarks run (quick inputs; no timing assertions) and their baselines
compute the same thing as the kernels they are compared with."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge import signals
from tickbridge_dev.bench import discover
from tickbridge_dev.bench.signals import (
    BAR_INTERVAL_NS,
    ema_numpy,
    ema_python,
    ema_python_over_array,
    synthetic_ticks,
    time_bars_numpy,
    time_bars_python,
)


@pytest.mark.parametrize("name", ["ema", "time_bars", "scid_read"])
def test_benchmark_runs_quick(name: str) -> None:
    (bench,) = [b for b in discover() if b.name == name]
    result = bench.run(True)
    assert result.name == name and result.value > 0 and result.baseline_value > 0
    assert result.ratio == pytest.approx(result.value / result.baseline_value)
    assert set(result.targets) <= {"ratio", "value", *result.extra}
    result.as_json()


@pytest.mark.parametrize("period", [1, 2, 20, 500])
@pytest.mark.parametrize("n", [1, 2, 7, 5000])
def test_ema_baselines_agree_with_kernel(period: int, n: int) -> None:
    price = synthetic_ticks(n, seed=period)["price"]
    alpha = signals.ema_alpha(period=period)
    ours = signals.ema(price, alpha=alpha)
    np.testing.assert_array_equal(ema_python(price.tolist(), alpha), ours)
    np.testing.assert_array_equal(ema_python_over_array(price, alpha), ours)
    np.testing.assert_allclose(ema_numpy(price, alpha), ours, rtol=1e-12)
    assert ema_numpy(np.empty(0), alpha).size == 0


def test_time_bar_baselines_agree_with_kernel() -> None:
    t = synthetic_ticks(30_000, seed=3)
    args = (t["ts"], t["price"], t["volume"], t["side"])
    ours = signals.build_bars("time", BAR_INTERVAL_NS, *args)
    vectorized = time_bars_numpy(*args, BAR_INTERVAL_NS)
    for name in signals.BAR_DTYPE.names:
        np.testing.assert_array_equal(vectorized[name], ours[name], err_msg=name)
    looped = time_bars_python(*(a.tolist() for a in args), BAR_INTERVAL_NS)
    assert looped == [tuple(b.item()) for b in ours]
