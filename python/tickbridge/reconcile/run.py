"""One reconciliation pass: classify, then plan by policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tickbridge.reconcile.classify import any_nonzero, classify
from tickbridge.reconcile.drift import Drift
from tickbridge.reconcile.policy import (
    Action,
    PlannedAction,
    ReconcilePolicy,
    plan,
    trading_state_change,
)
from tickbridge.reconcile.views import EngineView, PlatformSnapshot


@dataclass(frozen=True)
class Reconciliation:
    drifts: list[Drift]
    actions: list[PlannedAction]
    # FLATTEN or HALT when any action asks for it: the engine changes trading state first,
    # then carries out the order-level actions.
    trading_state: Action | None

    @property
    def clean(self) -> bool:
        return not self.drifts


def reconcile(engine: EngineView, platform: PlatformSnapshot,
              policy: ReconcilePolicy | None = None, *,
              is_ours: Callable[[int], bool] = any_nonzero) -> Reconciliation:
    policy = policy or ReconcilePolicy()
    drifts = classify(engine, platform, is_ours=is_ours,
                      average_price_tolerance=policy.average_price_tolerance)
    actions = plan(drifts, policy)
    return Reconciliation(drifts, actions, trading_state_change(actions))
