"""Risk layer: limits declared here (pydantic), checks compiled in the core.

- ``RiskLimits`` (``limits``): the ``[risk]`` config section.
- ``RiskGateHandle`` (``gate``): the compiled gate built from limits, addressed by name.
- ``check_hello`` / ``mode_banner`` (``mode``): paper/live separation.
- ``build_risk_gate`` (``build``): the gate from a ``TickbridgeConfig``.

The ``mode`` and ``build`` modules import the config package; import them directly. The same
checks in pure Python (test oracle, benchmark baseline) are development code outside the
package: ``tickbridge_dev.oracles.risk`` in the repository.
"""

from tickbridge.risk.gate import RiskDecision, RiskGateHandle
from tickbridge.risk.limits import AccountRisk, InstrumentRisk, RiskLimits
from tickbridge.risk.reasons import RiskReason, TradingState

__all__ = ["AccountRisk", "InstrumentRisk", "RiskDecision", "RiskGateHandle", "RiskLimits",
           "RiskReason", "TradingState"]
