"""The numba baselines of the ema/time_bars benchmarks compute what the kernels compute,
and the benchmarks report against the best alternative (no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge import signals
from tickbridge_dev.bench.signals import (
    BAR_INTERVAL_NS,
    bench_ema,
    bench_time_bars,
    numba_kernels,
    synthetic_ticks,
    time_bars_numba_table,
)

needs_numba = pytest.mark.skipif(numba_kernels() is None, reason="numba not installed "
                                 "(optional: pip install 'tickbridge[bench]')")


@needs_numba
def test_numba_time_bars_equal_the_kernel() -> None:
    t = synthetic_ticks(30_000, seed=5)
    args = (t["ts"], t["price"], t["volume"], t["side"])
    ours = signals.build_bars("time", BAR_INTERVAL_NS, *args)
    theirs = time_bars_numba_table(*args, BAR_INTERVAL_NS)
    assert theirs is not None
    for name in signals.BAR_DTYPE.names:
        np.testing.assert_array_equal(theirs[name], ours[name], err_msg=name)


@needs_numba
def test_numba_ema_equals_the_kernel() -> None:
    price = synthetic_ticks(5000)["price"]
    alpha = signals.ema_alpha(period=20)
    np.testing.assert_array_equal(numba_kernels()["ema"](price, alpha),
                                  signals.ema(price, alpha=alpha))


@pytest.mark.parametrize("bench", [bench_ema, bench_time_bars])
def test_headline_is_the_best_alternative(bench) -> None:
    result = bench(True)
    alternatives = {"numpy": result.extra["numpy_value"]}
    if "numba_value" in result.extra:
        alternatives["numba"] = result.extra["numba_value"]
    assert result.baseline_value == max(alternatives.values())
    assert result.baseline == f"best alternative: {max(alternatives, key=alternatives.get)}"
    assert "python_ratio" in result.extra
