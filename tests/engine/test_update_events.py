"""The six pre-filters between an OrderUpdate's status and the transition table
(engine/update_events.py), each on a real compiled order in a real OrderBook."""

from __future__ import annotations

import pytest

from tickbridge import orders as ob
from tickbridge.engine.update_events import update_event
from tickbridge.protocol import OrderStatus as S

E = ob.OrderEvent


def _order(*events: ob.OrderEvent, replace: bool = False):
    book = ob.OrderBook(session_epoch=1)
    book.register_instrument("ESZ6", 50.0, 0.25)
    order = book.new_order("A", "ESZ6", ob.Side.BUY, 1, 6000.0, ts=1)
    coid = int(order.client_order_id)
    for event in events:
        book.apply(coid, event, ts=2)
    if replace:
        book.replace_sent(coid, 2, 6000.25, ts=3)
    return book.order(coid)


@pytest.mark.parametrize(("status", "event"), [
    (S.WORKING, E.ACCEPTED), (S.CANCELED, E.CANCELED), (S.REJECTED, E.REJECTED),
    (S.EXPIRED, E.EXPIRED), (S.PARTIALLY_FILLED, None), (S.FILLED, None)])
def test_rule_1_statuses_map_to_events_and_fills_move_on_fill_records(status, event):
    order = _order(E.SUBMIT_SENT, E.SUBMIT_ACKED)
    assert update_event(order, int(status)) == event


def test_rule_1_acknowledged_is_the_submit_ack():
    assert update_event(_order(E.SUBMIT_SENT), int(S.ACKNOWLEDGED)) == E.SUBMIT_ACKED


def test_rule_2_a_status_the_order_has_is_no_event():
    assert update_event(_order(E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED, E.CANCEL_SENT,
                               E.CANCELED), int(S.CANCELED)) is None


def test_rule_3_working_while_a_replace_is_pending_is_the_replace_confirmed():
    order = _order(E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED, replace=True)
    assert order.replace_pending
    assert update_event(order, int(S.WORKING)) == E.REPLACED


def test_rule_4_an_acknowledged_after_the_command_ack_is_nothing_new():
    order = _order(E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED)
    assert update_event(order, int(S.ACKNOWLEDGED)) is None


def test_rule_5_working_for_a_working_order_is_no_event():
    order = _order(E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED)
    assert update_event(order, int(S.WORKING)) is None


def test_an_unknown_status_is_no_event():
    assert update_event(_order(E.SUBMIT_SENT), 200) is None


@pytest.mark.parametrize("status", [S.PARTIALLY_FILLED, S.FILLED])
def test_rule_6_a_fill_driven_status_showing_the_replace_confirms_it(status):
    """Replaced, then filled: the platform never sends WORKING with the new terms."""
    order = _order(E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED, replace=True)
    assert update_event(order, int(status), 2, 6000.25) == E.REPLACED
    assert update_event(order, int(status), 1, 6000.0) is None  # the order as it was
    working = _order(E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED)
    assert update_event(working, int(status), 2, 6000.25) is None  # no replace pending
