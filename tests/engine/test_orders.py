"""Orders end to end over real sockets with a scripted shim: intents become commands,
the shim's answers drive the compiled state machine, and the races come out right."""

from __future__ import annotations

import math

import pytest

from tests.fake_shim import of, pump, pump_until
from tickbridge.orders import OrderStatus as S
from tickbridge.protocol import OrderStatus, OrderType, RecordType, RejectReason, Side, make_record


def _ready(engine, shim):
    shim.hello()  # ready once the engine has asked for the account's snapshot
    pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=10)


def _submit(engine, shim, strategy, *args, **kwargs):
    coid = strategy.ctx.buy("ESZ6", *args, **kwargs)
    assert coid, strategy.ctx.last_refusal
    got = pump(engine, shim, until=lambda r: of(r, RecordType.SUBMIT))
    (submit,) = of(got, RecordType.SUBMIT)
    return coid, submit


def _until(engine, shim, coid, holds, what):
    """Runs the engine until its book's order `coid` satisfies `holds`."""
    pump_until(engine, shim, lambda: holds(engine.router.book.order(coid)), what)


def _answer(shim, *records):
    shim.send(list(records))


def _update(coid, status, qty=2, filled=0, price=6000.25):
    return make_record(RecordType.ORDER_UPDATE, instrument_id=1, client_order_id=coid,
                       status=int(status), quantity=qty, filled_quantity=filled, price=price,
                       side=1, order_type=2, platform_order_id="P1")


def _fill(coid, exec_id, qty, price=6000.25, side=1):
    return make_record(RecordType.FILL, instrument_id=1, client_order_id=coid, price=price,
                       quantity=qty, side=side, execution_id=exec_id, time_ns=1)


def _ack(submit, command=RecordType.SUBMIT):
    return make_record(RecordType.COMMAND_ACK, request_id=int(submit["request_id"]),
                       client_order_id=int(submit["client_order_id"]), command_type=int(command))


def test_submit_carries_the_order_and_fills_book_once(engine, shim, strategy, audit_log):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 2, 6000.25)
    assert (submit["client_order_id"], submit["quantity"], submit["price"], submit["side"],
            submit["order_type"], submit["instrument_id"]) == (coid, 2, 6000.25, 1, 2, 1)
    _answer(shim, _ack(submit), _update(coid, OrderStatus.WORKING), _fill(coid, "E1", 1))
    _answer(shim, _fill(coid, "E1", 1))  # the same execution again: booked once
    _answer(shim, _fill(coid, "E2", 1))
    pump(engine, shim, until=lambda _: len(strategy.of("fill")) >= 2)
    order = engine.router.book.order(coid)
    assert (order.status, order.filled_qty, order.avg_fill_price) == (S.FILLED, 2, 6000.25)
    assert strategy.ctx.position("ESZ6") == 2
    assert [f.execution_id for f in strategy.of("fill")] == ["E1", "E2"]
    assert [p["execution_id"] for k, p in audit_log if k == "fill"] == ["E1", "E2"]


def test_a_fill_before_the_ack_is_booked(engine, shim, strategy):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 1, 6000.25)
    _answer(shim, _fill(coid, "F0", 1), _ack(submit), _update(coid, OrderStatus.WORKING))
    _until(engine, shim, coid, lambda o: o.status == S.FILLED, "the order FILLED")
    assert engine.router.book.order(coid).status == S.FILLED
    assert strategy.ctx.position("ESZ6") == 1


def test_replace_is_one_logical_order(engine, shim, strategy):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 3, 6000.25)
    _answer(shim, _ack(submit), _update(coid, OrderStatus.WORKING, qty=3))
    _until(engine, shim, coid, lambda o: o.status == S.WORKING, "the order WORKING")
    assert strategy.ctx.replace(coid, quantity=2, price=5999.75)
    got = pump(engine, shim, until=lambda r: of(r, RecordType.REPLACE))
    (replace,) = of(got, RecordType.REPLACE)
    assert (replace["client_order_id"], replace["quantity"], replace["price"]) == (coid, 2, 5999.75)
    _answer(shim, _ack(replace, RecordType.REPLACE),
            _update(coid, OrderStatus.PENDING_REPLACE, qty=3),
            _update(coid, OrderStatus.WORKING, qty=2, price=5999.75))
    _until(engine, shim, coid, lambda o: o.qty == 2 and not o.replace_pending, "the replace done")
    order = engine.router.book.order(coid)
    assert (order.status, order.qty, order.price, order.replace_pending) == (
        S.WORKING, 2, 5999.75, False)
    assert len(engine.router.book) == 1


def test_replace_below_the_filled_quantity_is_refused(engine, shim, strategy):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 3, 6000.25)
    _answer(shim, _ack(submit), _update(coid, OrderStatus.WORKING, qty=3), _fill(coid, "P1", 2))
    pump(engine, shim, until=lambda _: strategy.of("fill"))
    assert not strategy.ctx.replace(coid, quantity=1)
    assert "1" in strategy.ctx.last_refusal and "2" in strategy.ctx.last_refusal
    assert not of(pump(engine, shim, timeout=0.2), RecordType.REPLACE)


def test_a_cancel_that_loses_to_a_fill(engine, shim, strategy):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 2, 6000.25)
    _answer(shim, _ack(submit), _update(coid, OrderStatus.WORKING))
    _until(engine, shim, coid, lambda o: o.status == S.WORKING, "the order WORKING")
    assert strategy.ctx.cancel(coid)
    got = pump(engine, shim, until=lambda r: of(r, RecordType.CANCEL))
    (cancel,) = of(got, RecordType.CANCEL)
    assert engine.router.book.order(coid).status == S.PENDING_CANCEL
    _answer(shim, _fill(coid, "LATE", 2),
            make_record(RecordType.COMMAND_REJECT, request_id=int(cancel["request_id"]),
                        client_order_id=coid, command_type=int(RecordType.CANCEL),
                        reason=int(RejectReason.TOO_LATE_TO_CANCEL), text="already filled"))
    _until(engine, shim, coid, lambda o: o.filled_qty == 2, "the late fill booked")
    order = engine.router.book.order(coid)
    assert (order.status, order.filled_qty) == (S.FILLED, 2)
    assert strategy.ctx.position("ESZ6") == 2
    assert not engine.router.events.anomalies


def test_cancel_confirmed(engine, shim, strategy):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 2, 6000.25)
    _answer(shim, _ack(submit), _update(coid, OrderStatus.WORKING))
    _until(engine, shim, coid, lambda o: o.status == S.WORKING, "the order WORKING")
    strategy.ctx.cancel(coid)
    (cancel,) = of(pump(engine, shim, until=lambda r: of(r, RecordType.CANCEL)), RecordType.CANCEL)
    _answer(shim, _ack(cancel, RecordType.CANCEL), _update(coid, OrderStatus.CANCELED))
    _until(engine, shim, coid, lambda o: o.status == S.CANCELED, "the order CANCELED")
    assert engine.router.book.order(coid).status == S.CANCELED
    assert [u.status for u in strategy.of("order")][-1] == OrderStatus.CANCELED
    assert not strategy.ctx.cancel(coid)  # terminal: refused without a command
    assert "CANCELED" in strategy.ctx.last_refusal


def test_platform_reject(engine, shim, strategy):
    _ready(engine, shim)
    coid, submit = _submit(engine, shim, strategy, 2, 6000.25)
    _answer(shim, make_record(RecordType.COMMAND_REJECT, request_id=int(submit["request_id"]),
                              client_order_id=coid, command_type=int(RecordType.SUBMIT),
                              reason=int(RejectReason.SESSION_CLOSED), text="market closed"))
    _until(engine, shim, coid, lambda o: o.status == S.REJECTED, "the order REJECTED")
    assert engine.router.book.order(coid).status == S.REJECTED


def test_bad_orders_never_leave_the_engine(engine, shim, strategy, audit_log):
    _ready(engine, shim)
    ctx = strategy.ctx
    assert ctx.buy("ESZ6", 1, 6000.1) is None
    assert "not on the ESZ6 tick grid" in ctx.last_refusal
    assert ctx.buy("ESZ6", 0, 6000.25) is None
    assert "positive whole number" in ctx.last_refusal
    assert ctx.buy("CLZ6", 1, 70.0) is None
    assert "unknown instrument 'CLZ6'" in ctx.last_refusal
    assert ctx.sell("ESZ6", 1, stop_price=5990.1) is None
    assert not of(pump(engine, shim, timeout=0.3), RecordType.SUBMIT)
    assert len([k for k, _ in audit_log if k == "risk_refusal"]) == 4
    assert len(engine.router.book) == 0


def test_market_and_stop_orders(engine, shim, strategy):
    _ready(engine, shim)
    coid = strategy.ctx.sell("ESZ6", 1)
    stop = strategy.ctx.sell("ESZ6", 1, stop_price=5990.0)
    got = pump(engine, shim, until=lambda r: len(of(r, RecordType.SUBMIT)) == 2)
    market, stop_submit = of(got, RecordType.SUBMIT)
    assert (market["client_order_id"], market["order_type"], market["side"]) == (
        coid, int(OrderType.MARKET), int(Side.SELL))
    assert market["price"] == 0.0 and not math.isnan(market["price"])
    assert (stop_submit["client_order_id"], stop_submit["order_type"],
            stop_submit["stop_price"]) == (stop, int(OrderType.STOP), 5990.0)


@pytest.mark.parametrize("settings_overrides", [{"command_timeout_ms": 200}])
def test_unanswered_command_raises_doubt(engine, shim, strategy, audit_log):
    _ready(engine, shim)
    _submit(engine, shim, strategy, 1, 6000.25)

    def submit_timed_out(_: object = None) -> bool:
        return any(k == "command_timeout" and p["command"] == "SUBMIT" for k, p in audit_log)

    pump(engine, shim, until=submit_timed_out, timeout=2)
    assert submit_timed_out()
    got = pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=2)
    assert of(got, RecordType.SNAPSHOT_REQUEST)  # the doubt: a snapshot is asked for


def test_a_reject_for_an_unknown_order_asks_for_a_snapshot(engine, shim, strategy):
    """DESIGN's "after any doubt": the platform does not know an order the engine does."""
    _ready(engine, shim)
    (hello_snapshot,) = of(shim.received, RecordType.SNAPSHOT_REQUEST)
    coid, submit = _submit(engine, shim, strategy, 1, 6000.25)
    _answer(shim, _ack(submit), _update(coid, OrderStatus.WORKING),
            make_record(RecordType.COMMAND_ACK, request_id=int(hello_snapshot["request_id"]),
                        command_type=int(RecordType.SNAPSHOT_REQUEST)))  # no other doubt
    pump(engine, shim, timeout=0.6)  # past the hello's snapshot request (one per 0.5 s)
    assert strategy.ctx.cancel(coid)
    (cancel,) = of(pump(engine, shim, until=lambda r: of(r, RecordType.CANCEL)),
                   RecordType.CANCEL)
    _answer(shim, make_record(RecordType.COMMAND_REJECT, request_id=int(cancel["request_id"]),
                              client_order_id=coid, command_type=int(RecordType.CANCEL),
                              reason=int(RejectReason.UNKNOWN_ORDER), text="no such order"))
    got = pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST),
               timeout=0.5)  # well inside the 2 s command timeout
    assert of(got, RecordType.SNAPSHOT_REQUEST)
