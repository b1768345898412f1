"""Reconciliation (pure logic): classify the differences between the engine's state and
a platform snapshot, decide an action per class by policy, and audit both.

    view = engine_view_from_store(store, account)
    snap = snapshot_from_records(account, symbols, order_updates=..., positions=..., fills=...)
    result = reconcile(view, snap, policy, is_ours=...)   # classify + plan
    audit_reconciliation(store, account, result.drifts, result.actions, request_id=...)
"""

from tickbridge.reconcile.audit import audit_reconciliation
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
    engine_view_from_store,
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
    "audit_reconciliation",
    "classify",
    "engine_view_from_store",
    "plan",
    "reconcile",
    "snapshot_from_records",
    "trading_state_change",
]
