from __future__ import annotations

from dataclasses import dataclass

import pytest

from tickbridge.risk import RiskGateHandle, RiskLimits
from tickbridge_dev.oracles.risk import PyRiskGateHandle

T0 = 1_795_000_000_000_000_000  # an instant in 2026, ns


@dataclass(frozen=True)
class Spec:
    tick_size: float
    point_value: float


SPECS = {"ESZ6": Spec(0.25, 50.0), "NQZ6": Spec(0.25, 20.0), "CLF7": Spec(0.01, 1000.0)}

LIMITS = {
    "defaults": {"max_order_qty": 10, "max_position": 20, "band_ticks": 40,
                 "max_data_age_ms": 2000},
    "instruments": {"CLF7": {"band_percent": 2.0, "band_basis": "mid",
                             "tick_policy": "round_passive"}},
    "default_account": {"max_position": 30, "daily_loss_limit": 5000,
                        "max_orders_per_second": 5, "max_orders_per_minute": 20,
                        "max_orders_per_hour": 50},
    "accounts": {"NARROW": {"allowed_instruments": ["ESZ6"]},
                 "HALTER": {"daily_loss_limit": 1000, "on_daily_loss": "halted"}},
}


def make_gate(pure_python: bool, limits: dict | None = None) -> RiskGateHandle:
    kind = PyRiskGateHandle if pure_python else RiskGateHandle
    gate = kind(RiskLimits.model_validate(limits or LIMITS), SPECS, ["SIM1", "NARROW", "HALTER"])
    gate.on_trade("ESZ6", 6000.0, T0)
    gate.on_trade("NQZ6", 21000.0, T0)
    gate.on_quote("CLF7", 70.00, 70.02, T0)
    return gate


@pytest.fixture(params=[False, True], ids=["core", "python"])
def gate(request: pytest.FixtureRequest) -> RiskGateHandle:
    return make_gate(request.param)
