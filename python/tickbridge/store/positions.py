"""The stored ``positions`` table's rows, derived from stored fills with the compiled
position arithmetic (``orders::PositionBook``, cpp/src/orders/position_book.cpp): not a
book of its own. The table serves status queries and the audit cross-check; restart
recovery does not read it (engine/recovery.py rebooks the stored fills into the engine's
OrderBook, the one position book the risk gate reads).

Realized PnL here is in price points x contracts (the store knows no point values).
"""

from __future__ import annotations

from tickbridge._core import OrderBook
from tickbridge.protocol.enums import Side
from tickbridge.store.records import FillRecord, PositionRecord


def apply_fill(position: PositionRecord | None, fill: FillRecord, now_ns: int) -> PositionRecord:
    """The position after ``fill``: adding to a position moves the average price; reducing
    realizes PnL at the old average; crossing through zero opens the rest at the fill price."""
    if fill.side not in ("BUY", "SELL"):
        raise ValueError(f"fill {fill.execution_id}: side {fill.side!r} is not BUY or SELL")
    qty = position.quantity if position else 0
    realized = position.realized_pnl if position else 0.0
    # A scratch book holding the position as it was (quantity at its average), then the
    # fill: the arithmetic is the engine's, to the bit.
    book = OrderBook(0)
    book.register_instrument(fill.instrument, 1.0)
    if qty:
        book.book_fill(fill.account, fill.instrument, Side.BUY if qty > 0 else Side.SELL,
                       abs(qty), position.average_price if position else 0.0)
    book.book_fill(fill.account, fill.instrument, Side[fill.side], int(fill.quantity),
                   float(fill.price))
    after = book.position(fill.account, fill.instrument)
    return PositionRecord(fill.account, fill.instrument, int(after.net_qty),
                          float(after.avg_entry_price), realized + float(after.realized_points),
                          now_ns)
