"""What a replace does to the risk gate's working quantities (docs/engine.md).

A replace to more is checked before it is sent (PreTrade.replace) and its increase is
reserved at once: the platform may confirm it at any moment, and an order sent meanwhile
must count it. A replace to less keeps the larger quantity reserved until the platform
confirms it (until then the order may still fill at its old size). When the replace is
settled (the order no longer has one pending), what is reserved beyond what the order
now works is released: the decrease once confirmed, the increase once refused or once
the order finished first. Both are bus events; the coordinator hands them to the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickbridge.engine.bus import EventBus, WorkingReleased, WorkingReserved


@dataclass(frozen=True, slots=True)
class _Pending:
    account: str
    symbol: str
    side: int
    old_qty: int
    new_qty: int


class ReplaceWorking:
    def __init__(self, book: Any, bus: EventBus) -> None:
        self._book = book
        self._bus = bus
        self._pending: dict[int, _Pending] = {}  # client order id -> the replace sent

    def sent(self, coid: int) -> None:
        """The book took a replace of ``coid`` (REPLACE_SENT): its increase is reserved."""
        order = self._book.order(coid)
        if not order.replace_pending:
            return
        pending = _Pending(order.account, order.instrument, int(order.side), int(order.qty),
                           int(order.pending_qty))
        change = pending.new_qty - pending.old_qty
        if not change:
            return
        self._pending[coid] = pending
        if change > 0:
            self._bus.publish(WorkingReserved(pending.account, pending.symbol, pending.side,
                                              change))

    def settle(self, coid: int) -> None:
        """After any event of ``coid``: a replace no longer pending is settled."""
        pending = self._pending.get(coid)
        if pending is None or coid not in self._book:
            return
        order = self._book.order(coid)
        if order.replace_pending and not order.is_terminal:
            return
        del self._pending[coid]
        change = pending.new_qty - pending.old_qty
        replaced = not order.replace_pending and int(order.qty) == pending.new_qty
        release = -change if replaced else change  # what is reserved beyond the order
        if release > 0:
            self._bus.publish(WorkingReleased(pending.account, pending.symbol, pending.side,
                                              release))

    def forget(self) -> None:
        self._pending.clear()
