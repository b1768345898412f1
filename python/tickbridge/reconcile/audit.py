"""The audit record of one drift and the action taken on it (kind ``reconcile_drift``).

``engine`` and ``platform`` hold the figure the class compares, so the record reads at a
glance: the two states, the two order quantities, the two position quantities; ``detail``
holds everything each side said.
"""

from __future__ import annotations

from typing import Any

from tickbridge.reconcile.drift import Drift, DriftClass
from tickbridge.reconcile.policy import Action

# The field each class compares, in the drift's engine/platform dicts.
_COMPARED = {
    DriftClass.STATE_DIFFERS: "state",
    DriftClass.MISSING_AT_PLATFORM: "state",
    DriftClass.MISSING_LOCALLY: "state",
    DriftClass.UNKNOWN_EXTERNAL_ORDER: "state",
    DriftClass.QUANTITY_DIFFERS: "quantity",
    DriftClass.POSITION_DIFFERS: "quantity",
    DriftClass.MISSING_FILL: "quantity",
}


def drift_record(drift: Drift, action: Action) -> dict[str, Any]:
    """The payload of the ``reconcile_drift`` audit record of ``drift``."""
    field = _COMPARED[drift.drift_class]
    record: dict[str, Any] = {
        "drift": drift.drift_class.value, "action": action.value,
        "account": drift.account, "symbol": drift.instrument,
        "client_order_id": drift.client_order_id,
        "engine": drift.engine.get(field), "platform": drift.platform.get(field),
        "note": drift.note, "detail": {"engine": drift.engine, "platform": drift.platform}}
    if drift.drift_class == DriftClass.MISSING_FILL:
        record["execution_id"] = drift.platform.get("execution_id")
    if drift.platform.get("platform_order_id"):
        record["platform_order_id"] = drift.platform["platform_order_id"]
    return record
