"""The rows of the state store as plain dataclasses: what the engine hands in and what
recovery hands back. Enumerations are stored by name ('BUY', 'WORKING') so that the file
reads well with the ``sqlite3`` shell."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tickbridge.protocol import OrderStatus

# SQLite integers are signed 64-bit; the wire's u64 client order ids above this cannot be
# stored as they are. The engine makes the ids, so it keeps them in range.
MAX_CLIENT_ORDER_ID = 2**63 - 1

# States after which nothing happens to an order but a late fill (see DESIGN lessons).
TERMINAL_STATES = frozenset(
    s.name for s in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
                     OrderStatus.EXPIRED)
)


def enum_name(value: Enum | str) -> str:
    """'BUY' for Side.BUY or 'BUY'; the store keeps names, not wire codes."""
    return value.name if isinstance(value, Enum) else str(value)


def check_client_order_id(client_order_id: int) -> int:
    if not 0 < client_order_id <= MAX_CLIENT_ORDER_ID:
        raise ValueError(
            f"client_order_id {client_order_id} is outside 1..2**63-1, the range the state "
            "store (SQLite signed 64-bit integers) can hold; the engine must make ids in it"
        )
    return client_order_id


@dataclass(frozen=True)
class OrderRecord:
    client_order_id: int
    account: str
    instrument: str
    side: str
    order_type: str
    time_in_force: str
    quantity: int
    price: float
    stop_price: float
    state: str
    filled_quantity: int = 0
    average_fill_price: float = 0.0
    platform_order_id: str = ""
    created_ns: int = 0
    updated_ns: int = 0

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def working_qty(self) -> int:
        return self.quantity - self.filled_quantity


@dataclass(frozen=True)
class Transition:
    """One step of an order's life as the state machine applied (or refused) it."""

    client_order_id: int
    seq: int
    from_state: str
    event: str
    to_state: str
    ts_ns: int
    detail: str = ""


@dataclass(frozen=True)
class FillRecord:
    account: str
    execution_id: str
    client_order_id: int
    instrument: str
    side: str
    quantity: int
    price: float
    ts_ns: int
    platform_order_id: str = ""


@dataclass(frozen=True)
class PositionRecord:
    """Signed quantity (long > 0); ``realized_pnl`` in price points times contracts: the
    store does not know point values, multiply by the instrument's ``point_value``."""

    account: str
    instrument: str
    quantity: int
    average_price: float
    realized_pnl: float = 0.0
    updated_ns: int = 0


@dataclass(frozen=True)
class ShimSession:
    shim_session_id: int
    account: str
    platform: str
    last_booked_sequence: int
    first_seen_ns: int = 0
    last_seen_ns: int = 0


@dataclass(frozen=True)
class FillOutcome:
    """What booking one fill did: ``booked`` False means the (account, execution_id) was
    already in the store and nothing changed (a resent or repeated fill)."""

    account: str
    execution_id: str
    booked: bool
    position: PositionRecord | None = None
