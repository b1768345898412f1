"""The two sides reconciliation compares: the engine's view and the platform's snapshot.

Plain frozen dataclasses, so that reconciliation is pure logic testable without sockets;
``snapshot.py`` builds a ``PlatformSnapshot`` from decoded wire records and
``engine_view_from_store`` builds an ``EngineView`` from the state store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tickbridge.store import StateStore
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


@dataclass(frozen=True)
class PlatformSnapshot:
    """What the shim reported between the two SnapshotBoundary records. A part that was
    not requested (SnapshotRequest.what) is None: its absence proves nothing."""

    account: str
    orders: tuple[OrderView, ...] | None = None
    positions: tuple[PositionView, ...] | None = None
    fills: tuple[FillView, ...] | None = None
    request_id: int = 0
    extra: Mapping[str, object] = field(default_factory=dict)


def engine_view_from_store(store: StateStore, account: str) -> EngineView:
    """The engine's view as the state store holds it (committed data): every order of the
    account, its positions, and the execution ids booked. Terminal orders are included so
    that a platform order the engine thinks finished is compared, not taken as unknown."""
    orders = {o.client_order_id: OrderView(o.client_order_id, o.instrument, o.state,
                                           o.quantity, o.filled_quantity, o.side,
                                           o.platform_order_id)
              for o in store.load_orders().values() if o.account == account}
    positions = {p.instrument: PositionView(p.instrument, p.quantity, p.average_price)
                 for (acct, _), p in store.load_positions().items() if acct == account}
    executions = frozenset(e for _, e in store.load_execution_ids(account))
    return EngineView(account, orders, positions, executions)
