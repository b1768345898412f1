"""What to do about each class of drift: a policy table from configuration."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tickbridge.reconcile.drift import Drift, DriftClass


class Action(str, Enum):
    ADOPT = "adopt"                  # take the platform's version into the engine's state
    MARK_CANCELED = "mark_canceled"  # close the engine's order as CANCELED
    ALERT = "alert"                  # tell the operator; change nothing
    HALT = "halt"                    # trading state -> halted (no new orders)
    FLATTEN = "flatten"              # kill switch: cancel all working orders and flatten

    def __str__(self) -> str:
        return self.value


# What each action means per class; anything else is a configuration error naming the
# option, the value and the values allowed.
#   ADOPT for MISSING_LOCALLY: track the platform's order (our id) as the engine's.
#   ADOPT for STATE_DIFFERS: apply the platform's state; MARK_CANCELED: close the engine's
#     order as canceled; ALERT/HALT/FLATTEN: the engine's state is kept (a person looks).
#   ADOPT for QUANTITY_DIFFERS: take the platform's working quantity, recorded as a
#     replace the platform confirmed.
#   ADOPT for MISSING_FILL: book the platform's fill (its execution id de-duplicates);
#     any other action leaves it unbooked, so the position then differs too.
#   MARK_CANCELED for MISSING_AT_PLATFORM: close the engine's order as canceled.
#   POSITION_DIFFERS and UNKNOWN_EXTERNAL_ORDER have no ADOPT: a position moves only with
#     booked fills (never synthetic ones, DESIGN lessons), and a platform-made order is
#     not the engine's to track.
ALLOWED: dict[DriftClass, frozenset[Action]] = {
    DriftClass.MISSING_LOCALLY: frozenset(Action) - {Action.MARK_CANCELED},
    DriftClass.MISSING_AT_PLATFORM: frozenset(Action) - {Action.ADOPT},
    DriftClass.STATE_DIFFERS: frozenset(Action),
    DriftClass.QUANTITY_DIFFERS: frozenset(Action) - {Action.MARK_CANCELED},
    DriftClass.POSITION_DIFFERS: frozenset(Action) - {Action.MARK_CANCELED, Action.ADOPT},
    DriftClass.UNKNOWN_EXTERNAL_ORDER: frozenset(Action) - {Action.MARK_CANCELED,
                                                            Action.ADOPT},
    DriftClass.MISSING_FILL: frozenset(Action) - {Action.MARK_CANCELED},
}


class ReconcilePolicy(BaseModel):
    """One action per drift class. The defaults:

    - missing_locally -> adopt: our id at the platform, lost by a crash between send and
      save; the platform is the broker, its order is real.
    - missing_at_platform -> mark_canceled: the platform, asked, does not have it working;
      it cannot fill there. Any fill it had shows as a missing fill or a position drift.
    - state_differs -> adopt: the platform's state is the truth (e.g. a lost cancel ack).
    - quantity_differs -> alert: a modify made at the platform or a lost replace ack; a
      wrong working quantity needs a human look (filled quantities are not compared:
      fills come through missing_fill).
    - position_differs -> halt: the engine's risk figures are wrong; stop new orders until
      an operator looks. Never explained away by synthetic fills.
    - unknown_external_order -> alert: a manual order in the same account; not ours to cancel.
    - missing_fill -> adopt: a real execution reported by the platform, booked once.

    HALT and FLATTEN (halt, then the kill switch with flatten) act on the account; ALERT
    audits and changes nothing. A drift found again with the same figures is not
    reported or acted on account-wide again (engine/reconciliation.py).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    missing_locally: Action = Action.ADOPT
    missing_at_platform: Action = Action.MARK_CANCELED
    state_differs: Action = Action.ADOPT
    quantity_differs: Action = Action.ALERT
    position_differs: Action = Action.HALT
    unknown_external_order: Action = Action.ALERT
    missing_fill: Action = Action.ADOPT
    # None: positions compared by quantity only (platforms average differently, e.g. FIFO);
    # a number: equal quantities whose average prices differ by more are a position drift.
    average_price_tolerance: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _actions_fit_classes(self) -> ReconcilePolicy:
        for drift_class in DriftClass:
            action = self.action_for(drift_class)
            if action not in ALLOWED[drift_class]:
                allowed = ", ".join(sorted(a.value for a in ALLOWED[drift_class]))
                raise ValueError(f"reconcile policy: {drift_class.value} = {action.value} "
                                 f"has no meaning; use one of: {allowed}")
        return self

    def action_for(self, drift_class: DriftClass) -> Action:
        return Action(getattr(self, drift_class.value))


@dataclass(frozen=True)
class PlannedAction:
    action: Action
    drift: Drift


def plan(drifts: list[Drift], policy: ReconcilePolicy) -> list[PlannedAction]:
    """One planned action per drift, in drift order. The engine carries them out (adopt,
    mark canceled, alert) and applies ``trading_state_change``; this module only decides."""
    return [PlannedAction(policy.action_for(d.drift_class), d) for d in drifts]


def trading_state_change(actions: list[PlannedAction]) -> Action | None:
    """FLATTEN if any action is FLATTEN, else HALT if any is HALT, else None."""
    found = {a.action for a in actions}
    for action in (Action.FLATTEN, Action.HALT):
        if action in found:
            return action
    return None
