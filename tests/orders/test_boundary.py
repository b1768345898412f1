"""The compiled boundary: named results, strict dtypes, C-contiguous buffers, one set
of enums (issue 15). Each binding that takes an array or a buffer refuses what it would
otherwise cast or misread, naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import tickbridge.orders as ob
import tickbridge.protocol as protocol
from tickbridge._core import engine as core_engine
from tickbridge._core import protocol as cpp
from tickbridge.protocol import RecordType, encode_frame, make_record
from tickbridge.protocol.enums import OrderStatus, OrderType, Side, TimeInForce

T0 = 1_795_000_000_000_000_000  # an instant in 2026, ns


def _book_with_order() -> tuple[ob.OrderBook, int]:
    book = ob.OrderBook(1)
    book.register_instrument("ESZ6", 50.0, 0.25)
    order = book.new_order("A1", "ESZ6", Side.BUY, 5, 6000.0)
    book.apply(order.client_order_id, ob.OrderEvent.SUBMIT_SENT)
    book.apply(order.client_order_id, ob.OrderEvent.SUBMIT_ACKED)
    return book, int(order.client_order_id)


def _columns(coid: int, qty: np.ndarray) -> dict[str, np.ndarray]:
    n = len(qty)
    return {"event": np.full(n, int(ob.OrderEvent.FILL), np.uint8),
            "client_order_id": np.full(n, coid, np.uint64), "qty": qty,
            "price": np.full(n, 6000.0), "exec_id": np.arange(1, n + 1, dtype=np.uint64),
            "ts": np.zeros(n, np.int64)}


# -- strict dtypes -------------------------------------------------------------------
def test_apply_events_refuses_a_fractional_quantity_naming_the_field() -> None:
    book, coid = _book_with_order()
    cols = _columns(coid, np.array([2.9]))
    with pytest.raises(TypeError, match=r"apply_events: qty must have dtype int64, got float64"):
        book.apply_events(*cols.values())
    assert book.order(coid).filled_qty == 0  # nothing booked (it booked 2 before)


@pytest.mark.parametrize("field", ["event", "client_order_id", "price", "exec_id", "ts"])
def test_apply_events_refuses_any_other_dtype_too(field: str) -> None:
    book, coid = _book_with_order()
    cols = _columns(coid, np.array([1], np.int64))
    cols[field] = cols[field].astype(np.int32 if field != "price" else np.float32)
    with pytest.raises(TypeError, match=f"apply_events: {field} must have dtype"):
        book.apply_events(*cols.values())


def test_apply_events_refuses_a_strided_column() -> None:
    book, coid = _book_with_order()
    cols = _columns(coid, np.array([1, 9, 1, 9], np.int64)[::2])
    cols = {k: (v if k == "qty" else v[:2]) for k, v in cols.items()}
    with pytest.raises(ValueError, match="apply_events: qty must be C-contiguous"):
        book.apply_events(*cols.values())
    assert book.order(coid).filled_qty == 0


def test_apply_events_books_exact_columns() -> None:
    book, coid = _book_with_order()
    out = book.apply_events(*_columns(coid, np.array([2, 1], np.int64)).values())
    assert [ob.Outcome(int(o)) for o in out] == [ob.Outcome.APPLIED, ob.Outcome.APPLIED]
    assert book.order(coid).filled_qty == 3


# -- C-contiguous buffers ------------------------------------------------------------
def _trade_frame(sequence: int = 1) -> bytes:
    record = make_record(RecordType.TRADE, instrument_id=1, time_ns=T0, price=6000.0, size=1,
                         aggressor=1)
    return encode_frame([record], session_id=5, sequence=sequence, send_time_ns=0)


def _strided(frame: bytes) -> np.ndarray:
    """A view whose every other byte is the frame: not C-contiguous."""
    doubled = np.zeros(2 * len(frame), np.uint8)
    doubled[::2] = np.frombuffer(frame, np.uint8)
    view = doubled[::2]
    assert bytes(view) == frame and not view.flags.c_contiguous
    return view


def test_ingest_refuses_a_non_contiguous_buffer() -> None:
    core = core_engine.MarketCore()
    session = core.add_session()
    core.define_instrument(session, 1, "ESZ6")
    refused = r"MarketCore\.ingest: the frame buffer is not C-contiguous"
    with pytest.raises(ValueError, match=refused):
        core.ingest(session, _strided(_trade_frame()))
    assert core.state(0)["trades"] == 0
    assert core.ingest(session, np.frombuffer(_trade_frame(), np.uint8)).trades == 1


@pytest.mark.parametrize("function", ["validate_frame", "decode_frame", "frame_runs"])
def test_the_codec_refuses_a_non_contiguous_buffer(function: str) -> None:
    with pytest.raises(ValueError, match="frame: the frame buffer is not C-contiguous"):
        getattr(cpp, function)(_strided(_trade_frame()))
    getattr(cpp, function)(_trade_frame())  # the same bytes, contiguous


# -- named results -------------------------------------------------------------------
def test_ingest_answers_with_named_fields() -> None:
    core = core_engine.MarketCore(bar_interval_ns=60_000_000_000)
    session = core.add_session()
    core.define_instrument(session, 1, "ESZ6")
    result = core.ingest(session, _trade_frame(3))
    assert isinstance(result, core_engine.Ingested)
    assert (result.session_id, result.sequence, result.record_count) == (5, 3, 1)
    assert (result.trades, result.quotes, result.ticks, result.unknown_instrument) == (1, 0, 1, 0)
    assert not result.others and not result.events and not result.fired
    assert result.submits == b""
    with pytest.raises(AttributeError):
        result.trades = 2  # read-only


# -- one set of enums ----------------------------------------------------------------
def test_one_side_and_one_set_of_order_enums() -> None:
    assert ob.Side.BUY == protocol.Side.BUY
    assert ob.Side is protocol.Side and ob.OrderType is OrderType
    assert ob.TimeInForce is TimeInForce and ob.OrderStatus is OrderStatus
    book, coid = _book_with_order()
    order = book.order(coid)
    assert type(order.side) is Side and order.side is Side.BUY
    assert order.order_type is OrderType.LIMIT and order.time_in_force is TimeInForce.DAY
    assert order.status is OrderStatus.ACKNOWLEDGED
    states = {row[0] for row in ob.transition_table()}
    assert all(type(s) is OrderStatus for s in states)


def test_an_enum_argument_takes_the_member_or_its_number_and_nothing_else() -> None:
    book = ob.OrderBook(1)
    book.register_instrument("ESZ6", 50.0)
    assert book.new_order("A1", "ESZ6", 2, 1, 6000.0).side is Side.SELL
    with pytest.raises(TypeError):
        book.new_order("A1", "ESZ6", 3, 1, 6000.0)  # no such side
    with pytest.raises(TypeError):
        book.new_order("A1", "ESZ6", 1.0, 1, 6000.0)  # a float is not a side
    with pytest.raises(TypeError):
        book.new_order("A1", "ESZ6", Side.BUY, 1, 6000.0, order_type=Side.SELL)


def test_small_results_are_named_tuples() -> None:
    frame = _trade_frame(4)
    runs = cpp.frame_runs(frame)
    assert (runs.session_id, runs.sequence, runs.record_count) == (5, 4, 1)
    assert (runs.runs[0].type, runs.runs[0].count) == (int(RecordType.TRADE), 1)
    decoded = cpp.decode_frame(frame)
    assert decoded.header.sequence == 4 and len(decoded.records) == 1
    row = ob.transition_table()[0]
    assert (row.state, row.event, row.rule, row.to, row.why) == tuple(row)
