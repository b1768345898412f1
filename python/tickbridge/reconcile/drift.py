"""The classes of difference between the engine and the platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class DriftClass(str, Enum):
    MISSING_LOCALLY = "missing_locally"            # the platform has an order of ours we lack
    MISSING_AT_PLATFORM = "missing_at_platform"    # we think it is open; the platform has none
    STATE_DIFFERS = "state_differs"                # open on one side, finished on the other
    QUANTITY_DIFFERS = "quantity_differs"          # order or filled quantity differs
    POSITION_DIFFERS = "position_differs"          # compared directly, never via fills
    UNKNOWN_EXTERNAL_ORDER = "unknown_external_order"  # id 0 or not made by this engine
    MISSING_FILL = "missing_fill"                  # a platform execution id we never booked

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Drift:
    drift_class: DriftClass
    account: str
    instrument: str
    client_order_id: int | None = None
    # What each side says, for the audit record and the operator: {"engine": .., "platform": ..}
    engine: dict[str, Any] = field(default_factory=dict)
    platform: dict[str, Any] = field(default_factory=dict)
    note: str = ""
