"""The simulator over real ZeroMQ sockets on loopback: a test plays the engine."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from tickbridge.protocol import (
    OrderStatus,
    OrderType,
    RecordType,
    RejectReason,
    Side,
    SnapshotPart,
    make_record,
)
from tickbridge.sim.feed import tape_from_arrays
from tickbridge.sim.generator import ES, TickArrays
from tickbridge.sim.process import SimConfig, Simulator, run_in_thread

from .engine_double import EngineDouble

S = 1_000_000_000


def scripted_tape(rows: list[tuple[float, float, int, int]]):
    """ES rows of (seconds, price, size, aggressor) under a 6000.00/6000.25 quote."""
    n = len(rows)
    return tape_from_arrays([(ES, TickArrays(
        time_ns=np.array([int(r[0] * S) for r in rows], np.int64),
        price=np.array([r[1] for r in rows]), size=np.array([r[2] for r in rows], np.uint32),
        aggressor=np.array([r[3] for r in rows], np.uint8),
        bid=np.full(n, 6000.00), ask=np.full(n, 6000.25),
        bid_size=np.full(n, 5, np.uint32), ask_size=np.full(n, 5, np.uint32),
    ))])


@pytest.fixture
def engine() -> Iterator[EngineDouble]:
    e = EngineDouble()
    yield e
    e.close()


def start(engine: EngineDouble, tape, **config) -> tuple[Simulator, object]:
    defaults = dict(engine=engine.endpoint, kill_endpoint=None, status_interval=0,
                    latency_ms=1.0, heartbeat_ms=100)
    sim = Simulator(tape, SimConfig(**{**defaults, **config}))
    return sim, run_in_thread(sim)


def stop(sim: Simulator, thread) -> None:
    sim.stop()
    thread.join(5)
    assert not thread.is_alive()


def submit(**fields) -> np.ndarray:
    base = dict(instrument_id=1, side=1, order_type=2, time_in_force=1)
    return make_record(RecordType.SUBMIT, **{**base, **fields})


def updates(engine: EngineDouble, coid: int) -> list[np.void]:
    return [r for r in engine.of(RecordType.ORDER_UPDATE) if int(r["client_order_id"]) == coid]


def test_hello_definitions_ticks_and_the_order_lifecycle(engine):
    tape = scripted_tape([(0, 6000.25, 1, 1), (0.3, 6000.00, 8, 2), (30, 6010.0, 1, 1)])
    sim, thread = start(engine, tape)
    try:
        engine.wait_for(lambda: engine.of(RecordType.INSTRUMENT_DEFINITION))
        kinds = [t for t, _ in engine.records]
        assert kinds[:2] == [RecordType.HELLO, RecordType.INSTRUMENT_DEFINITION]
        hello = engine.of(RecordType.HELLO)[0]
        assert (int(hello["platform"]), int(hello["simulated"])) == (3, 1)
        assert bytes(hello["account"]) == b"Sim101"
        assert bytes(hello["platform_version"]) == b"tickbridge-sim 0.1"
        definition = engine.of(RecordType.INSTRUMENT_DEFINITION)[0]
        assert (int(definition["instrument_id"]), float(definition["tick_size"]),
                float(definition["point_value"]), bytes(definition["symbol"]),
                bytes(definition["exchange"])) == (1, 0.25, 50.0, b"ESZ6", b"CME")

        # The first engine frame starts the tape; the order joins behind 5 at the bid.
        engine.send(submit(request_id=1, client_order_id=101, price=6000.00, quantity=10))
        engine.wait_for(lambda: any(int(r["filled_quantity"]) == 3 for r in updates(engine, 101)))
        assert engine.of(RecordType.TRADE) and engine.of(RecordType.QUOTE)
        fill = engine.of(RecordType.FILL)[0]
        assert (float(fill["price"]), int(fill["quantity"]), int(fill["side"])) == (6000.0, 3, 1)
        assert int(engine.of(RecordType.POSITION)[-1]["quantity"]) == 3
        statuses = [int(r["status"]) for r in updates(engine, 101)]
        assert statuses[:2] == [OrderStatus.ACKNOWLEDGED, OrderStatus.WORKING]
        assert statuses[-1] == OrderStatus.PARTIALLY_FILLED

        engine.send(make_record(RecordType.REPLACE, instrument_id=1, request_id=2,
                                client_order_id=101, price=6000.00, quantity=6))
        engine.wait_for(lambda: engine.answers(2))
        engine.pump(0.05)
        last = updates(engine, 101)[-1]
        assert engine.answers(2)[0][0] == RecordType.COMMAND_ACK
        assert (int(last["quantity"]), int(last["filled_quantity"])) == (6, 3)
        assert OrderStatus.PENDING_REPLACE in [int(r["status"]) for r in updates(engine, 101)]

        engine.send(make_record(RecordType.REPLACE, instrument_id=1, request_id=3,
                                client_order_id=101, price=6000.00, quantity=2))
        engine.send(make_record(RecordType.CANCEL, instrument_id=1, request_id=4,
                                client_order_id=101))
        engine.send(make_record(RecordType.CANCEL, instrument_id=1, request_id=5,
                                client_order_id=999))
        engine.wait_for(lambda: engine.answers(3) and engine.answers(4) and engine.answers(5))
        (kind, reject), = engine.answers(3)
        assert kind == RecordType.COMMAND_REJECT
        assert int(reject["reason"]) == RejectReason.INVALID_QUANTITY
        assert int(reject["command_type"]) == RecordType.REPLACE
        assert engine.answers(4)[0][0] == RecordType.COMMAND_ACK
        assert int(engine.answers(5)[0][1]["reason"]) == RejectReason.UNKNOWN_ORDER
        engine.wait_for(lambda: int(updates(engine, 101)[-1]["status"]) == OrderStatus.CANCELED)

        engine.send(make_record(RecordType.CANCEL, instrument_id=1, request_id=6,
                                client_order_id=101),
                    submit(request_id=7, client_order_id=101, price=6000.00, quantity=10),
                    make_record(RecordType.SNAPSHOT_REQUEST, request_id=8,
                                what=int(SnapshotPart.ALL), fills_since_ns=0))
        engine.wait_for(lambda: any(int(r["phase"]) == 2
                                    for r in engine.of(RecordType.SNAPSHOT_BOUNDARY)))
        assert int(engine.answers(6)[0][1]["reason"]) == RejectReason.TOO_LATE_TO_CANCEL
        assert engine.answers(7)[0][0] == RecordType.COMMAND_ACK  # retried submit: no-op
        assert len(sim.platform.matching.orders) == 1
        kinds = [t for t, _ in engine.records]
        begin = kinds.index(RecordType.SNAPSHOT_BOUNDARY)
        end = len(kinds) - 1 - kinds[::-1].index(RecordType.SNAPSHOT_BOUNDARY)
        body = [k for k in kinds[begin + 1:end]]
        assert int(engine.records[end][1]["record_count"]) == len(body)
        assert body.count(RecordType.FILL) == 1 and body.count(RecordType.ACCOUNT) == 1
        for request_id in range(1, 9):
            assert len(engine.answers(request_id)) == 1, request_id

        # Idle: heartbeats acknowledge the engine's last frame; our sequence has no gaps.
        engine.wait_for(lambda: any(int(r["ack_sequence"]) == engine.sequence
                                    for r in engine.of(RecordType.HEARTBEAT)))
        sequences = [h.sequence for h in engine.frames]
        assert sequences == list(range(1, len(sequences) + 1))
        assert len({h.session_id for h in engine.frames}) == 1
    finally:
        stop(sim, thread)


def test_cancel_on_disconnect_after_engine_silence(engine):
    engine.heartbeat_s = None
    sim, thread = start(engine, scripted_tape([(0, 6000.25, 1, 1)]), heartbeat_ms=50,
                        silence_intervals=3)
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        # The trader's own order: the engine's silence must not cancel it.
        sim.by_hand("submit", symbol=ES.symbol, side=Side.BUY, quantity=1,
                    order_type=OrderType.LIMIT, price=5980.00)
        engine.send(submit(request_id=1, client_order_id=7, price=5990.00, quantity=1))
        silent_since = time.monotonic()  # the engine's last frame
        engine.wait_for(lambda: OrderStatus.WORKING in [int(r["status"])
                                                        for r in updates(engine, 7)])
        engine.wait_for(lambda: OrderStatus.CANCELED in [int(r["status"])
                                                         for r in updates(engine, 7)])
        assert time.monotonic() - silent_since >= 0.14  # 3 intervals of 50 ms
        assert int(updates(engine, 7)[-2]["status"]) == OrderStatus.PENDING_CANCEL
        assert sim.platform.engine_working_count() == 0
        assert sim.platform.working_count() == 1  # the hand order works on
        engine.heartbeat()  # back: the sim keeps serving
        engine.send(make_record(RecordType.CANCEL, request_id=2, client_order_id=7))
        engine.wait_for(lambda: engine.answers(2))
        assert int(engine.answers(2)[0][1]["reason"]) == RejectReason.TOO_LATE_TO_CANCEL
    finally:
        stop(sim, thread)


def test_no_cancel_on_disconnect_when_disabled(engine):
    engine.heartbeat_s = None
    sim, thread = start(engine, scripted_tape([(0, 6000.25, 1, 1)]), heartbeat_ms=50,
                        cancel_on_disconnect=False)
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        engine.send(submit(request_id=1, client_order_id=7, price=5990.00, quantity=1))
        engine.wait_for(lambda: engine.answers(1))
        engine.pump(0.5)
        assert sim.platform.working_count() == 1
    finally:
        stop(sim, thread)


def test_engine_started_after_the_simulator():
    probe = EngineDouble()
    endpoint = probe.endpoint
    probe.close()
    sim = Simulator(scripted_tape([(0, 6000.25, 1, 1)]),
                    SimConfig(engine=endpoint, kill_endpoint=None, status_interval=0))
    thread = run_in_thread(sim)
    try:
        time.sleep(0.3)  # the simulator runs with nobody listening
        late = EngineDouble(endpoint=endpoint)
        try:
            late.wait_for(lambda: late.of(RecordType.INSTRUMENT_DEFINITION))
            late.send(submit(request_id=1, client_order_id=1, price=5990.0, quantity=1))
            late.wait_for(lambda: late.answers(1))
        finally:
            late.close()
    finally:
        stop(sim, thread)


def test_a_restarted_engine_gets_hello_again(engine):
    sim, thread = start(engine, scripted_tape([(0, 6000.25, 1, 1)]))
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        engine.heartbeat()
        engine.pump(0.2)
        engine.session_id += 1  # what a restarted engine looks like from the shim side
        engine.sequence = 0
        engine.heartbeat()
        engine.wait_for(lambda: len(engine.of(RecordType.HELLO)) == 2)
        engine.wait_for(lambda: len(engine.of(RecordType.INSTRUMENT_DEFINITION)) == 2)
    finally:
        stop(sim, thread)


def test_speed_scales_replay_and_frames_are_batched(engine):
    rows = [(i * 0.0001, 6000.25, 1, 1) for i in range(5000)] + [(1.0, 6000.25, 1, 1)]
    sim, thread = start(engine, scripted_tape(rows), speed=10, max_batch=1000)
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        engine.heartbeat()
        began = time.monotonic()
        engine.wait_for(lambda: len(engine.of(RecordType.TRADE)) == len(rows))
        assert time.monotonic() - began >= 0.08  # 1 s of tape at 10x
        assert max(h.record_count for h in engine.frames) <= 1000
        assert max(h.record_count for h in engine.frames) > 100  # batched, not one per tick
    finally:
        stop(sim, thread)


def test_engine_restart_on_the_same_endpoint_gets_hello_on_reconnect(engine):
    sim, thread = start(engine, scripted_tape([(0, 6000.25, 1, 1)]), heartbeat_ms=50,
                        silence_intervals=100)
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        endpoint = engine.endpoint
        engine.close()
        time.sleep(0.3)
        restarted = EngineDouble(endpoint=endpoint, heartbeat_s=None)
        try:
            restarted.wait_for(lambda: restarted.of(RecordType.INSTRUMENT_DEFINITION),
                               timeout=10)
            assert restarted.of(RecordType.HELLO)
        finally:
            restarted.close()
    finally:
        stop(sim, thread)


def test_kill_endpoint_cancels_and_flattens_and_the_engine_sees_it(engine):
    from .test_sim_cli import free_endpoint, kill_request

    kill = free_endpoint()
    sim, thread = start(engine, scripted_tape([(0, 6000.25, 1, 1)]), kill_endpoint=kill,
                        kill_secret="s3cret")
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        engine.send(submit(request_id=1, client_order_id=1, order_type=1, quantity=2),
                    submit(request_id=2, client_order_id=2, price=5990.00, quantity=1))
        engine.wait_for(lambda: engine.of(RecordType.FILL) and engine.answers(2))
        kind, record = kill_request(kill, 50, "s3cret", flatten=1)
        assert kind == RecordType.COMMAND_ACK and int(record["request_id"]) == 50
        engine.wait_for(lambda: len(engine.of(RecordType.FILL)) == 2)
        engine.wait_for(lambda: int(engine.of(RecordType.POSITION)[-1]["quantity"]) == 0)
        assert int(updates(engine, 2)[-1]["status"]) == OrderStatus.CANCELED
        assert engine.answers(50) == []  # the kill's answer went to the kill requester
    finally:
        stop(sim, thread)


def _sequences_with(engine: EngineDouble, *kinds: RecordType) -> list[int]:
    return [h.sequence for h, records in engine.frame_records
            if any(t in kinds for t, _ in records)]


def test_unacknowledged_events_are_resent_after_a_re_hello(engine):
    """Delivery that loses nothing: the frames with order events the engine has not
    acknowledged go again, with their original sequence numbers, after the re-hello;
    acknowledged ones never do."""
    # The account state goes once, at the first hello (no timer within the test).
    sim, thread = start(engine, scripted_tape([(0, 6000.25, 1, 1), (5, 6000.25, 1, 1)]),
                        heartbeat_ms=50, silence_intervals=100, account_interval=3600)
    try:
        engine.wait_for(lambda: engine.of(RecordType.HELLO))
        engine.heartbeat()
        engine.send(submit(request_id=1, client_order_id=7, quantity=1, order_type=1))
        engine.wait_for(lambda: engine.of(RecordType.FILL))
        engine.pump(0.2)
        first_hello = _sequences_with(engine, RecordType.HELLO)[0]
        kept = (RecordType.ORDER_UPDATE, RecordType.FILL, RecordType.POSITION,
                RecordType.ACCOUNT, RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT)
        assert min(_sequences_with(engine, *kept)) > first_hello
        engine.heartbeat(ack_sequence=first_hello)  # only the hello frame is acknowledged
        engine.session_id += 1  # a restarted engine: it says hello again, then resends
        engine.sequence = 0
        engine.heartbeat(ack_sequence=first_hello)
        engine.wait_for(lambda: len(engine.of(RecordType.FILL)) == 2)
        engine.pump(0.2)
        second_hello = _sequences_with(engine, RecordType.HELLO)[1]
        # Every frame with an order event, position, account state or command answer sent
        # before the re-hello is kept until acknowledged, so each goes again exactly once.
        with_events = {s for s in _sequences_with(engine, *kept)
                       if first_hello < s < second_hello}
        assert with_events
        resent = [s for s in _sequences_with(engine, RecordType.FILL) if s < second_hello]
        assert len(resent) == 2 and resent[0] == resent[1]  # the same frame, same number
        fills = engine.of(RecordType.FILL)
        assert bytes(fills[0]["execution_id"]) == bytes(fills[1]["execution_id"])
        assert sim.stats["frames_resent"] == len(with_events)
        # Everything acknowledged: the next re-hello resends nothing.
        engine.heartbeat(ack_sequence=max(h.sequence for h in engine.frames))
        engine.pump(0.2)
        engine.session_id += 1
        engine.sequence = 0
        engine.heartbeat()
        engine.wait_for(lambda: len(engine.of(RecordType.HELLO)) == 3)
        engine.pump(0.3)
        assert len(engine.of(RecordType.FILL)) == 2
        assert sim.stats["frames_resent"] == len(with_events)
    finally:
        stop(sim, thread)
