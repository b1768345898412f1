"""The pre-filters between a platform's order update and the transition table.

An OrderUpdate says where the platform believes an order is; the table
(tickbridge.orders, transitions.hpp) moves orders on events. These rules, and only these,
turn one into the other; each is tested in tests/engine/test_update_events.py and listed
in docs/engine.md beside the table:

1. The status maps to an event (WORKING -> ACCEPTED, CANCELED, REJECTED, EXPIRED,
   ACKNOWLEDGED -> SUBMIT_ACKED). PARTIALLY_FILLED and FILLED map to none: quantities and
   positions move on Fill records only, never on a status.
2. A status the order already has (a snapshot's restatement, a repeated update) is no
   event, unless a replace is pending.
3. WORKING while a replace is pending is the replace confirmed: REPLACED, when the update
   shows the replace's quantity and price; one showing the order as it was (its own
   WORKING, sent before the platform saw the replace) is no event.
4. ACKNOWLEDGED after the order left SUBMITTED (the command ack came first) is no event.
5. WORKING for an order that is WORKING is no event (the answer to a retried submit).
6. PARTIALLY_FILLED or FILLED while a replace is pending, showing the replace's quantity
   and price, is the replace confirmed too (REPLACED): the platform replaced the order
   and it then filled, so no WORKING with the new terms ever comes (seed 5192: a SELL 3
   filled 1, replaced to 2, filled again, stayed PARTIALLY_FILLED 2 of 3 forever).
"""

from __future__ import annotations

import math
from typing import Any

from tickbridge import orders as ob
from tickbridge.protocol import OrderStatus

STATUS_EVENT = {
    int(OrderStatus.ACKNOWLEDGED): ob.OrderEvent.SUBMIT_ACKED,
    int(OrderStatus.WORKING): ob.OrderEvent.ACCEPTED,
    int(OrderStatus.CANCELED): ob.OrderEvent.CANCELED,
    int(OrderStatus.REJECTED): ob.OrderEvent.REJECTED,
    int(OrderStatus.EXPIRED): ob.OrderEvent.EXPIRED,
}

_FILL_DRIVEN = (int(OrderStatus.PARTIALLY_FILLED), int(OrderStatus.FILLED))


def update_event(order: Any, status: int, quantity: int | None = None,
                 price: float | None = None) -> Any:
    """The state machine event an update with ``status`` (and the ``quantity`` and
    ``price`` it shows, when known) means for ``order``, or None."""
    replace_pending = order.replace_pending
    if status in _FILL_DRIVEN and replace_pending and quantity is not None and \
            _shows_replace(order, quantity, price):
        return ob.OrderEvent.REPLACED  # rule 6
    event = STATUS_EVENT.get(status)  # rule 1
    if event is None:
        return None
    if status == int(order.status) and not replace_pending:
        return None  # rule 2
    if event == ob.OrderEvent.ACCEPTED:
        if replace_pending:
            if quantity is not None and not _shows_replace(order, quantity, price):
                return None  # rule 3: the order as it was, the replace still pending
            return ob.OrderEvent.REPLACED  # rule 3
        if order.status == ob.OrderStatus.WORKING:
            return None  # rule 5
    if event == ob.OrderEvent.SUBMIT_ACKED and order.status != ob.OrderStatus.SUBMITTED:
        return None  # rule 4
    return event


def _shows_replace(order: Any, quantity: int, price: float | None) -> bool:
    if int(quantity) != int(order.pending_qty):
        return False
    wanted = float(order.pending_price)
    if price is None or math.isnan(wanted) or math.isnan(price) or not wanted or not price:
        return True  # no price to compare (a market order, or none reported)
    return abs(float(price) - wanted) < 1e-9
