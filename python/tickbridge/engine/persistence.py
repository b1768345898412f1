"""The engine and its state store: what is written when, and restart recovery.

Order state and audit records are queued (the tick path never waits on a disk flush);
fills are booked in the store's group commit, and a frame's sequence is acknowledged to
the shim only once the store says everything up to it is durable.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from tickbridge import orders as ob
from tickbridge.store import TERMINAL_STATES, StateStore
from tickbridge.store.records import FillRecord, OrderRecord, Transition
from tickbridge.store.records import ShimSession as StoredSession

log = logging.getLogger("tickbridge.engine")

# How a restored order gets back to the state the store last knew: the events before its
# fills, then its fills again (they move quantities and positions), then the events after.
_LIVE = [ob.OrderEvent.SUBMIT_SENT, ob.OrderEvent.SUBMIT_ACKED, ob.OrderEvent.ACCEPTED]
_REPLAY: dict[str, tuple[list[Any], list[Any]]] = {
    "NEW_REQUESTED": ([], []),
    "SUBMITTED": ([ob.OrderEvent.SUBMIT_SENT], []),
    "ACKNOWLEDGED": (_LIVE[:2], []),
    "WORKING": (_LIVE, []),
    "PARTIALLY_FILLED": (_LIVE, []),
    "FILLED": (_LIVE, []),
    "PENDING_CANCEL": (_LIVE, [ob.OrderEvent.CANCEL_SENT]),
    # A replace in flight when the engine stopped: the platform's answer is unknown, so
    # the order comes back working at its old terms and reconciliation asks the platform.
    "PENDING_REPLACE": (_LIVE, []),
    "CANCELED": (_LIVE, [ob.OrderEvent.CANCELED]),
    "EXPIRED": (_LIVE, [ob.OrderEvent.EXPIRED]),
    "REJECTED": ([ob.OrderEvent.SUBMIT_SENT], [ob.OrderEvent.REJECTED]),
}


_FILLED = ("PARTIALLY_FILLED", "FILLED")


def order_record(order: Any, platform_order_id: str = "") -> OrderRecord:
    return OrderRecord(
        client_order_id=int(order.client_order_id), account=order.account,
        instrument=order.instrument, side=order.side.name, order_type=order.order_type.name,
        time_in_force=order.time_in_force.name, quantity=int(order.qty),
        price=0.0 if math.isnan(order.price) else float(order.price),
        stop_price=0.0 if math.isnan(order.stop_price) else float(order.stop_price),
        state=order.status.name, filled_quantity=int(order.filled_qty),
        average_fill_price=float(order.avg_fill_price), platform_order_id=platform_order_id,
        created_ns=int(order.created_ts), updated_ns=int(order.updated_ts),
    )


def save_transition(store: StateStore, order: Any, event: str, before: str, ts: int) -> None:
    store.save_order(order_record(order), Transition(
        client_order_id=int(order.client_order_id), seq=0, from_state=before, event=event,
        to_state=order.status.name, ts_ns=ts))


def book_fill(store: StateStore, order: Any, rec: Any, execution_id: str) -> None:
    """The fill, the order's state after it (a fill moves the state machine: WORKING ->
    PARTIALLY_FILLED -> FILLED, and no later event stores that move) and the fill's audit
    record, in one transaction: after any crash the fills table, the order's row and the
    chain agree, which is what `audit verify` holds them to. (The engine's own ``fill``
    record, with the position after it, follows as a separate record.)"""
    store.book_fills([FillRecord(
        account=order.account, execution_id=execution_id,
        client_order_id=int(order.client_order_id), instrument=order.instrument,
        side="BUY" if int(rec["side"]) == 1 else "SELL", quantity=int(rec["quantity"]),
        price=float(rec["price"]), ts_ns=int(rec["time_ns"]),
        platform_order_id=bytes(rec["platform_order_id"]).decode("utf-8", "replace"),
    )], order_states={int(order.client_order_id): order.status.name})


def stored_session(peer_session_id: int, account: str, platform: str,
                   sequence: int) -> StoredSession:
    return StoredSession(shim_session_id=peer_session_id, account=account, platform=platform,
                         last_booked_sequence=sequence)


def restore_orders(store: StateStore, book: Any) -> int:
    """Every stored order back into the compiled book under its own client order id, its
    state replayed and its stored fills booked again (so positions come from fills)."""
    orders = store.load_orders()
    repaired = 0
    instruments = {o.instrument for o in orders.values()}
    for symbol in instruments:
        # The point value comes with the shim's definition; 1.0 until then keeps the
        # position quantities right (PnL is re-registered when the definition arrives).
        book.register_instrument(symbol, 1.0)
    for coid, record in sorted(orders.items()):
        book.new_order(
            record.account, record.instrument, ob.Side.__members__[record.side],
            int(record.quantity), record.price or math.nan,
            order_type=ob.OrderType.__members__[record.order_type],
            time_in_force=ob.TimeInForce.__members__[record.time_in_force],
            stop_price=record.stop_price or math.nan, ts=record.created_ns,
            client_order_id=coid)
        before, after = _REPLAY.get(record.state, ([], []))
        for event in before:
            book.apply(coid, event, ts=record.updated_ns)
        for fill in store.load_fills(coid):
            book.fill(coid, fill.execution_id, int(fill.quantity), float(fill.price),
                      ts=fill.ts_ns)
        for event in after:
            book.apply(coid, event, ts=record.updated_ns)
        restored = book.order(coid).status.name
        if restored == record.state:
            continue
        if restored in _FILLED and record.state not in TERMINAL_STATES:
            # The fills say more than the stored state: a store written before fills stored
            # the state they lead to (every filled order was left WORKING). The fills are
            # the truth; the row is corrected, with the step, and chained.
            repaired += 1
            save_transition(store, book.order(coid), "FILL", record.state, record.updated_ns)
            continue
        log.warning("restored order %s is %s, the store said %s; reconciliation will "
                    "ask the platform", ob.format_client_order_id(coid), restored,
                    record.state)
    for fill in store.load_fills(0):  # the platform's flatten fills (flatten_orders.py)
        if not book.has_instrument(fill.instrument):
            book.register_instrument(fill.instrument, 1.0)
        book.book_fill(fill.account, fill.instrument, ob.Side.__members__[fill.side],
                       int(fill.quantity), float(fill.price))
    if repaired:
        log.info("%d stored order state(s) behind their fills (written before fills stored "
                 "the state they lead to) corrected from the fills", repaired)
    book.drain_anomalies()
    return len(orders)
