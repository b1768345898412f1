"""The ACSIL study, compiled against Sierra Chart's real ACSIL headers, run by the harness
against a test engine peer over real ZeroMQ sockets (issues 7, 13)."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import zmq

from tests.acsil.conftest import free_port
from tests.acsil.peer import EnginePeer
from tests.acsil.toolchain import Harness
from tests.waiting import wait_until
from tickbridge.protocol import (
    Aggressor,
    OrderStatus,
    OrderType,
    RecordType,
    RejectReason,
    Side,
    TimeInForce,
    decode_frame,
    encode_frame,
    make_record,
)

# The harness's time and sales entry n is at day 46000 + n ms (SCDateTime, 1899-12-30 epoch).
TS_BASE_NS = (46000 - 25569) * 86400 * 10**9


def ts_sequence(time_ns: int) -> int:
    return round((int(time_ns) - TS_BASE_NS) / 1e6)


def tag(client_order_id: int) -> str:
    return f"TB{client_order_id:016X}"


def pump_until(harness: Harness, predicate, timeout: float = 10.0) -> None:
    def call() -> None:
        harness("call")
        time.sleep(0.003)

    call()
    wait_until(predicate, timeout, "a condition while pumping study calls", step=call)


def connect(harness: Harness, peer: EnginePeer, **options) -> None:
    harness.configure(peer.endpoint, **options)
    pump_until(harness, lambda: len(peer.events(RecordType.INSTRUMENT_DEFINITION)) >= 1)


def submit(peer: EnginePeer, request_id: int, client_order_id: int, *, side=Side.BUY,
           order_type=OrderType.LIMIT, price=4000.25, stop_price=0.0, quantity=2,
           tif=TimeInForce.DAY) -> None:
    peer.command(RecordType.SUBMIT, request_id=request_id, client_order_id=client_order_id,
                 price=price, stop_price=stop_price, quantity=quantity, side=int(side),
                 order_type=int(order_type), time_in_force=int(tif))


def answers(peer: EnginePeer, request_id: int) -> list[tuple[RecordType, object]]:
    return [(t, r) for t, r in peer.events()
            if t in (RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT)
            and int(r["request_id"]) == request_id]


def answered(peer: EnginePeer, request_id: int):
    return lambda: len(answers(peer, request_id)) >= 1


def market_entries(peer: EnginePeer) -> int:
    return len(peer.events(RecordType.TRADE)) + len(peer.events(RecordType.QUOTE))


def order_id_of(harness: Harness, client_order_id: int) -> int:
    for line in harness("orders"):
        if f"tag={tag(client_order_id)}" in line:
            return int(line.split("id=")[1].split()[0])
    raise AssertionError(f"no platform order for {client_order_id}")


# ---- forwarding ---------------------------------------------------------------------------


def test_every_event_arrives_intact_in_order_once_across_many_calls_and_a_reconnect(
        make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    first_events = peer.events()
    assert [t for t, _ in first_events[:2]] == [RecordType.HELLO,
                                                RecordType.INSTRUMENT_DEFINITION]
    hello, definition = first_events[0][1], first_events[1][1]
    assert hello["platform"] == 1 and hello["simulated"] == 1
    assert hello["platform_version"] == b"Sierra Chart 2784" and hello["account"] == b"Sim1"
    assert hello["heartbeat_interval_ms"] == 100
    assert definition["symbol"] == b"ESZ6" and definition["tick_size"] == 0.25
    assert definition["point_value"] == 50.0 and definition["instrument_id"] == 1

    fills_made = 0
    for step in range(40):
        harness("ts 37")
        harness("call")
        if step % 8 == 0:
            coid = 1000 + step
            submit(peer, 500 + step, coid, quantity=3)
            pump_until(harness, answered(peer, 500 + step))
            order_id = order_id_of(harness, coid)
            harness(f"fill {order_id} 1 4000.25")
            harness(f"fill {order_id} 2 4000.5")
            fills_made += 2
            harness("call")
        if step == 20:
            # The engine restarts while the chart keeps updating. Market data already
            # sent to an engine that dies unread is gone by design (only order events are
            # kept for resend), so the restart comes once the engine has read all of it.
            pump_until(harness, lambda sent=(step + 1) * 37: market_entries(peer) >= sent)
            peer.restart(down_for=0.3)
            for _ in range(5):
                harness("ts 37")
                harness("call")
            # Commands go to a shim once it has said Hello to this engine, as the real
            # engine does: before that the peer's ROUTER knows no route and drops them.
            pump_until(harness, peer.greeted)
    total_entries = 45 * 37
    pump_until(harness, lambda: len(peer.events(RecordType.FILL)) >= fills_made
               and market_entries(peer) >= total_entries, timeout=10)

    link = peer.link()
    assert link.hellos >= 2, "a restarted engine must get Hello again"
    market = [(t, r) for t, r in peer.events() if t in (RecordType.TRADE, RecordType.QUOTE)]
    sequences = [ts_sequence(r["time_ns"]) for _, r in market]
    assert sequences == list(range(sequences[0], sequences[0] + total_entries)), \
        "time and sales: each entry once, none skipped, in order"
    for kind, record in market:
        s = ts_sequence(record["time_ns"])
        # Exact to the microsecond: entry s is at s ms + (s % 397) us after the base.
        assert int(record["time_ns"]) == TS_BASE_NS + s * 10**6 + (s % 397) * 1000
        price = 4000 + (s % 100) * 0.25
        if s % 3 == 0:
            assert kind == RecordType.QUOTE
            assert (record["bid_price"], record["ask_price"]) == (price - 0.25, price)
            assert (record["bid_size"], record["ask_size"]) == (s % 11 + 1, s % 13 + 1)
        else:
            assert kind == RecordType.TRADE
            assert record["price"] == price and record["size"] == s % 7 + 1
            assert record["aggressor"] == (Aggressor.SELL if s % 3 == 1 else Aggressor.BUY)
    fills = peer.events(RecordType.FILL)
    execution_ids = [bytes(r["execution_id"]) for _, r in fills]
    assert len(execution_ids) == fills_made == len(set(execution_ids))
    assert all(r["client_order_id"] >= 1000 and r["quantity"] in (1, 2) for _, r in fills)
    acks = peer.events(RecordType.COMMAND_ACK)
    assert sorted(int(r["request_id"]) for _, r in acks) == [500 + s for s in range(0, 40, 8)]
    filled = [r for _, r in peer.events(RecordType.ORDER_UPDATE)
              if r["status"] == OrderStatus.FILLED]
    assert len(filled) == 5 and all(r["average_fill_price"] == pytest.approx(4000.4166666)
                                    for r in filled)
    positions = peer.events(RecordType.POSITION)
    assert positions[-1][1]["quantity"] == 15
    assert peer.events(RecordType.ACCOUNT), "account values are forwarded"


def test_market_depth_when_enabled(make_harness, peer):
    harness = make_harness()
    harness.configure(peer.endpoint)
    harness("input 7 yesno 1")
    harness("depth bid 0 4000 10")
    harness("depth ask 0 4000.25 7")
    pump_until(harness, lambda: len(peer.events(RecordType.DEPTH)) >= 2)
    harness("depth bid 0 4000 12")
    harness("depth ask 0 4000.25 0")
    pump_until(harness, lambda: len(peer.events(RecordType.DEPTH)) >= 4)
    depth = [(int(r["side"]), int(r["level"]), float(r["price"]), int(r["size"]), int(r["action"]))
             for _, r in peer.events(RecordType.DEPTH)]
    assert depth == [(1, 0, 4000.0, 10, 1), (2, 0, 4000.25, 7, 1),
                     (1, 0, 4000.0, 12, 1), (2, 0, 4000.25, 0, 2)]


# ---- commands -----------------------------------------------------------------------------


def test_submit_modify_cancel_flatten_reach_the_trading_functions(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 0xA1, side=Side.BUY, order_type=OrderType.LIMIT, price=4000.25, quantity=2,
           tif=TimeInForce.DAY)
    submit(peer, 2, 0xA2, side=Side.SELL, order_type=OrderType.STOP, stop_price=3990.0,
           quantity=1, tif=TimeInForce.GTC)
    submit(peer, 3, 0xA3, side=Side.BUY, order_type=OrderType.STOP_LIMIT, price=4010.0,
           stop_price=4009.0, quantity=4, tif=TimeInForce.GTC)
    submit(peer, 4, 0xA4, side=Side.SELL, order_type=OrderType.MARKET, quantity=1,
           tif=TimeInForce.IOC)
    pump_until(harness, lambda: all(answers(peer, r) for r in (1, 2, 3, 4)))
    calls = [c for c in harness.calls() if c.startswith(("BuyOrder", "SellOrder"))]
    # Manual looping: the order is for the last bar (sc.ArraySize - 1 = 499 on the
    # harness's chart), as Sierra Chart's manual-looping example passes; sc.Index is 0.
    assert calls == [
        f"BuyOrder qty=2 type=1 price1=4000.25 price2=unset tif=0 tag={tag(0xA1)} index=499",
        f"SellOrder qty=1 type=2 price1=3990 price2=unset tif=1 tag={tag(0xA2)} index=499",
        f"BuyOrder qty=4 type=3 price1=4009 price2=4010 tif=1 tag={tag(0xA3)} index=499",
        # SCT_TIF_IMMEDIATE_OR_CANCEL is 2 in scconstants.h (3 is fill-or-kill).
        f"SellOrder qty=1 type=0 price1=unset price2=unset tif=2 tag={tag(0xA4)} index=499",
    ]
    updates = {int(r["client_order_id"]): r for _, r in peer.events(RecordType.ORDER_UPDATE)}
    assert updates[0xA1]["status"] == OrderStatus.WORKING
    assert updates[0xA1]["price"] == 4000.25 and updates[0xA1]["side"] == Side.BUY
    assert updates[0xA3]["stop_price"] == 4009.0 and updates[0xA3]["price"] == 4010.0
    assert updates[0xA2]["time_in_force"] == TimeInForce.GTC

    a1 = order_id_of(harness, 0xA1)
    peer.command(RecordType.REPLACE, request_id=5, client_order_id=0xA1, price=4001.0,
                 stop_price=0.0, quantity=3)
    peer.command(RecordType.CANCEL, request_id=6, client_order_id=0xA2)
    peer.command(RecordType.CANCEL, request_id=7, client_order_id=0xBAD)
    pump_until(harness, lambda: all(answers(peer, r) for r in (5, 6, 7)))
    assert f"ModifyOrder id={a1} qty=3 price1=4001 price2=unset" in harness.calls()
    assert f"CancelOrder id={order_id_of(harness, 0xA2)}" in harness.calls()
    assert answers(peer, 5)[0][0] == RecordType.COMMAND_ACK
    assert answers(peer, 6)[0][0] == RecordType.COMMAND_ACK
    kind, reject = answers(peer, 7)[0]
    assert kind == RecordType.COMMAND_REJECT and reject["reason"] == RejectReason.UNKNOWN_ORDER
    # Cancel of an order no longer working: too late.
    peer.command(RecordType.CANCEL, request_id=8, client_order_id=0xA2)
    pump_until(harness, answered(peer, 8))
    assert answers(peer, 8)[0][1]["reason"] == RejectReason.TOO_LATE_TO_CANCEL

    peer.command(RecordType.CANCEL_ALL, request_id=9)
    peer.command(RecordType.FLATTEN, request_id=10)
    pump_until(harness, lambda: answers(peer, 9) and answers(peer, 10))
    tail = harness.calls()[-2:]
    assert tail == ["CancelAllOrders", "FlattenAndCancelAllOrders"]
    assert [t for t, _ in answers(peer, 9) + answers(peer, 10)] == [RecordType.COMMAND_ACK] * 2


def test_duplicate_submit_is_a_no_op_answered_with_the_current_order(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 77, quantity=5)
    pump_until(harness, answered(peer, 1))
    harness(f"fill {order_id_of(harness, 77)} 2 4000.25")
    harness("call")
    before = len(peer.events(RecordType.ORDER_UPDATE))
    submit(peer, 2, 77, quantity=5)
    pump_until(harness, answered(peer, 2))
    assert len([c for c in harness.calls() if c.startswith("BuyOrder")]) == 1
    kind, ack = answers(peer, 2)[0]
    assert kind == RecordType.COMMAND_ACK and ack["client_order_id"] == 77
    after = peer.events(RecordType.ORDER_UPDATE)[before:]
    assert after and after[-1][1]["client_order_id"] == 77
    assert after[-1][1]["filled_quantity"] == 2
    assert after[-1][1]["status"] == OrderStatus.PARTIALLY_FILLED


@pytest.mark.parametrize("field", ["IsFullRecalculation", "DownloadingHistoricalData"])
def test_orders_while_sierra_chart_is_busy_are_rejected_platform_busy(make_harness, peer, field):
    harness = make_harness()
    connect(harness, peer)
    harness(f"set {field} 1")
    submit(peer, 1, 5)
    pump_until(harness, answered(peer, 1))
    kind, record = answers(peer, 1)[0]
    assert kind == RecordType.COMMAND_REJECT
    assert record["reason"] == RejectReason.PLATFORM_BUSY == 5
    assert not [c for c in harness.calls() if c.startswith("BuyOrder")]
    harness(f"set {field} 0")
    submit(peer, 2, 5)
    pump_until(harness, answered(peer, 2))
    assert answers(peer, 2)[0][0] == RecordType.COMMAND_ACK


def test_snapshot_request(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 11, quantity=2)
    submit(peer, 2, 12, quantity=1)
    pump_until(harness, lambda: answers(peer, 1) and answers(peer, 2))
    harness(f"fill {order_id_of(harness, 12)} 1 4000.0")
    harness("call")
    peer.command(RecordType.SNAPSHOT_REQUEST, request_id=3, what=15, fills_since_ns=0)
    pump_until(harness, lambda: len(peer.events(RecordType.SNAPSHOT_BOUNDARY)) >= 2)
    events = peer.events()
    begin = next(i for i, (t, _) in enumerate(events) if t == RecordType.SNAPSHOT_BOUNDARY)
    end = max(i for i, (t, _) in enumerate(events) if t == RecordType.SNAPSHOT_BOUNDARY)
    inside = [t for t, _ in events[begin + 1:end]]
    assert inside == [RecordType.ORDER_UPDATE, RecordType.POSITION, RecordType.FILL,
                      RecordType.ACCOUNT]
    assert events[end][1]["phase"] == 2 and events[end][1]["record_count"] == 4
    assert answers(peer, 3)[0][0] == RecordType.COMMAND_ACK


# ---- safety -------------------------------------------------------------------------------


def kill_request(endpoint: str, secret: bytes, flatten: int = 1, request_id: int = 900,
                 kind: RecordType = RecordType.KILL, wait_ms: int = 3000) -> object:
    context = zmq.Context.instance()
    client = context.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(endpoint)
    try:
        if kind == RecordType.KILL:
            record = make_record(kind, request_id=request_id, flatten=flatten, secret=secret)
        else:
            record = make_record(kind, request_id=request_id)
        client.send(encode_frame([record], session_id=42, sequence=1, send_time_ns=1))
        assert client.poll(wait_ms), "no answer from the kill endpoint"
        return decode_frame(client.recv())
    finally:
        client.close(0)


_KILLERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kill-client")


def kill_in_background(endpoint: str, secret: bytes, **options) -> Future:
    """A kill request whose answer comes only after Sierra Chart ran it: sent from another
    thread while the test plays the chart's updates."""
    return _KILLERS.submit(kill_request, endpoint, secret, **options)


def kill_answer(harness: Harness, request: Future, timeout: float = 5.0) -> tuple:
    pump_until(harness, request.done, timeout)
    (kind, record), = list(request.result())
    return kind, record


def test_kill_endpoint_works_with_no_engine(make_harness):
    harness = make_harness()
    kill_endpoint = f"tcp://127.0.0.1:{free_port()}"
    harness.configure(f"tcp://127.0.0.1:{free_port()}", kill=kill_endpoint)  # nothing there
    harness("call")
    harness("place buy 1 3990 manual")
    bad = kill_request(kill_endpoint, b"wrong")
    (kind, record), = list(bad)
    assert kind == RecordType.COMMAND_REJECT and record["reason"] == RejectReason.BAD_SECRET
    harness("call")
    assert "FlattenAndCancelAllOrders" not in harness.calls()
    other = kill_request(kill_endpoint, b"", kind=RecordType.CANCEL_ALL)
    (kind, record), = list(other)
    assert kind == RecordType.COMMAND_REJECT and record["reason"] == RejectReason.MALFORMED

    # The kill acts at the next chart update and is answered once it has run.
    kind, record = kill_answer(harness, kill_in_background(kill_endpoint, b"s3cret", flatten=1,
                                                           request_id=901))
    assert kind == RecordType.COMMAND_ACK and record["request_id"] == 901
    assert "FlattenAndCancelAllOrders" in harness.calls()
    kind, _ = kill_answer(harness, kill_in_background(kill_endpoint, b"s3cret", flatten=0,
                                                      request_id=902))
    assert kind == RecordType.COMMAND_ACK
    assert [c for c in harness.calls() if "AllOrders" in c][-1] == "CancelAllOrders"
    assert any("KILL from kill endpoint: done" in line for line in harness.log())


# ---- issue 13: the kill switch is closed by default ----------------------------------------


def test_an_empty_kill_secret_refuses_every_kill_even_the_headers_unset(make_harness):
    """Sierra Chart's GetString() reads "Unset" for an empty input: that must not be a secret."""
    harness = make_harness()
    kill_endpoint = f"tcp://127.0.0.1:{free_port()}"
    harness.configure(f"tcp://127.0.0.1:{free_port()}", kill=kill_endpoint, secret="")
    harness("call")
    for secret in (b"Unset", b""):
        (kind, record), = list(kill_request(kill_endpoint, secret))
        assert kind == RecordType.COMMAND_REJECT and record["reason"] == RejectReason.BAD_SECRET
    harness("call")
    assert not [c for c in harness.calls() if "AllOrders" in c]


def test_the_kill_endpoint_binds_nothing_by_default_or_when_emptied(make_harness, peer):
    harness = make_harness()
    harness("defaults")  # the inputs as Sierra Chart shows them on a new study
    harness(f"input 0 str {peer.endpoint}")
    pump_until(harness, lambda: len(peer.events(RecordType.INSTRUMENT_DEFINITION)) >= 1)
    harness("pump 100")
    assert not [line for line in harness.log() if "kill endpoint" in line]
    # Two charts with the defaults: neither binds a port, so they cannot collide.
    second = make_harness()
    second("defaults")
    second(f"input 0 str {peer.endpoint}")
    second("pump 100")
    assert not [line for line in second.log() if "kill endpoint" in line]


def test_a_kill_sierra_chart_skips_is_retried_and_answered_only_once_done(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    harness("set IsFullRecalculation 1")
    peer.command(RecordType.KILL, request_id=63, flatten=1, secret=b"s3cret")
    pump_until(harness, lambda: harness.calls().count("FlattenAndCancelAllOrders") >= 3)
    assert not answers(peer, 63), "not answered while Sierra Chart skips it"
    assert not [line for line in harness.log() if "KILL" in line and ": done" in line]
    assert any("KILL from engine NOT done yet" in line for line in harness.log())
    harness("set IsFullRecalculation 0")
    pump_until(harness, answered(peer, 63))
    assert answers(peer, 63)[0][0] == RecordType.COMMAND_ACK
    assert any("KILL from engine: done (FlattenAndCancelAllOrders returned 1)" in line
               for line in harness.log())


def test_a_kill_sierra_chart_refuses_is_reported_failed(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    harness("set CancelResult -1")  # SCTRADING_ORDER_ERROR
    peer.command(RecordType.KILL, request_id=64, flatten=0, secret=b"s3cret")
    pump_until(harness, answered(peer, 64))
    kind, record = answers(peer, 64)[0]
    assert kind == RecordType.COMMAND_REJECT
    assert record["reason"] == RejectReason.PLATFORM_REJECTED
    assert any("KILL from engine FAILED: CancelAllOrders returned -1" in line
               for line in harness.log())
    peer.command(RecordType.CANCEL_ALL, request_id=65)
    pump_until(harness, answered(peer, 65))
    assert answers(peer, 65)[0][1]["reason"] == RejectReason.PLATFORM_REJECTED


def test_a_cancel_skipped_in_a_full_recalculation_is_platform_busy(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 0xC1)
    pump_until(harness, answered(peer, 1))
    harness("set IsFullRecalculation 1")
    peer.command(RecordType.CANCEL, request_id=2, client_order_id=0xC1)
    pump_until(harness, answered(peer, 2))
    kind, record = answers(peer, 2)[0]
    assert kind == RecordType.COMMAND_REJECT and record["reason"] == RejectReason.PLATFORM_BUSY


def test_cancel_on_disconnect_reports_what_sierra_chart_refused(make_harness, peer):
    harness = make_harness()
    connect(harness, peer, heartbeat_ms=100, silence_beats=3)
    submit(peer, 1, 0xD1)
    pump_until(harness, answered(peer, 1))
    harness("set CancelResult -1")
    peer.pause()
    pump_until(harness, lambda: any("engine silent" in line for line in harness.log()))
    (line,) = [line for line in harness.log() if "engine silent" in line]
    assert "canceled 0 of 1" in line and "1 REFUSED" in line and "-1" in line


def test_the_kill_endpoint_answers_only_once_sierra_chart_has_run_the_kill(make_harness):
    """Item 4: no "done" before the call ran; the answer is what FlattenAndCancelAllOrders
    returned (skipped with auto trading off: no answer yet; then run: CommandAck)."""
    harness = make_harness()
    kill_endpoint = f"tcp://127.0.0.1:{free_port()}"
    harness.configure(f"tcp://127.0.0.1:{free_port()}", kill=kill_endpoint)
    harness("call")
    harness("set IsAutoTradingEnabled 0")
    request = kill_in_background(kill_endpoint, b"s3cret", flatten=1, request_id=910)
    time.sleep(0.3)
    assert not request.done(), "answered before Sierra Chart was even called"
    pump_until(harness, lambda: harness.calls().count("FlattenAndCancelAllOrders") >= 3)
    assert not request.done(), "answered while Sierra Chart skips the kill"
    assert "KILL PENDING" in status(harness)
    harness("set IsAutoTradingEnabled 1")
    kind, record = kill_answer(harness, request)
    assert kind == RecordType.COMMAND_ACK and record["request_id"] == 910
    assert any("KILL from kill endpoint: done (FlattenAndCancelAllOrders returned 1)" in line
               for line in harness.log())


def test_a_kill_endpoint_kill_sierra_chart_refuses_is_answered_with_its_result(make_harness):
    harness = make_harness()
    kill_endpoint = f"tcp://127.0.0.1:{free_port()}"
    harness.configure(f"tcp://127.0.0.1:{free_port()}", kill=kill_endpoint)
    harness("call")
    harness("set CancelResult -1")  # SCTRADING_ORDER_ERROR
    kind, record = kill_answer(harness, kill_in_background(kill_endpoint, b"s3cret", flatten=0,
                                                           request_id=911))
    assert kind == RecordType.COMMAND_REJECT
    assert record["reason"] == RejectReason.PLATFORM_REJECTED
    assert bytes(record["text"]).decode().startswith("CancelAllOrders returned -1")


@pytest.mark.parametrize("why", ["study not called", "auto trading off"])
def test_a_kill_not_run_by_its_deadline_is_reported_failed_and_never_runs(
        make_harness, peer, why):
    """Kill endpoint and engine Kill alike: past the deadline input (1 s here) the requester
    is told it failed, and the kill does not run later."""
    harness = make_harness()
    kill_endpoint = f"tcp://127.0.0.1:{free_port()}"
    connect(harness, peer, kill=kill_endpoint, kill_deadline_s=1)
    if why == "auto trading off":
        harness("set IsAutoTradingEnabled 0")
    request = kill_in_background(kill_endpoint, b"s3cret", flatten=1, request_id=920,
                                 wait_ms=10000)
    peer.command(RecordType.KILL, request_id=921, flatten=1, secret=b"s3cret")
    if why == "study not called":
        time.sleep(0.3)  # both arrive at the socket thread; the study is then not called
        assert peer.wait_for(answered(peer, 921), timeout=10)
        request.result(timeout=10)
    else:
        pump_until(harness, lambda: request.done() and answers(peer, 921), timeout=10)
    (kind, record), = list(request.result())
    assert kind == RecordType.COMMAND_REJECT
    assert record["reason"] == RejectReason.PLATFORM_BUSY
    assert bytes(record["text"]).decode().startswith("not run in 1000 ms")
    (kind, record), = answers(peer, 921)
    assert kind == RecordType.COMMAND_REJECT and record["reason"] == RejectReason.PLATFORM_BUSY
    flattens = harness.calls().count("FlattenAndCancelAllOrders")
    harness("set IsAutoTradingEnabled 1")
    harness("pump 100")
    assert harness.calls().count("FlattenAndCancelAllOrders") == flattens, "ran after failing"
    assert not [line for line in harness.log() if "KILL" in line and ": done" in line]
    assert any("NOT run" in line or "FAILED" in line for line in harness.log())


def test_cancel_on_disconnect_skipped_now_is_retried_until_it_runs(make_harness, peer):
    harness = make_harness()
    connect(harness, peer, heartbeat_ms=100, silence_beats=3)
    submit(peer, 1, 0xD5)
    submit(peer, 2, 0xD6)
    pump_until(harness, lambda: answers(peer, 1) and answers(peer, 2))
    harness("set IsFullRecalculation 1")
    peer.pause()
    pump_until(harness, lambda: any("NOT canceled yet" in line for line in harness.log()))
    assert "CANCELS PENDING" in status(harness)
    assert not [line for line in harness.log() if "REFUSED" in line]
    harness("set IsFullRecalculation 0")
    pump_until(harness, lambda: any("canceled 2 of 2" in line for line in harness.log()))
    assert "CANCELS PENDING" not in status(harness)


def test_kill_endpoint_survives_a_port_that_is_taken(make_harness, peer):
    port = free_port()
    blocker = zmq.Context.instance().socket(zmq.ROUTER)
    blocker.setsockopt(zmq.LINGER, 0)
    blocker.bind(f"tcp://127.0.0.1:{port}")
    harness = make_harness()
    connect(harness, peer, kill=f"tcp://127.0.0.1:{port}")
    pump_until(harness, lambda: any("cannot bind" in line for line in harness.log()))
    message = next(line for line in harness.log() if "cannot bind" in line)
    assert f"tcp://127.0.0.1:{port}" in message and "Address already in use" in message
    blocker.close(0)
    pump_until(harness, lambda: any("bound" in line and "cannot" not in line
                                    for line in harness.log()), timeout=6)
    kind, _ = kill_answer(harness, kill_in_background(f"tcp://127.0.0.1:{port}", b"s3cret"))
    assert kind == RecordType.COMMAND_ACK


@pytest.mark.parametrize("enabled", [True, False])
def test_cancel_on_disconnect(make_harness, peer, enabled):
    harness = make_harness()
    connect(harness, peer, heartbeat_ms=100, silence_beats=3, cancel_on_disconnect=enabled)
    submit(peer, 1, 21)
    submit(peer, 2, 22)
    pump_until(harness, lambda: answers(peer, 1) and answers(peer, 2))
    (placed,) = harness("place sell 1 4100 manual")
    manual_id = int(placed.split()[1])
    engine_ids = {order_id_of(harness, 21), order_id_of(harness, 22)}
    peer.pause()  # the engine hangs: no heartbeat
    harness("pump 700")
    cancels = {int(c.split("id=")[1]) for c in harness.calls() if c.startswith("CancelOrder")}
    if not enabled:
        assert cancels == set()
        return
    assert cancels == engine_ids and manual_id not in cancels
    assert any("engine silent" in line for line in harness.log())
    peer.resume()
    pump_until(harness, lambda: {int(r["client_order_id"])
                                 for _, r in peer.events(RecordType.ORDER_UPDATE)
                                 if r["status"] == OrderStatus.CANCELED} == {21, 22})


def test_control_bar_kill_button(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    assert "SetCustomStudyControlBarButtonText 1 TB KILL" in harness.calls()
    harness("menu 1 off")  # a release is not a press
    harness("call")
    assert "FlattenAndCancelAllOrders" not in harness.calls()
    harness("menu 1 on")
    harness("call")
    assert harness.calls()[-2:] == ["SetCustomStudyControlBarButtonEnable 1 0",
                                    "FlattenAndCancelAllOrders"]
    assert any("KILL from control bar button: done (FlattenAndCancelAllOrders returned 1)"
               in line for line in harness.log())


# ---- threading ----------------------------------------------------------------------------


def test_background_thread_is_gone_after_the_last_call(make_harness, peer):
    harness = make_harness()
    assert harness.threads() == 1
    connect(harness, peer)
    assert "tickbridge-shim" in harness.thread_names()
    # Changing the link inputs restarts the link: still one socket thread (plus ZeroMQ's).
    running = harness.threads()
    harness("input 4 int 200")
    harness("call")
    harness("sleep 100")
    assert harness.threads() == running
    harness("last")
    assert harness.threads_left() == ["harness"]
    rc, err = harness.close()
    assert rc == 0, err


def call_cost(harness: Harness, entries: int = 100, calls: int = 400) -> float:
    harness("call")
    (line,) = harness(f"bench {entries} {calls}")
    fields = dict(part.split("=") for part in line.split()[1:])
    return float(fields["p50_ns"])


def test_a_study_call_costs_the_same_with_the_engine_absent_or_slow(make_harness, peer, capsys):
    costs = {}
    connected = make_harness()
    connect(connected, peer)
    costs["engine up"] = call_cost(connected)

    absent = make_harness()
    absent.configure(f"tcp://127.0.0.1:{free_port()}")
    costs["engine absent"] = call_cost(absent)

    # A slow engine: it accepts the connection and never reads.
    context = zmq.Context.instance()
    stalled = context.socket(zmq.ROUTER)
    stalled.setsockopt(zmq.LINGER, 0)
    stalled.setsockopt(zmq.RCVHWM, 1)
    port = free_port()
    stalled.bind(f"tcp://127.0.0.1:{port}")
    slow = make_harness()
    slow.configure(f"tcp://127.0.0.1:{port}")
    costs["engine slow"] = call_cost(slow, calls=1000)
    stalled.close(0)
    with capsys.disabled():
        print("\nstudy call p50, 100 time-and-sales entries per call:",
              {k: f"{v / 1000:.1f} us" for k, v in costs.items()})
    # Shared CI machines are noisy: "the same" within a factor that a wait on the network
    # (milliseconds) could never meet.
    for scenario in ("engine absent", "engine slow"):
        assert costs[scenario] < 3 * costs["engine up"] + 20_000, costs


def test_order_events_lost_with_a_crashed_engine_are_resent_and_booked_once(make_harness, peer):
    harness = make_harness()
    connect(harness, peer, cancel_on_disconnect=False)
    submit(peer, 1, 41, quantity=3)
    pump_until(harness, answered(peer, 1))
    order_id = order_id_of(harness, 41)
    peer.pause()  # the engine stops reading: what the shim sends now sits in its socket
    harness(f"fill {order_id} 1 4000.25")
    harness(f"fill {order_id} 2 4000.5")
    harness("call")
    harness("sleep 50")
    resends_before = sum("resent" in line for line in harness.log())
    peer.restart(down_for=0.1)  # ...and dies with it: those frames never reach the engine
    pump_until(harness, lambda: len(peer.events(RecordType.FILL)) == 2)
    harness("pump 200")
    fills = peer.events(RecordType.FILL)
    assert sorted(bytes(r["execution_id"]) for _, r in fills) == [b"EX1", b"EX2"]
    assert sum("resent" in line for line in harness.log()) > resends_before
    assert peer.events(RecordType.POSITION)[-1][1]["quantity"] == 3
    assert len(fills) == 2, "booked once, however often resent"


def test_a_late_frame_of_a_replaced_engine_session_is_never_executed(make_harness, peer):
    # After an engine restart a frame of the dead engine can still be read from its old
    # connection: run after the new engine compared this account's orders, its Submit would
    # be an order the new engine never learns of (a copier would send it again).
    harness = make_harness()
    connect(harness, peer, cancel_on_disconnect=False)
    submit(peer, 1, 0xA1)
    pump_until(harness, answered(peer, 1))
    dead = peer.session_id
    peer.restart(down_for=0.05)
    pump_until(harness, peer.greeted)  # the shim said Hello again, to the new session
    hellos = peer.link().hellos
    late = [make_record(RecordType.SUBMIT, request_id=2, client_order_id=0xA2, price=4000.25,
                        quantity=1, side=int(Side.BUY), order_type=int(OrderType.LIMIT),
                        time_in_force=int(TimeInForce.DAY)),
            make_record(RecordType.CANCEL, request_id=3, client_order_id=0xA1)]
    peer.send_raw(encode_frame(late, session_id=dead, sequence=10**6, send_time_ns=1))
    submit(peer, 4, 0xA4)  # the new engine's, on the same connection after the late frame
    pump_until(harness, answered(peer, 4))
    assert answers(peer, 4)[0][0] == RecordType.COMMAND_ACK
    assert not answers(peer, 2) and not answers(peer, 3)
    assert [c.split(" tag=")[1].split()[0] for c in harness.calls()
            if c.startswith("BuyOrder")] == [tag(0xA1), tag(0xA4)]
    assert not any(c.startswith("CancelOrder") for c in harness.calls())
    ignored = [line for line in harness.log() if "ignored" in line and "engine session" in line]
    assert len(ignored) == 1, ignored
    assert (f"frame 1000000 of engine session {dead:016x}, replaced by "
            f"{peer.session_id:016x}: ignored") in ignored[0]
    assert peer.link().hellos == hellos  # the dead session was not taken for a new one


def test_kill_over_the_engine_link_checks_the_secret(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    peer.command(RecordType.KILL, request_id=61, flatten=0, secret=b"nope")
    pump_until(harness, answered(peer, 61))
    assert answers(peer, 61)[0][1]["reason"] == RejectReason.BAD_SECRET
    assert "CancelAllOrders" not in harness.calls()
    peer.command(RecordType.KILL, request_id=62, flatten=0, secret=b"s3cret")
    pump_until(harness, answered(peer, 62))
    assert answers(peer, 62)[0][0] == RecordType.COMMAND_ACK
    assert harness.calls()[-1] == "CancelAllOrders"


def test_malformed_engine_frames_are_refused_whole_and_logged(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    good = encode_frame([make_record(RecordType.CANCEL_ALL, request_id=71)],
                        session_id=peer.session_id, sequence=10**6, send_time_ns=1)
    peer.send_raw(good[:-4])  # cut short: the record runs past the frame end
    peer.send_raw(b"garbage")
    peer.send(make_record(RecordType.TRADE, price=1.0, size=1))  # not a command for a shim

    def refused() -> list[str]:  # the socket thread's log reaches sc's log at the next call
        return [line for line in harness.log() if "engine frame refused" in line]

    pump_until(harness, lambda: len(peer.events(RecordType.COMMAND_REJECT)) >= 1
               and len(refused()) >= 2)
    refused = refused()
    assert len(refused) == 2 and "byte" in refused[0]
    (_, reject), = peer.events(RecordType.COMMAND_REJECT)
    assert reject["reason"] == RejectReason.MALFORMED
    assert reject["command_type"] == RecordType.TRADE
    assert "CancelAllOrders" not in harness.calls()


# ---- issue 13: trading exactly what the engine sent; paper or live -------------------------


def placed_orders(harness: Harness) -> dict[int, tuple[str, str]]:
    """client order id -> (quantity, status) of every order on the harness's book."""
    out = {}
    for line in harness("orders"):
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        if fields["tag"].startswith("TB"):
            out[int(fields["tag"][2:], 16)] = (fields["qty"], fields["status"])
    return out


def test_an_order_against_a_position_is_never_reversed_capped_or_canceling(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 0xE1, side=Side.BUY, quantity=2)
    pump_until(harness, answered(peer, 1))
    harness(f"fill {order_id_of(harness, 0xE1)} 2 4000.25")  # long 2
    submit(peer, 2, 0xE2, side=Side.BUY, price=3990.0, quantity=3)  # a working buy
    pump_until(harness, answered(peer, 2))
    # Against the long position and the working buy: a sell of its own quantity.
    submit(peer, 3, 0xE3, side=Side.SELL, price=4010.0, quantity=1)
    submit(peer, 4, 0xE4, side=Side.SELL, order_type=OrderType.MARKET, quantity=5)
    submit(peer, 5, 0xE5, side=Side.BUY, price=3980.0, quantity=4)  # same direction again
    pump_until(harness, lambda: all(answers(peer, r) for r in (3, 4, 5)))
    assert all(answers(peer, r)[0][0] == RecordType.COMMAND_ACK for r in (3, 4, 5))
    assert not [c for c in harness.calls() if c.startswith(("AutoTrade", "Cancel"))]
    orders = placed_orders(harness)
    working = "5"  # SCT_OSC_OPEN in scconstants.h
    assert orders[0xE2] == ("3", working) and orders[0xE3] == ("1", working)
    assert orders[0xE4] == ("5", working) and orders[0xE5] == ("4", working)
    (value,) = harness("get SupportReversals")
    assert value == "VALUE 0"


def test_paper_trading_is_simulated_and_says_so(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    (hello,) = [r for _, r in peer.events(RecordType.HELLO)][:1]
    assert hello["simulated"] == 1
    assert harness("get SendOrdersToTradeService") == ["VALUE 0"]
    submit(peer, 1, 0xF1)
    pump_until(harness, answered(peer, 1))
    assert answers(peer, 1)[0][0] == RecordType.COMMAND_ACK
    assert any(line.endswith("simulated=1") for line in harness("orders"))


def test_live_trading_sends_orders_to_the_trade_service(make_harness, peer):
    harness = make_harness()
    harness("set GlobalTradeSimulationIsOn 0")
    harness.configure(peer.endpoint)
    harness("input 14 yesno 1")
    pump_until(harness, lambda: len(peer.events(RecordType.INSTRUMENT_DEFINITION)) >= 1)
    (hello,) = [r for _, r in peer.events(RecordType.HELLO)][:1]
    assert hello["simulated"] == 0, "a live study must say it is live"
    assert harness("get SendOrdersToTradeService") == ["VALUE 1"]
    submit(peer, 1, 0xF2)
    pump_until(harness, answered(peer, 1))
    assert answers(peer, 1)[0][0] == RecordType.COMMAND_ACK
    assert any(line.endswith("simulated=0") for line in harness("orders"))


@pytest.mark.parametrize("live, simulation, auto, why", [
    (1, 1, 1, "Trade Simulation Mode"),
    (0, 0, 1, "Trade Simulation Mode is off"),
    (0, 1, 0, "auto trading is off"),
])
def test_trading_is_refused_when_the_mode_disagrees_or_auto_trading_is_off(
        make_harness, peer, live, simulation, auto, why):
    harness = make_harness()
    harness(f"set GlobalTradeSimulationIsOn {simulation}")
    harness(f"set IsAutoTradingEnabled {auto}")
    harness.configure(peer.endpoint)
    harness(f"input 14 yesno {live}")
    pump_until(harness, lambda: len(peer.events(RecordType.INSTRUMENT_DEFINITION)) >= 1)
    submit(peer, 1, 0xF3)
    submit(peer, 2, 0xF4)
    pump_until(harness, lambda: answers(peer, 1) and answers(peer, 2))
    for request in (1, 2):
        kind, record = answers(peer, request)[0]
        assert kind == RecordType.COMMAND_REJECT
        assert record["reason"] == RejectReason.PLATFORM_REJECTED
        assert why in bytes(record["text"]).decode()
    assert not [c for c in harness.calls() if c.startswith(("BuyOrder", "SellOrder"))]
    refusals = [line for line in harness.log() if "order refused" in line]
    assert len(refusals) == 1 and why in refusals[0], "logged once, saying why"


# ---- issue 13: nothing lost ----------------------------------------------------------------


def fill_ids(peer: EnginePeer) -> list[bytes]:
    return [bytes(r["execution_id"]) for _, r in peer.events(RecordType.FILL)]


def test_fills_are_tracked_by_identity_when_sierra_chart_rewrites_its_list(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 0x51, quantity=5)
    pump_until(harness, answered(peer, 1))
    order = order_id_of(harness, 0x51)
    harness(f"fill {order} 1 4000.25")
    harness(f"fill {order} 1 4000.5")
    pump_until(harness, lambda: len(fill_ids(peer)) >= 2)
    harness(f"fill {order} 1 4000.75")
    harness("fillsrewrite")  # the new fill is now first in the list
    harness("pump 100")
    assert sorted(fill_ids(peer)) == [b"EX1", b"EX2", b"EX3"]


def test_execution_ids_without_the_service_ones_are_stable_and_distinct(make_harness, peer):
    harness = make_harness()
    harness("set ExecutionIds 0")  # simulated fills carry no service execution id
    harness("set FillsSameTime 1")
    connect(harness, peer)
    submit(peer, 1, 0x52, quantity=3)
    pump_until(harness, answered(peer, 1))
    order = order_id_of(harness, 0x52)
    harness(f"fill {order} 1 4000.25")
    harness(f"fill {order} 1 4000.25")  # same order, quantity, price and microsecond
    pump_until(harness, lambda: len(fill_ids(peer)) >= 2)
    first = fill_ids(peer)
    assert len(set(first)) == 2, first

    def snapshot_ids(request_id: int) -> list[bytes]:
        before = len(peer.events(RecordType.FILL))
        peer.command(RecordType.SNAPSHOT_REQUEST, request_id=request_id, what=4,
                     fills_since_ns=0)
        pump_until(harness, lambda: len(peer.events(RecordType.FILL)) >= before + 2)
        return fill_ids(peer)[before:]

    assert snapshot_ids(2) == first
    harness("set ChartUtcOffsetHours -5")  # the trader moves the chart to New York time
    assert snapshot_ids(3) == first, "the chart's time zone is not part of a fill's identity"
    times = {int(r["time_ns"]) for _, r in peer.events(RecordType.FILL)}
    assert times == {(46000 - 25569) * 86400 * 10**9 + 43200 * 10**9}


def test_depth_prices_use_the_real_time_price_multiplier(make_harness, peer):
    harness = make_harness()
    harness("set RealTimePriceMultiplier 0.01")
    harness.configure(peer.endpoint)
    harness("input 7 yesno 1")
    harness("depth bid 0 400000 10")
    pump_until(harness, lambda: peer.events(RecordType.DEPTH))
    (_, depth), = peer.events(RecordType.DEPTH)
    assert float(depth["price"]) == pytest.approx(4000.0)


def test_tick_size_reaches_the_engine_as_the_exchanges_decimal(make_harness, peer):
    harness = make_harness()
    harness("set TickSize 0.00001")
    harness("set CurrencyValuePerTick 1.0")
    connect(harness, peer)
    definition = peer.events(RecordType.INSTRUMENT_DEFINITION)[-1][1]
    assert definition["tick_size"] == 0.00001  # not 9.99999974737875e-06
    assert definition["point_value"] == pytest.approx(100000.0, rel=1e-12)


def test_a_new_symbol_or_account_sends_a_new_hello_and_definition(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    harness("set Symbol NQZ6")
    # The first Hello may be repeated once when the engine's first frame arrives: wait for
    # the new definition itself, not for a count.
    pump_until(harness, lambda: any(bytes(r["symbol"]) == b"NQZ6"
                                    for _, r in peer.events(RecordType.INSTRUMENT_DEFINITION)))
    harness("set SelectedTradeAccount Sim2")
    # A resend of the earlier Hello (engine silence under load) may come in between: wait
    # for the new one, not for a count.
    pump_until(harness, lambda: any(bytes(r["account"]) == b"Sim2"
                                    for _, r in peer.events(RecordType.HELLO)))


# ---- issue 13: what a Sierra Chart user sees -----------------------------------------------


def status(harness: Harness) -> str:
    (line,) = harness("status")
    return line.split(maxsplit=2)[2] if len(line.split()) > 2 else ""


def test_the_chart_shows_a_status_line(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    pump_until(harness, lambda: "engine UP" in status(harness))
    assert "paper" in status(harness) and "| trading" in status(harness)
    harness("set IsAutoTradingEnabled 0")
    harness("call")
    assert "NOT TRADING: auto trading is off" in status(harness)
    submit(peer, 1, 0x61)
    pump_until(harness, answered(peer, 1))
    harness("call")
    assert "last error: auto trading is off" in status(harness)
    peer.pause()
    pump_until(harness, lambda: "engine DOWN" in status(harness))


def test_the_status_line_shows_the_engines_trading_state(make_harness, peer):
    """TradingState (engine -> shim) is shown, never answered or acted on."""
    harness = make_harness()
    connect(harness, peer)
    assert "engine state unknown" in status(harness)
    for state, reason, shown in ((2, b"daily loss limit", "engine: HALTED (daily loss limit)"),
                                 (1, b"position limit", "engine: REDUCING-ONLY (position limit)"),
                                 (0, b"", "engine: ACTIVE")):
        peer.send(make_record(RecordType.TRADING_STATE, time_ns=time.time_ns(), state=state,
                              reason=reason))
        pump_until(harness, lambda shown=shown: shown in status(harness))
    assert not peer.events(RecordType.COMMAND_REJECT), "a TradingState is not a command"
    assert not [c for c in harness.calls() if "AllOrders" in c or c.startswith("Cancel")]


def platform_statuses(peer: EnginePeer) -> list[tuple[int, int, bytes]]:
    return [(int(r["orders"]), int(r["prices"]), bytes(r["text"]).rstrip(b"\0"))
            for _, r in peer.events(RecordType.PLATFORM_STATUS)]


def test_platform_status_follows_sierra_charts_connection(make_harness, peer):
    """PLATFORM_STATUS from sc.ServerConnectionState: after the hello, on every change, and
    again with the hello a restarted engine is sent."""
    connected, connecting, lost = 1, 2, 3
    harness = make_harness()
    connect(harness, peer)
    pump_until(harness, lambda: platform_statuses(peer))
    assert platform_statuses(peer)[-1][:2] == (connected, connected)
    harness("set ServerConnectionState 3")  # SCS_CONNECTION_LOST
    pump_until(harness, lambda: platform_statuses(peer)[-1][1] == lost)
    # Paper orders go to Sierra Chart's Trade Simulation System: no connection needed.
    assert platform_statuses(peer)[-1][0] == connected
    harness("set GlobalTradeSimulationIsOn 0")
    harness("input 14 yesno 1")  # live: orders go over that connection
    pump_until(harness, lambda: platform_statuses(peer)[-1][:2] == (lost, lost))
    harness("set ServerConnectionState 5")  # SCS_RECONNECTING
    pump_until(harness, lambda: platform_statuses(peer)[-1][:2] == (connecting, connecting))
    assert b"RECONNECTING" in platform_statuses(peer)[-1][2]
    count = len(platform_statuses(peer))
    peer.restart(down_for=0.2)
    pump_until(harness, lambda: len(platform_statuses(peer)) > count, timeout=10)
    assert platform_statuses(peer)[-1][:2] == (connecting, connecting)


def test_every_input_has_a_description(make_harness):
    harness = make_harness()
    harness("defaults")
    described = {int(line.split()[1]) for line in harness("descriptions")}
    assert described == set(range(16))


def test_a_link_input_change_resends_what_the_engine_had_not_acknowledged(make_harness, peer):
    harness = make_harness()
    connect(harness, peer, cancel_on_disconnect=False)
    submit(peer, 1, 0x71, quantity=3)
    pump_until(harness, answered(peer, 1))
    order_id = order_id_of(harness, 0x71)
    peer.pause()  # the engine stops reading and acknowledging
    harness(f"fill {order_id} 1 4000.25")
    harness(f"fill {order_id} 2 4000.5")
    harness("call")
    harness("sleep 50")
    harness("input 4 int 150")  # the trader changes a link input: the link restarts
    harness("call")
    peer.restart(down_for=0.1)  # what the old link had sent dies with the engine
    pump_until(harness, lambda: len(peer.events(RecordType.FILL)) >= 2)
    harness("pump 100")
    assert sorted(bytes(r["execution_id"]) for _, r in peer.events(RecordType.FILL)) == \
        [b"EX1", b"EX2"]
    assert any("unacknowledged order events sent again" in line for line in harness.log())


def test_every_refusal_is_in_sierra_charts_log_once_per_run(make_harness, peer):
    harness = make_harness()
    connect(harness, peer)
    for request in (1, 2, 3):  # the same refusal three times in a row
        peer.command(RecordType.CANCEL, request_id=request, client_order_id=0xBAD)
    pump_until(harness, lambda: all(answers(peer, r) for r in (1, 2, 3)))
    submit(peer, 4, 0x81, quantity=0)
    pump_until(harness, answered(peer, 4))
    harness("call")
    refused = [line for line in harness.log() if "refused (reason" in line]
    assert len(refused) == 2, refused
    assert "request 1:" in refused[0] and "(reason 1): no order with this client order id" \
        in refused[0]
    assert "request 4:" in refused[1] and "(reason 6)" in refused[1]


# ---- the platform's own flatten orders ----------------------------------------------------

PLATFORM_MADE = 1 << 63


def _orders_by_platform_id(peer: EnginePeer, kind: RecordType) -> dict[str, set[int]]:
    ids: dict[str, set[int]] = {}
    for _, r in peer.events(kind):
        platform_id = bytes(r["platform_order_id"]).rstrip(b"\0").decode()
        ids.setdefault(platform_id, set()).add(int(r["client_order_id"]))
    return ids


def test_a_flattens_closing_order_has_a_platform_made_id_and_a_hand_order_0(make_harness,
                                                                               peer):
    """Sierra Chart closes the position with a market order of its own (no engine tag):
    reported with a platform-made id (top bit), order and fill alike, so the engine books
    it as the flatten's; orders placed by hand, before or just after, stay 0 (external)."""
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 0xB1, order_type=OrderType.MARKET, price=0.0, quantity=2)
    pump_until(harness, answered(peer, 1))
    harness(f"fill {order_id_of(harness, 0xB1)} 2 4000.25")
    (placed,) = harness("place sell 1 4100 manual")  # by hand, before the flatten
    before = int(placed.split()[1])
    pump_until(harness, lambda: any(int(r["quantity"]) == 2
                                    for _, r in peer.events(RecordType.POSITION)))

    peer.command(RecordType.FLATTEN, request_id=10)
    pump_until(harness, answered(peer, 10))
    (after,) = harness("place sell 1 0 manual2 market")  # by hand, inside the 5 s
    after_id = int(after.split()[1])
    harness(f"fill {after_id} 1 3999.75")
    pump_until(harness, lambda: len(peer.events(RecordType.FILL)) >= 3)

    closing = [int(line.split("id=")[1].split()[0]) for line in harness("orders")
               if " tag= " in line and f"id={before} " not in line
               and f"id={after_id} " not in line]
    assert len(closing) == 1, harness("orders")
    updates = _orders_by_platform_id(peer, RecordType.ORDER_UPDATE)
    fills = _orders_by_platform_id(peer, RecordType.FILL)
    (made,) = updates[str(closing[0])]
    assert made & PLATFORM_MADE and not made & (1 << 62), hex(made)
    assert fills[str(closing[0])] == {made}
    assert updates[str(before)] == {0} and updates[str(after_id)] == {0}
    assert fills[str(after_id)] == {0}
    assert updates[str(order_id_of(harness, 0xB1))] == {0xB1}

    # A kill with flatten: its closing order gets a new platform-made id.
    submit(peer, 2, 0xB2, order_type=OrderType.MARKET, price=0.0, quantity=2)
    pump_until(harness, answered(peer, 2))
    harness(f"fill {order_id_of(harness, 0xB2)} 2 4000.5")  # -1 (by hand) + 2
    peer.command(RecordType.KILL, request_id=11, flatten=1, secret=b"s3cret")
    pump_until(harness, answered(peer, 11))
    pump_until(harness, lambda: len(peer.events(RecordType.FILL)) >= 5)
    made_ids = {c for _, r in peer.events(RecordType.FILL)
                if (c := int(r["client_order_id"])) & PLATFORM_MADE}
    assert len(made_ids) == 2 and made in made_ids
    (line,) = harness("position")
    assert float(line.split()[1]) == 0


def test_a_flatten_takes_only_an_order_that_closes_the_position(make_harness, peer):
    """Sierra Chart placing its closing order after the call: orders placed by hand
    meanwhile that would grow the position, close more than it, or are not market orders
    are not the flatten's; the first that closes it is; none after the position is closed."""
    harness = make_harness()
    connect(harness, peer)
    submit(peer, 1, 0xC1, side=Side.SELL, order_type=OrderType.MARKET, price=0.0, quantity=1)
    pump_until(harness, answered(peer, 1))
    harness(f"fill {order_id_of(harness, 0xC1)} 1 4000.25")  # short 1
    harness("set FlattenOrders 0")
    peer.command(RecordType.FLATTEN, request_id=10)
    pump_until(harness, answered(peer, 10))
    placed = [int(harness(f"place {order}")[0].split()[1]) for order in (
        "sell 1 0 - market",   # grows the short
        "buy 2 0 - market",    # more than the position
        "buy 1 4000 -",        # a limit order
        "buy 1 0 - market",    # closes it: the flatten's
        "buy 1 0 - market")]   # the position already closed
    pump_until(harness, lambda: len(_orders_by_platform_id(peer, RecordType.ORDER_UPDATE)) >= 6)
    updates = _orders_by_platform_id(peer, RecordType.ORDER_UPDATE)
    ids = [updates[str(p)] for p in placed]
    assert ids[:3] == [{0}] * 3 and ids[4] == {0}, ids
    (made,) = ids[3]
    assert made & PLATFORM_MADE, ids
