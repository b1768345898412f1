"""The two sides reconciliation compares: the engine's view and the platform's snapshot.

Plain frozen dataclasses, so that reconciliation is pure logic testable without sockets;
``snapshot.py`` builds a ``PlatformSnapshot`` from decoded wire records and the engine
(``engine/reconciliation.py``) builds its ``EngineView`` from its order book.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tickbridge.store.records import TERMINAL_STATES


@dataclass(frozen=True)
class OrderView:
    """One order as one side sees it. ``state`` is an OrderStatus name ('WORKING')."""

    client_order_id: int
    instrument: str
    state: str
    quantity: int
    filled_quantity: int
    side: str = ""
    platform_order_id: str = ""

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL_STATES


@dataclass(frozen=True)
class PositionView:
    instrument: str
    quantity: int
    average_price: float = 0.0


@dataclass(frozen=True)
class FillView:
    execution_id: str
    client_order_id: int
    instrument: str
    side: str
    quantity: int
    price: float
    ts_ns: int = 0
    platform_order_id: str = ""


@dataclass(frozen=True)
class EngineView:
    """What the engine believes for one account."""

    account: str
    orders: Mapping[int, OrderView]
    positions: Mapping[str, PositionView]
    booked_execution_ids: frozenset[str] = frozenset()
    # Orders sent after the snapshot was asked for: the snapshot may predate them, so
    # their absence from it proves nothing.
    sent_after_request: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PlatformSnapshot:
    """What the shim reported between the two SnapshotBoundary records. A part that was
    not requested (SnapshotRequest.what) is None: its absence proves nothing."""

    account: str
    orders: tuple[OrderView, ...] | None = None
    positions: tuple[PositionView, ...] | None = None
    fills: tuple[FillView, ...] | None = None
    request_id: int = 0
