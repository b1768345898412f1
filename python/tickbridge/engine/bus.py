"""Typed events between the engine's parts, and the bus that carries them.

Execution (the order router) says what happened to an order; persistence, the risk gate,
reconciliation and the strategies each subscribe to what concerns them. The coordinator
(engine.py) wires the subscriptions, in one place, in the order they must run (the store
first: an order's state is on its way to disk before anyone acts on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tickbridge.engine.events import ArmedFired, FillEvent, OrderUpdate

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class TransitionApplied:
    """An order changed state (event name, state before, when)."""

    client_order_id: int
    event: str
    before: str
    time_ns: int


@dataclass(frozen=True, slots=True)
class FillBooked:
    """A fill booked into the order book for the first time (never a duplicate)."""

    order: Any  # the compiled Order after the fill
    record: Any  # the Fill record as received
    execution_id: str


@dataclass(frozen=True, slots=True)
class OrderDone:
    """An order reached a final state: what it still reserved is free."""

    order: Any


@dataclass(frozen=True, slots=True)
class WorkingReserved:
    """A replace's increase of an order's working quantity, reserved while it is sent."""

    account: str
    symbol: str
    side: int
    quantity: int


@dataclass(frozen=True, slots=True)
class WorkingReleased:
    """Working quantity no longer reserved: a replace to less confirmed, or a replace to
    more refused (or the order finished before it was confirmed)."""

    account: str
    symbol: str
    side: int
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """An order update for the strategy that placed it (None: no strategy)."""

    strategy: str | None
    update: OrderUpdate


@dataclass(frozen=True, slots=True)
class FillForStrategy:
    strategy: str | None
    fill: FillEvent


@dataclass(frozen=True, slots=True)
class ArmedOrderFired:
    strategy: str
    fired: ArmedFired


@dataclass(frozen=True, slots=True)
class OrderRefused:
    """An order refused before it left the engine (risk gate, trading state, unknown
    instrument): who asked, the reason's code and its text, when (wall clock, UTC ns)."""

    strategy: str
    symbol: str
    code: str
    text: str
    time_ns: int


@dataclass(frozen=True, slots=True)
class ExternalOrder:
    """An order update for an order the engine did not make (nor adopt)."""

    session: Any  # the ShimSession it came from
    record: Any


@dataclass(frozen=True, slots=True)
class ExternalFill:
    session: Any
    record: Any


class EventBus:
    """Synchronous dispatch by event type, handlers in subscription order."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            handler(event)
