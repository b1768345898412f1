"""What the copier keeps per follower and per mirrored leader order (plain state, shared
by copier.py, copier_sync.py and copier_mirror.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tickbridge.config.copier import CopierConfig, FollowerConfig
from tickbridge.protocol import OrderType, Side

if TYPE_CHECKING:
    from tickbridge.engine.copier_sizing import Mapped
    from tickbridge.engine.session import ShimSession


@dataclass
class Follower:
    config: FollowerConfig
    orders: int = 0
    compiled: int = 0  # of those, sent by the core (copier_compiled.py)
    refusals: int = 0
    last_refusal: str = ""
    # Each instrument's last comparison: symbol -> (target, position + working).
    compared: dict[str, tuple[int, int]] = field(default_factory=dict)
    unmapped: str = ""  # why a leader instrument has no follower instrument

    @property
    def account(self) -> str:
        return self.config.account


@dataclass
class LeaderOrder:
    """A leader order being mirrored: its last terms, and each follower's order."""

    symbol: str
    quantity: int
    price: float
    followers: dict[str, int] = field(default_factory=dict)  # account -> client order id


class CopierParts(Protocol):
    """What the sync and the mirror use of the copier (engine/copier.py's Copier)."""

    config: CopierConfig
    leader: str
    followers: dict[str, Follower]
    leader_positions: dict[str, int]
    router: Any
    audit: Callable[..., None]
    halt: Callable[[str, str], None]
    market: Callable[[int], dict[str, float]]

    def leader_ready(self) -> bool: ...
    def settled(self, session: ShimSession) -> bool: ...
    def session(self, account: str) -> ShimSession | None: ...
    def map(self, follower: Follower, leader_symbol: str) -> Mapped | None: ...
    def is_mirror(self, coid: int) -> bool: ...
    def refused(self, follower: Follower, reason: str, **detail: Any) -> None: ...
    def submit(self, follower: Follower, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float, *, purpose: str,
               leader_order: str = "", leader_fill: str = "", **detail: Any) -> int | None: ...
