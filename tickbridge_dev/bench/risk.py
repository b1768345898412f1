"""``risk_checks``: pre-trade checks per second, compiled gate against the same checks in
Python (``tickbridge_dev.oracles.risk``), in the same run.

What was judged the hot path: one full check per order (allow-list, session, loss limit
and trading state, size, tick grid, data age, price band, projected position per instrument
and per account, three rate windows). Inputs judged realistic: 4 instruments, 3 accounts
with every limit set, limit prices around the market with some off-tick, oversized and
out-of-band orders (about 1 in 5 refused). Orders are not committed (commit=False), so
every order sees the same books and both sides do identical work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickbridge.protocol.enums import Side
from tickbridge.risk.gate import RiskGateHandle
from tickbridge.risk.limits import RiskLimits
from tickbridge_dev.bench.registry import Benchmark, BenchResult, timed_rate
from tickbridge_dev.oracles.risk import PyRiskGateHandle

T0 = 1_795_000_000_000_000_000


@dataclass(frozen=True)
class _Spec:
    tick_size: float
    point_value: float


_SPECS = {"ESZ6": _Spec(0.25, 50.0), "NQZ6": _Spec(0.25, 20.0), "CLF7": _Spec(0.01, 1000.0),
          "GCG7": _Spec(0.1, 100.0)}
_PRICES = np.array([6000.0, 21000.0, 70.0, 2650.0])
_TICKS = np.array([0.25, 0.25, 0.01, 0.1])
_LIMITS = {
    "defaults": {"max_order_qty": 10, "max_position": 50, "band_ticks": 40,
                 "max_data_age_ms": 5000},
    "default_account": {"max_position": 120, "daily_loss_limit": 20000,
                        "max_orders_per_second": 50, "max_orders_per_minute": 1000,
                        "max_orders_per_hour": 10000},
}


def _gate(pure_python: bool) -> RiskGateHandle:
    kind = PyRiskGateHandle if pure_python else RiskGateHandle
    gate = kind(RiskLimits.model_validate(_LIMITS), _SPECS, ["A1", "A2", "A3"])
    for symbol, price in zip(_SPECS, _PRICES, strict=True):
        gate.on_trade(symbol, float(price), T0)
    gate.on_fill("A1", "ESZ6", Side.BUY, 5, 6000.0)
    gate.set_working("A2", "NQZ6", 4, 2)
    return gate


def _orders(n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(11)
    instrument = rng.integers(0, 4, n).astype(np.uint32)
    offset_ticks = rng.integers(-45, 46, n)
    off_tick = np.where(rng.random(n) < 0.05, 0.37, 0.0)
    prices = _PRICES[instrument] + (offset_ticks + off_tick) * _TICKS[instrument]
    return (rng.integers(0, 3, n).astype(np.uint32), instrument,
            rng.integers(1, 3, n).astype(np.uint8), np.full(n, 2, np.uint8),
            rng.integers(1, 12, n).astype(np.int64), prices,
            T0 + np.arange(n, dtype=np.int64) * 1000)


def run(quick: bool) -> BenchResult:
    n = 2_000 if quick else 200_000
    n_py = 2_000 if quick else 20_000
    orders = _orders(n)
    ours, baseline = _gate(False), _gate(True)
    py_orders = tuple(a[:n_py].tolist() for a in orders)
    # Same answers first: a benchmark of different work would mean nothing.
    got, _ = ours.core.check_batch(*(a[:n_py] for a in orders), True, False)
    want, _ = baseline.core.check_batch(*py_orders, True, False)
    assert list(got) == want, "compiled and Python risk checks disagree"
    refused = float(np.mean(np.asarray(got) != 0))
    value = timed_rate(lambda: ours.core.check_batch(*orders, True, False), n, repeat=5)
    base = timed_rate(lambda: baseline.core.check_batch(*py_orders, True, False), n_py, repeat=3)
    return BenchResult(
        name="risk_checks", value=value, unit="checks/s", baseline="same checks in Python",
        baseline_value=base, ratio=value / base, targets={"ratio": 20},
        extra={"orders": n, "baseline_orders": n_py, "refused_share": round(refused, 3)},
    )


BENCHMARKS = [Benchmark("risk_checks", "pre-trade checks/s: compiled gate vs Python", run)]
