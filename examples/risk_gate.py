"""Check a few orders against the embedded default config's risk limits.

Run: .venv/bin/python examples/risk_gate.py
"""

from __future__ import annotations

import time

from tickbridge.protocol.enums import Side
from tickbridge.risk import RiskGateHandle, RiskLimits


class _Spec:
    tick_size = 0.25
    point_value = 50.0


def main() -> None:
    limits = RiskLimits.model_validate({"defaults": {"max_order_qty": 10, "max_position": 20,
                                                     "band_ticks": 40}})
    gate = RiskGateHandle(limits, {"ESZ6": _Spec()}, ["SIM101"])
    now = time.time_ns()
    gate.on_trade("ESZ6", 6000.0, now)
    for qty, price in [(1, 6000.0), (12, 6000.0), (1, 6000.1), (1, 6100.0)]:
        d = gate.check("SIM101", "ESZ6", Side.BUY, qty, price, now, session_open=True)
        print(f"buy {qty:>2} @ {price:<7} -> {d.reason.name:<15} {d.message}")


if __name__ == "__main__":
    main()
