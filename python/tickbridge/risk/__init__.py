"""Risk layer: limits declared here (pydantic), checks compiled in the core.

- ``RiskLimits`` (``limits``): the ``[risk]`` config section.
- ``RiskGateHandle`` (``gate``): the compiled gate built from limits, addressed by name.
- ``PyRiskGate`` (``oracle``): the same checks in Python (benchmark baseline, test oracle).
- ``check_hello`` / ``mode_banner`` (``mode``): paper/live separation.
- ``build_risk_gate`` (``build``): the gate from a ``TickbridgeConfig``.

The ``mode`` and ``build`` modules import the config package; import them directly.
"""

from tickbridge.risk.gate import RiskDecision, RiskGateHandle
from tickbridge.risk.limits import AccountRisk, InstrumentRisk, RiskLimits
from tickbridge.risk.oracle import PyRiskGate
from tickbridge.risk.reasons import RiskReason, TradingState

__all__ = ["AccountRisk", "InstrumentRisk", "PyRiskGate", "RiskDecision", "RiskGateHandle",
           "RiskLimits", "RiskReason", "TradingState"]
