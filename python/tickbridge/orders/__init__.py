"""The order state machine and position book (compiled core), as the engine uses them.

The transition table lives in C++ (``cpp/include/tickbridge/orders/transitions.hpp``);
``transition_table()`` exports it. A pure-Python implementation of the same table (the
benchmark's baseline, a test oracle) is development code outside the package:
``tickbridge_dev.oracles.orders`` in the repository.
See docs/orders.md.

``Side``, ``OrderType``, ``TimeInForce`` and ``OrderStatus`` are the wire enums of
``tickbridge.protocol.enums`` (one definition): the compiled core takes and returns
those same classes, so ``tickbridge.orders.Side.BUY is tickbridge.protocol.Side.BUY``.
"""

from __future__ import annotations

from tickbridge._core import (
    Anomaly,
    EventResult,
    Fill,
    HistoryEntry,
    NextRule,
    Order,
    OrderBook,
    OrderEvent,
    Outcome,
    Position,
    Reason,
    exec_id_key,
    format_client_order_id,
    is_terminal,
    make_client_order_id,
    parse_client_order_id,
    transition_table,
)
from tickbridge.protocol.enums import OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "Anomaly",
    "EventResult",
    "Fill",
    "HistoryEntry",
    "NextRule",
    "Order",
    "OrderBook",
    "OrderEvent",
    "OrderStatus",
    "OrderType",
    "Outcome",
    "Position",
    "Reason",
    "Side",
    "TimeInForce",
    "exec_id_key",
    "format_client_order_id",
    "is_terminal",
    "make_client_order_id",
    "parse_client_order_id",
    "transition_table",
    "transition_table_markdown",
]


def transition_table_markdown() -> str:
    """The table as the markdown rows of docs/orders.md (a test keeps the doc in sync)."""
    lines = ["| state | event | next | why |", "| --- | --- | --- | --- |"]
    for state, event, rule, to, why in transition_table():
        target = to.name if to is not None else rule.name
        lines.append(f"| {state.name} | {event.name} | {target} | {why} |")
    return "\n".join(lines)
