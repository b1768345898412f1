"""Position arithmetic from fills only: the one place a position changes because of a fill."""

from __future__ import annotations

from tickbridge.store.records import FillRecord, PositionRecord


def apply_fill(position: PositionRecord | None, fill: FillRecord, now_ns: int) -> PositionRecord:
    """The position after ``fill``: adding to a position moves the average price; reducing
    realizes PnL at the old average; crossing through zero opens the rest at the fill price."""
    qty = position.quantity if position else 0
    avg = position.average_price if position else 0.0
    realized = position.realized_pnl if position else 0.0
    signed = fill.quantity if fill.side == "BUY" else -fill.quantity
    if fill.side not in ("BUY", "SELL"):
        raise ValueError(f"fill {fill.execution_id}: side {fill.side!r} is not BUY or SELL")
    new_qty = qty + signed
    if qty == 0 or (qty > 0) == (signed > 0):
        # Opening or adding: volume-weighted average of the old and the new.
        avg = (avg * abs(qty) + fill.price * abs(signed)) / abs(new_qty)
    else:
        closed = min(abs(qty), abs(signed))
        direction = 1 if qty > 0 else -1
        realized += (fill.price - avg) * closed * direction
        if new_qty == 0:
            avg = 0.0
        elif (new_qty > 0) != (qty > 0):
            avg = fill.price  # reversed: what is left was opened by this fill
    return PositionRecord(fill.account, fill.instrument, new_qty, avg, realized, now_ns)
