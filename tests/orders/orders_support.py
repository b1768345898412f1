"""Shared by the order tests: books, recipes that reach each state, expected next states."""

from __future__ import annotations

from itertools import count

from tickbridge.orders import (
    NextRule,
    OrderBook,
    OrderEvent,
    OrderStatus,
    Outcome,
    Side,
    transition_table,
)
from tickbridge_dev.oracles.orders import ReferenceOrderBook

E = OrderEvent
S = OrderStatus
QTY = 10
ACCOUNT = "SIM-1"
ES = ("ESZ6", 50.0, 0.25)
NQ = ("NQZ6", 20.0, 0.25)

TABLE = {(s, e): (r, to) for s, e, r, to, _why in transition_table()}
ALL_PAIRS = [(s, e) for s in S.__members__.values() for e in E.__members__.values()]

_exec_ids = count(1000)

# Event lists (event, kwargs) that take a fresh order (qty 10) to each state.
_WORKING = [(E.SUBMIT_SENT, {}), (E.SUBMIT_ACKED, {}), (E.ACCEPTED, {})]
RECIPES: dict[OrderStatus, list[tuple[OrderEvent, dict]]] = {
    S.NEW_REQUESTED: [],
    S.SUBMITTED: [(E.SUBMIT_SENT, {})],
    S.ACKNOWLEDGED: [(E.SUBMIT_SENT, {}), (E.SUBMIT_ACKED, {})],
    S.WORKING: _WORKING,
    S.PARTIALLY_FILLED: [*_WORKING, (E.FILL, {"qty": 4, "price": 5000.0})],
    S.FILLED: [*_WORKING, (E.FILL, {"qty": QTY, "price": 5000.0})],
    # A replace is pending under the cancel, so REPLACED / REPLACE_REJECTED have one to answer.
    S.PENDING_CANCEL: [*_WORKING, (E.REPLACE_SENT, {"qty": 12, "price": 5001.0}),
                       (E.CANCEL_SENT, {})],
    S.PENDING_REPLACE: [*_WORKING, (E.REPLACE_SENT, {"qty": 12, "price": 5001.0})],
    S.CANCELED: [*_WORKING, (E.CANCEL_SENT, {}), (E.CANCELED, {})],
    S.REJECTED: [(E.SUBMIT_SENT, {}), (E.REJECTED, {})],
    S.EXPIRED: [*_WORKING, (E.EXPIRED, {})],
}

# What each event carries in the table tests.
EVENT_ARGS: dict[OrderEvent, dict] = {
    E.FILL: {"qty": 3, "price": 5002.0},
    E.REPLACE_SENT: {"qty": 15, "price": 5003.0},
}


def new_book(epoch: int = 7) -> OrderBook:
    book = OrderBook(epoch)
    book.register_instrument(*ES)
    book.register_instrument(*NQ)
    return book


def new_reference(epoch: int = 7) -> ReferenceOrderBook:
    book = ReferenceOrderBook(epoch)
    book.register_instrument(*ES)
    book.register_instrument(*NQ)
    return book


def send(book: OrderBook, coid: int, event: OrderEvent, **kw):
    """Apply through the compiled book, giving fills a fresh exec id unless one is set."""
    if event == E.FILL and "exec_id" not in kw:
        kw["exec_id"] = next(_exec_ids)
    return book.apply(coid, event, **kw)


def order_in(book: OrderBook, state: OrderStatus, side: Side = Side.BUY) -> int:
    coid = book.new_order(ACCOUNT, ES[0], side, QTY, 5000.0).client_order_id
    for event, kw in RECIPES[state]:
        result = send(book, coid, event, **kw)
        assert result.outcome == Outcome.APPLIED, (state, event, result)
    assert book.order(coid).status == state
    return coid


def expected_next(rule: NextRule, to: OrderStatus | None, before: OrderStatus,
                  filled: int, qty: int) -> OrderStatus:
    """The table's next state worked out here from the rule, not by the code under test."""
    complete = filled >= qty
    if rule == NextRule.GOTO:
        assert to is not None
        return to
    if rule == NextRule.STAY:
        return before
    if rule == NextRule.BY_FILLS:
        return S.FILLED if complete else S.PARTIALLY_FILLED
    if rule == NextRule.STAY_UNLESS_COMPLETE:
        return S.FILLED if complete else before
    assert rule == NextRule.RESUME
    if complete:
        return S.FILLED
    return S.PARTIALLY_FILLED if filled > 0 else S.WORKING
