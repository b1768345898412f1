"""Reconciliation (pure logic): classify the differences between the engine's state and
a platform snapshot, decide an action per class by policy, and audit both.

    snap = snapshot_from_records(account, symbols, order_updates=..., positions=..., fills=...)
    result = reconcile(view, snap, policy, is_ours=...)   # classify + plan
    audit("reconcile_drift", **drift_record(a.drift, a.action))  # per planned action

The engine builds ``view`` from its order book and carries the planned actions out
(``tickbridge.engine.reconciliation``).
"""

from tickbridge.reconcile.audit import drift_record
from tickbridge.reconcile.classify import any_nonzero, classify
from tickbridge.reconcile.drift import Drift, DriftClass
from tickbridge.reconcile.policy import (
    ALLOWED,
    Action,
    PlannedAction,
    ReconcilePolicy,
    plan,
    trading_state_change,
)
from tickbridge.reconcile.run import Reconciliation, reconcile
from tickbridge.reconcile.snapshot import snapshot_from_records
from tickbridge.reconcile.views import (
    EngineView,
    FillView,
    OrderView,
    PlatformSnapshot,
    PositionView,
)

__all__ = [
    "ALLOWED",
    "Action",
    "Drift",
    "DriftClass",
    "EngineView",
    "FillView",
    "OrderView",
    "PlannedAction",
    "PlatformSnapshot",
    "PositionView",
    "ReconcilePolicy",
    "Reconciliation",
    "any_nonzero",
    "classify",
    "drift_record",
    "plan",
    "reconcile",
    "snapshot_from_records",
    "trading_state_change",
]
