"""Writing a reconciliation's drifts and actions to the audit log."""

from __future__ import annotations

from tickbridge.audit.kinds import AuditKind
from tickbridge.reconcile.drift import Drift
from tickbridge.reconcile.policy import PlannedAction
from tickbridge.store import StateStore


def audit_reconciliation(store: StateStore, account: str, drifts: list[Drift],
                         actions: list[PlannedAction], *, request_id: int = 0,
                         trigger: str = "") -> None:
    """One ``drift`` record per drift and one ``reconcile_action`` per action, plus a
    ``session`` summary record even when nothing drifted (a clean reconciliation is also
    evidence). Enqueued, not awaited: call ``store.sync()`` to wait for the disk."""
    store.audit(AuditKind.SESSION, {"event": "reconciliation", "trigger": trigger,
                                    "request_id": request_id, "drifts": len(drifts),
                                    "actions": sorted({a.action.value for a in actions})},
                account=account)
    for drift in drifts:
        store.audit(AuditKind.DRIFT, {**drift.as_json(), "request_id": request_id},
                    client_order_id=drift.client_order_id, account=account)
    for action in actions:
        store.audit(AuditKind.RECONCILE_ACTION, {**action.as_json(), "request_id": request_id},
                    client_order_id=action.drift.client_order_id, account=account)
