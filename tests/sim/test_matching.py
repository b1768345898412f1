"""The matching engine, order type by order type, on hand-made ticks."""

from __future__ import annotations

from tickbridge.protocol import OrderStatus, OrderType, RecordType, RejectReason, Side, TimeInForce
from tickbridge.sim.matching import Ack, Execution, MatchingEngine, Reject, Update

ES = 1
MS = 1_000_000


def engine(latency_ms: float = 0, **kw) -> MatchingEngine:
    m = MatchingEngine({ES: 0.25}, latency_ns=int(latency_ms * MS), **kw)
    m.on_quote(ES, 0, 6000.00, 6000.25, 50, 40)
    m.on_trade(ES, 0, 6000.25, 1, 1)
    return m


def submit(m: MatchingEngine, coid: int, side: Side, order_type: OrderType, qty: int,
           price: float = 0.0, stop: float = 0.0, now: int = 1, tif=TimeInForce.DAY,
           request_id: int | None = None):
    return m.submit(request_id=request_id or coid, client_order_id=coid, instrument_id=ES,
                    side=int(side), order_type=int(order_type), time_in_force=int(tif),
                    quantity=qty, price=price, stop_price=stop, now=now)


def fills(events) -> list[tuple[float, int]]:
    return [(e.price, e.quantity) for e in events if isinstance(e, Execution)]


def statuses(events) -> list[OrderStatus]:
    return [e.order.status for e in events if isinstance(e, Update)]


def test_market_order_takes_the_touch():
    m = engine()
    events = submit(m, 1, Side.BUY, OrderType.MARKET, 3)
    assert isinstance(events[0], Ack) and events[0].command_type == RecordType.SUBMIT
    assert statuses(events) == [OrderStatus.ACKNOWLEDGED, OrderStatus.WORKING,
                                OrderStatus.FILLED]
    assert fills(events) == [(6000.25, 3)]
    sell = submit(m, 2, Side.SELL, OrderType.MARKET, 1)
    assert fills(sell) == [(6000.00, 1)]


def test_marketable_limit_fills_at_the_touch_not_its_limit():
    m = engine()
    assert fills(submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=6001.00)) == [(6000.25, 2)]


def test_resting_limit_waits_for_the_queue_ahead_then_fills_partially():
    m = engine()
    events = submit(m, 1, Side.BUY, OrderType.LIMIT, 10, price=6000.00)
    assert fills(events) == [] and m.orders[1].queue_ahead == 50  # joined behind the bid
    assert fills(m.on_trade(ES, 2, 6000.00, 30, 2)) == []  # 20 still ahead
    assert m.orders[1].queue_ahead == 20
    events = m.on_trade(ES, 3, 6000.00, 24, 2)  # 20 to the queue, 4 to us
    assert fills(events) == [(6000.00, 4)]
    assert statuses(events) == [OrderStatus.PARTIALLY_FILLED]
    assert m.orders[1].filled_quantity == 4
    events = m.on_trade(ES, 4, 6000.00, 100, 2)
    assert fills(events) == [(6000.00, 6)] and m.orders[1].status == OrderStatus.FILLED


def test_buy_aggressor_at_our_bid_does_not_fill_us():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 1, price=6000.00)
    m.orders[1].queue_ahead = 0
    assert fills(m.on_trade(ES, 2, 6000.00, 5, 1)) == []


def test_limit_improving_the_touch_has_no_queue():
    m = engine()
    m.on_quote(ES, 1, 6000.00, 6000.50, 50, 40)
    submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=6000.25, now=2)
    assert m.orders[1].queue_ahead == 0
    assert fills(m.on_trade(ES, 3, 6000.25, 1, 2)) == [(6000.25, 1)]


def test_displayed_size_caps_the_queue_estimate():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 1, price=6000.00)
    m.on_quote(ES, 2, 6000.00, 6000.25, 7, 40)  # most of the queue canceled
    assert m.orders[1].queue_ahead == 7


def test_trade_through_fills_the_rest_at_the_limit_price():
    m = engine()
    submit(m, 1, Side.SELL, OrderType.LIMIT, 5, price=6001.00)
    events = m.on_trade(ES, 2, 6001.25, 1, 1)
    assert fills(events) == [(6001.00, 5)]


def test_opposite_quote_reaching_the_limit_fills_it():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=5999.50)
    assert fills(m.on_quote(ES, 2, 5999.25, 5999.50, 10, 10)) == [(5999.50, 2)]


def test_stop_triggers_on_a_trade_through_and_becomes_market():
    m = engine()
    events = submit(m, 1, Side.BUY, OrderType.STOP, 2, stop=6001.00)
    assert fills(events) == []
    m.on_quote(ES, 2, 6000.75, 6001.00, 5, 5)
    assert fills(m.on_trade(ES, 2, 6000.75, 1, 2)) == []  # below the stop: nothing
    m.on_quote(ES, 3, 6001.00, 6001.25, 5, 5)
    assert fills(m.on_trade(ES, 3, 6001.00, 1, 1)) == [(6001.25, 2)]


def test_sell_stop_limit_triggers_then_rests_at_its_limit():
    m = engine()
    submit(m, 1, Side.SELL, OrderType.STOP_LIMIT, 3, price=5999.75, stop=5999.50)
    m.on_quote(ES, 2, 5999.25, 5999.50, 5, 5)
    events = m.on_trade(ES, 2, 5999.50, 1, 2)
    assert m.orders[1].triggered and fills(events) == []  # bid 5999.25 < limit 5999.75
    assert m.orders[1].status == OrderStatus.WORKING
    assert fills(m.on_trade(ES, 3, 5999.75, 10, 1)) == [(5999.75, 3)]  # ask side empty


def test_rejects_off_tick_quantity_unknown_instrument_and_closed_session():
    m = engine()
    r = submit(m, 1, Side.BUY, OrderType.LIMIT, 1, price=6000.10)
    assert isinstance(r[0], Reject) and r[0].reason == RejectReason.OFF_TICK_PRICE
    r = submit(m, 2, Side.BUY, OrderType.STOP, 1, stop=6000.3)
    assert r[0].reason == RejectReason.OFF_TICK_PRICE
    assert submit(m, 3, Side.BUY, OrderType.LIMIT, 0, price=6000.0)[0].reason == \
        RejectReason.INVALID_QUANTITY
    r = m.submit(request_id=4, client_order_id=4, instrument_id=99, side=1, order_type=1,
                 time_in_force=1, quantity=1, price=0, stop_price=0, now=1)
    assert r[0].reason == RejectReason.UNKNOWN_INSTRUMENT
    closed = engine(is_open=lambda t: t < 100)
    assert submit(closed, 5, Side.BUY, OrderType.MARKET, 1, now=200)[0].reason == \
        RejectReason.SESSION_CLOSED
    assert len(m.orders) == 0


def test_on_tick_check_is_relative():
    m = MatchingEngine({1: 0.1})
    m.on_quote(1, 0, 100.0, 100.1, 1, 1)
    events = m.submit(request_id=1, client_order_id=1, instrument_id=1, side=1, order_type=2,
                      time_in_force=1, quantity=1, price=0.1 * 999, stop_price=0, now=1)
    assert not isinstance(events[0], Reject)  # 99.9000000001 is on a 0.1 grid


def test_cancel_and_unknown_order():
    m = engine(latency_ms=5)
    submit(m, 1, Side.BUY, OrderType.LIMIT, 1, price=5990.00)
    m.advance(10 * MS)
    events = m.cancel(request_id=7, client_order_id=1, now=11 * MS)
    assert statuses(events) == [OrderStatus.PENDING_CANCEL]
    events = m.advance(16 * MS)
    assert isinstance(events[0], Ack) and events[0].request_id == 7
    assert statuses(events) == [OrderStatus.CANCELED]
    r = m.cancel(request_id=8, client_order_id=42, now=17 * MS)
    assert r[0].reason == RejectReason.UNKNOWN_ORDER


def test_late_cancel_loses_to_a_fill_and_the_fill_stands():
    m = engine(latency_ms=5)
    submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=6000.00)
    m.advance(6 * MS)
    m.orders[1].queue_ahead = 0
    assert statuses(m.cancel(request_id=9, client_order_id=1, now=10 * MS)) == [
        OrderStatus.PENDING_CANCEL]
    events = m.on_trade(ES, 12 * MS, 5999.75, 3, 2)  # inside the latency: through the price
    assert fills(events) == [(6000.00, 2)]
    events = m.advance(15 * MS)
    assert len(events) == 1 and isinstance(events[0], Reject)
    assert events[0].reason == RejectReason.TOO_LATE_TO_CANCEL and events[0].request_id == 9
    assert m.orders[1].status == OrderStatus.FILLED


def test_replace_changes_price_and_quantity_in_place():
    m = engine(latency_ms=2)
    submit(m, 1, Side.BUY, OrderType.LIMIT, 5, price=5999.00)
    m.advance(3 * MS)
    events = m.replace(request_id=2, client_order_id=1, price=5999.50, stop_price=0,
                       quantity=4, now=4 * MS)
    assert statuses(events) == [OrderStatus.PENDING_REPLACE]
    events = m.advance(6 * MS)
    assert isinstance(events[0], Ack) and statuses(events) == [OrderStatus.WORKING]
    order = m.orders[1]
    assert (order.price, order.quantity, order.platform_order_id) == (5999.50, 4, "100001")


def test_replace_below_filled_quantity_is_refused():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 5, price=6000.00)
    m.orders[1].queue_ahead = 0
    m.on_trade(ES, 2, 6000.00, 3, 2)
    assert m.orders[1].filled_quantity == 3
    events = m.replace(request_id=2, client_order_id=1, price=0, stop_price=0, quantity=2,
                       now=3)
    assert len(events) == 1 and events[0].reason == RejectReason.INVALID_QUANTITY
    assert m.orders[1].quantity == 5 and m.orders[1].status == OrderStatus.PARTIALLY_FILLED


def test_replace_refused_when_fills_in_the_latency_pass_the_new_quantity():
    m = engine(latency_ms=5)
    submit(m, 1, Side.BUY, OrderType.LIMIT, 5, price=6000.00)
    m.advance(6 * MS)
    m.orders[1].queue_ahead = 0
    m.replace(request_id=2, client_order_id=1, price=0, stop_price=0, quantity=2, now=7 * MS)
    m.on_trade(ES, 8 * MS, 6000.00, 3, 2)
    events = m.advance(12 * MS)
    assert events[0].reason == RejectReason.INVALID_QUANTITY
    assert statuses(events) == [OrderStatus.PARTIALLY_FILLED]


def test_replace_of_a_finished_order_is_refused():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.MARKET, 1)
    r = m.replace(request_id=2, client_order_id=1, price=0, stop_price=0, quantity=2, now=2)
    assert isinstance(r[0], Reject) and r[0].reason == RejectReason.PLATFORM_REJECTED


def test_duplicate_submit_is_a_no_op_that_restates_the_order():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 1, price=5990.00)
    events = submit(m, 1, Side.BUY, OrderType.LIMIT, 9, price=5980.00, request_id=77)
    assert isinstance(events[0], Ack) and events[0].request_id == 77
    assert statuses(events) == [OrderStatus.WORKING]
    assert m.orders[1].quantity == 1 and len(m.orders) == 1


def test_ioc_remainder_is_canceled():
    m = engine()
    events = submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=5999.00, tif=TimeInForce.IOC)
    assert statuses(events)[-1] == OrderStatus.CANCELED and fills(events) == []


def test_day_orders_expire_when_the_session_closes():
    m = engine(is_open=lambda t: t < 100)
    submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=5999.00, now=10)
    assert statuses(m.advance(150)) == [OrderStatus.EXPIRED]


def test_cancel_all_cancels_every_live_order():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 1, price=5990.00)
    submit(m, 2, Side.SELL, OrderType.LIMIT, 1, price=6010.00)
    events = m.cancel_all(0, 5)
    assert statuses(events) == [OrderStatus.PENDING_CANCEL, OrderStatus.CANCELED] * 2
    assert not any(isinstance(e, Ack | Reject) for e in events)
    assert m.working_orders() == []


def test_replacing_a_stop_through_the_market_triggers_it():
    m = engine()
    submit(m, 1, Side.SELL, OrderType.STOP, 1, stop=5995.00)
    events = m.replace(request_id=2, client_order_id=1, price=0, stop_price=6000.50,
                       quantity=1, now=2)
    assert fills(events) == [(6000.00, 1)]


def test_replace_at_a_new_price_goes_to_the_back_of_the_queue():
    m = engine()
    submit(m, 1, Side.BUY, OrderType.LIMIT, 2, price=5999.75)
    m.orders[1].queue_ahead = 3
    m.replace(request_id=2, client_order_id=1, price=5999.75, stop_price=0, quantity=1, now=2)
    assert m.orders[1].queue_ahead == 3  # smaller at the same price: keeps its place
    m.replace(request_id=3, client_order_id=1, price=6000.00, stop_price=0, quantity=1, now=3)
    assert m.orders[1].queue_ahead == 50  # new price: behind the displayed bid
