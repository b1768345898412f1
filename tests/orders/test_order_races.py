"""The races and misuses of DESIGN.md, one named case each."""

from __future__ import annotations

import numpy as np
import pytest
from orders_support import ACCOUNT, ES, QTY, E, S, new_book, order_in, send

from tickbridge.orders import Outcome, Reason, Side, exec_id_key, format_client_order_id


def test_fill_before_the_ack():
    book = new_book()
    coid = order_in(book, S.SUBMITTED)
    assert send(book, coid, E.FILL, qty=4, price=5000.0).status == S.PARTIALLY_FILLED
    assert send(book, coid, E.SUBMIT_ACKED).outcome == Outcome.APPLIED
    assert send(book, coid, E.ACCEPTED).status == S.PARTIALLY_FILLED
    assert book.order(coid).filled_qty == 4


def test_fill_racing_a_cancel_cancel_rejected_too_late():
    book = new_book()
    coid = order_in(book, S.PARTIALLY_FILLED)
    send(book, coid, E.CANCEL_SENT)
    assert send(book, coid, E.FILL, qty=6, price=5001.0).status == S.FILLED
    result = send(book, coid, E.CANCEL_REJECTED)
    assert (result.outcome, result.status) == (Outcome.APPLIED, S.FILLED)
    assert book.position(ACCOUNT, ES[0]).net_qty == QTY


def test_cancel_rejected_without_a_fill_resumes_working():
    book = new_book()
    coid = order_in(book, S.WORKING)
    send(book, coid, E.CANCEL_SENT)
    assert send(book, coid, E.CANCEL_REJECTED).status == S.WORKING


def test_late_fill_on_a_canceled_order_is_booked():
    book = new_book()
    coid = order_in(book, S.CANCELED)
    result = send(book, coid, E.FILL, qty=2, price=4999.0)
    assert (result.outcome, result.status) == (Outcome.APPLIED, S.CANCELED)
    order = book.order(coid)
    assert (order.filled_qty, order.working_qty, order.leaves_qty) == (2, 0, 8)
    assert book.position(ACCOUNT, ES[0]).net_qty == 2


def test_repeated_execution_id_is_booked_once():
    book = new_book()
    coid = order_in(book, S.WORKING)
    assert book.fill(coid, "NT-exec-1", 3, 5000.0).outcome == Outcome.APPLIED
    snapshot = book.order(coid)
    again = book.fill(coid, "NT-exec-1", 3, 5000.0)
    assert again.outcome == Outcome.DUPLICATE
    assert book.order(coid).filled_qty == snapshot.filled_qty == 3
    assert book.position(ACCOUNT, ES[0]).net_qty == 3
    assert len(book.fills(coid)) == 1
    assert book.fills(coid)[0].exec_id == exec_id_key("NT-exec-1")
    # Even on a terminal order a redelivered fill is a duplicate, not a refusal.
    send(book, coid, E.CANCEL_SENT)
    send(book, coid, E.CANCELED)
    assert book.fill(coid, "NT-exec-1", 3, 5000.0).outcome == Outcome.DUPLICATE


def test_duplicates_on_an_order_with_many_fills():
    # Past 16 fills an order's exec ids move from a scan to a hash set: both must dedup.
    book = new_book()
    coid = book.new_order(ACCOUNT, ES[0], Side.SELL, 100, 5000.0).client_order_id
    send(book, coid, E.SUBMIT_SENT)
    for i in range(40):
        assert book.fill(coid, f"x{i}", 1, 5000.0).outcome == Outcome.APPLIED
        for j in range(i + 1):
            assert book.fill(coid, f"x{j}", 1, 5000.0).outcome == Outcome.DUPLICATE
    assert book.order(coid).filled_qty == 40
    assert book.position(ACCOUNT, ES[0]).net_qty == -40


def test_the_same_execution_id_on_two_orders_is_two_fills():
    book = new_book()
    a, b = order_in(book, S.WORKING), order_in(book, S.WORKING)
    assert book.fill(a, 77, 1, 5000.0).outcome == Outcome.APPLIED
    assert book.fill(b, 77, 1, 5000.0).outcome == Outcome.APPLIED


def test_overfill_is_booked_flagged_and_surfaced():
    book = new_book()
    coid = order_in(book, S.FILLED)
    book.drain_anomalies()
    result = send(book, coid, E.FILL, qty=2, price=5000.0)
    assert (result.outcome, result.status) == (Outcome.OVERFILL, S.FILLED)
    assert format_client_order_id(coid) in result.reason and "overfill" in result.reason
    order = book.order(coid)
    assert order.overfilled and order.overfill_qty == 2 and order.filled_qty == 12
    assert book.fills(coid)[-1].overfill
    assert book.position(ACCOUNT, ES[0]).net_qty == 12
    [anomaly] = book.drain_anomalies()
    assert anomaly.outcome == Outcome.OVERFILL and "overfill" in anomaly.reason


def test_partial_fill_past_the_qty_is_an_overfill():
    book = new_book()
    coid = order_in(book, S.PARTIALLY_FILLED)  # 4 of 10
    result = send(book, coid, E.FILL, qty=9, price=5000.0)
    assert (result.outcome, result.status) == (Outcome.OVERFILL, S.FILLED)
    assert book.order(coid).overfill_qty == 3


def test_replace_below_the_filled_qty_is_refused():
    book = new_book()
    coid = order_in(book, S.PARTIALLY_FILLED)  # 4 filled
    for qty in (2, 4):
        result = book.replace_sent(coid, qty, 5001.0)
        assert (result.outcome, result.status) == (Outcome.REFUSED, S.PARTIALLY_FILLED)
        assert "not above" in result.reason and format_client_order_id(coid) in result.reason
    assert book.replace_sent(coid, 5, 5001.0).status == S.PENDING_REPLACE


def test_replace_keeps_the_client_order_id_through_cancel_then_new():
    # A platform that modifies by cancel-then-new reports the cancel leg: still one order.
    book = new_book()
    coid = order_in(book, S.PARTIALLY_FILLED)
    book.replace_sent(coid, 12, 5001.5)
    assert send(book, coid, E.CANCELED).status == S.PENDING_REPLACE
    assert send(book, coid, E.ACCEPTED).status == S.PENDING_REPLACE
    assert send(book, coid, E.REPLACED).status == S.PARTIALLY_FILLED
    order = book.order(coid)
    assert (order.client_order_id, order.qty, order.price) == (coid, 12, 5001.5)
    assert not order.replace_pending and len(book) == 1


def test_replace_rejected_keeps_the_old_terms():
    book = new_book()
    coid = order_in(book, S.WORKING)
    book.replace_sent(coid, 15, 5009.0)
    assert send(book, coid, E.REPLACE_REJECTED).status == S.WORKING
    order = book.order(coid)
    assert (order.qty, order.price) == (10, 5000.0)


def test_fill_racing_a_replace_past_the_new_qty_flags_an_overfill():
    book = new_book()
    coid = order_in(book, S.PARTIALLY_FILLED)  # 4 of 10
    book.replace_sent(coid, 6, 5001.0)
    send(book, coid, E.FILL, qty=5, price=5000.0)  # 9 filled at the old terms
    result = send(book, coid, E.REPLACED)
    assert (result.outcome, result.status) == (Outcome.OVERFILL, S.FILLED)
    assert book.order(coid).overfill_qty == 3


def test_a_pending_cancel_is_never_force_closed():
    book = new_book()
    coid = order_in(book, S.WORKING)
    send(book, coid, E.CANCEL_SENT)
    for event in (E.CANCEL_SENT, E.CANCEL_ACKED, E.SUBMIT_ACKED, E.ACCEPTED):
        assert send(book, coid, event).status == S.PENDING_CANCEL
    assert send(book, coid, E.CANCELED).status == S.CANCELED


def test_kill_switch_cancel_while_a_replace_is_pending():
    book = new_book()
    coid = order_in(book, S.WORKING)
    book.replace_sent(coid, 12, 5001.0)
    assert send(book, coid, E.CANCEL_SENT).status == S.PENDING_CANCEL
    assert send(book, coid, E.REPLACED).status == S.PENDING_CANCEL  # replace landed first
    assert book.order(coid).qty == 12
    assert send(book, coid, E.CANCELED).status == S.CANCELED


def test_refused_event_names_order_state_and_event_and_changes_nothing():
    book = new_book()
    coid = order_in(book, S.REJECTED)
    result = send(book, coid, E.FILL, qty=1, price=5000.0)
    assert result.outcome == Outcome.REFUSED
    assert result.reason.startswith(f"order {format_client_order_id(coid)}: FILL refused in "
                                    "state REJECTED")
    assert book.position(ACCOUNT, ES[0]).net_qty == 0
    assert [(a.event, a.code) for a in book.anomalies()] == [(E.FILL, Reason.NO_TRANSITION)]


def test_retried_submit_is_a_no_op():
    book = new_book()
    first = book.new_order(ACCOUNT, ES[0], Side.BUY, QTY, 5000.0)
    send(book, first.client_order_id, E.SUBMIT_SENT)
    again = book.new_order(ACCOUNT, ES[0], Side.BUY, QTY, 5000.0,
                           client_order_id=first.client_order_id_text)
    assert again.client_order_id == first.client_order_id
    assert again.status == S.SUBMITTED and len(book) == 1
    with pytest.raises(ValueError, match=first.client_order_id_text):
        book.new_order(ACCOUNT, ES[0], Side.SELL, QTY, client_order_id=first.client_order_id)


def test_restored_id_is_kept_and_new_ids_skip_it():
    book = new_book(epoch=9)
    restored = book.new_order(ACCOUNT, ES[0], Side.BUY, 1, client_order_id=(9 << 32) | 1)
    fresh = book.new_order(ACCOUNT, ES[0], Side.BUY, 1)
    assert restored.client_order_id == (9 << 32) | 1
    assert fresh.client_order_id == (9 << 32) | 2
    other_epoch = book.new_order(ACCOUNT, ES[0], Side.BUY, 1, client_order_id=(3 << 32) | 5)
    assert book.order((3 << 32) | 5).client_order_id == other_epoch.client_order_id


def test_misuse_raises_clear_python_errors():
    book = new_book()
    with pytest.raises(KeyError, match="TB0000000700000063"):
        book.apply(0x0000000700000063, E.SUBMIT_SENT)
    with pytest.raises(KeyError, match="TB"):
        book.order(12345)
    with pytest.raises(ValueError, match="16 hex digits"):
        book.order("TB12")
    with pytest.raises(ValueError, match="not registered"):
        book.new_order(ACCOUNT, "CLZ6", Side.BUY, 1)
    with pytest.raises(ValueError, match="qty must be > 0"):
        book.new_order(ACCOUNT, ES[0], Side.BUY, 0)
    with pytest.raises(ValueError, match="point_value"):
        book.register_instrument("ZN", 0.0)
    with pytest.raises(KeyError, match="CLZ6"):
        book.position(ACCOUNT, "CLZ6")


def test_fill_without_exec_id_or_with_bad_qty_is_refused():
    book = new_book()
    coid = order_in(book, S.WORKING)
    assert book.fill(coid, 0, 1, 5000.0).outcome == Outcome.REFUSED
    assert book.fill(coid, 5, 0, 5000.0).outcome == Outcome.REFUSED
    assert book.fill(coid, 6, 1, float("nan")).outcome == Outcome.REFUSED
    assert book.order(coid).filled_qty == 0


def test_apply_events_batch():
    book = new_book()
    a = book.new_order(ACCOUNT, ES[0], Side.BUY, 2, 5000.0).client_order_id
    unknown = a + 1000
    events = np.array([E.SUBMIT_SENT, E.FILL, E.FILL, E.FILL, E.SUBMIT_SENT, 99], dtype=np.uint8)
    ids = np.array([a, a, a, a, unknown, a], dtype=np.uint64)
    qty = np.array([0, 1, 1, 1, 0, 0], dtype=np.int64)
    price = np.array([0, 5000.0, 5000.0, 5002.0, 0, 0])
    exec_id = np.array([0, 1, 1, 2, 0, 0], dtype=np.uint64)
    ts = np.arange(6, dtype=np.int64)
    out = book.apply_events(events, ids, qty, price, exec_id, ts)
    assert [Outcome(int(o)) for o in out] == [
        Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED,
        Outcome.REFUSED, Outcome.REFUSED]
    order = book.order(a)
    assert (order.status, order.filled_qty, order.avg_fill_price) == (S.FILLED, 2, 5001.0)
    assert [x.code for x in book.anomalies()] == [Reason.UNKNOWN_ORDER, Reason.UNKNOWN_EVENT]
    reasons = [x.reason for x in book.anomalies()]
    assert "unknown client order id" in reasons[0] and "event code 99" in reasons[1]
    with pytest.raises(ValueError, match="rows"):
        book.apply_events(events, ids[:2], qty, price, exec_id, ts)


def test_history_records_every_event_with_its_outcome():
    book = new_book()
    coid = order_in(book, S.WORKING)
    send(book, coid, E.REJECTED, ts=5)
    history = book.history(coid)
    assert [h.event for h in history] == [E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED, E.REJECTED]
    assert history[-1].outcome == Outcome.REFUSED and history[-1].ts == 5
    assert [h.to_status for h in history[:3]] == [S.SUBMITTED, S.ACKNOWLEDGED, S.WORKING]
