"""The compiled receive path (engine.FramePump) on real ZeroMQ sockets: what it ingests
itself, what it leaves to Python, and how it tells which is which."""

from __future__ import annotations

import time

import pytest
import zmq

from tests.fake_shim import T0, ScriptedShim, of, pump
from tickbridge._core.engine import FramePump, MarketCore
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.transport import bind_router, frame_pump
from tickbridge.protocol import (
    DecodeErrorCode,
    ProtocolError,
    RecordType,
    encode_frame,
    make_record,
)


@pytest.fixture
def wire():
    """(core, pump, shim DEALER, its session slot) over loopback TCP."""
    context = zmq.Context.instance()
    router = bind_router(context, "tcp://127.0.0.1:*")
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, b"shim-1")
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(router.getsockopt_string(zmq.LAST_ENDPOINT))
    core = MarketCore()
    slot = core.add_session()
    core.define_instrument(slot, 1, "ESZ6")
    frames = frame_pump(core, router, session_id=77)
    assert frames is not None, "the compiled receive path must be built and find libzmq"
    yield core, frames, dealer, slot
    del frames
    dealer.close(0)
    router.close(0)


def _trades(sequence: int, *prices: float, session: int = 5) -> bytes:
    records = [make_record(RecordType.TRADE, instrument_id=1, time_ns=T0 + sequence * 1000 + i,
                           price=p, size=1,
                           aggressor=1) for i, p in enumerate(prices)]
    return encode_frame(records, session_id=session, sequence=sequence, send_time_ns=0)


def _next(frames: FramePump, timeout_ms: int = 2000):
    """The next Pumped (identity, frame, ingested, error, sent, absorbed)."""
    got = frames.pump(timeout_ms)
    assert got is not None, "nothing received"
    return got


def test_nothing_arrived_returns_none_after_the_timeout(wire):
    _, frames, _, _ = wire
    start = time.monotonic()
    assert frames.pump(30) is None
    assert frames.pump(0) is None
    assert time.monotonic() - start >= 0.025


def test_an_unknown_peer_or_session_is_left_to_python(wire):
    core, frames, dealer, slot = wire
    dealer.send(_trades(1, 6000.0))
    got = _next(frames)
    assert got.identity == b"shim-1" and not got.handled  # not registered: Python reads it
    assert bytes(got.frame) == _trades(1, 6000.0)
    frames.add_peer(b"shim-1", slot)
    dealer.send(_trades(2, 6000.0))
    assert not _next(frames).handled  # registered, but its session not known yet
    assert core.state(0)["trades"] == 0  # nothing ingested by the pump


def test_the_next_frame_of_the_known_session_is_ingested_and_no_other(wire):
    core, frames, dealer, slot = wire
    frames.add_peer(b"shim-1", slot)
    frames.set_peer(slot, 5, 1)
    dealer.send(_trades(2, 6000.0, 6000.25))
    got = _next(frames)
    assert got.error is None and got.sent is None
    result = got.ingested
    assert (result.session_id, result.sequence, result.trades) == (5, 2, 2)
    assert core.state(0)["last_price"] == 6000.25
    # A gap, a resend and another peer session all need the engine's bookkeeping first.
    for frame_bytes in (_trades(4, 1.0), _trades(2, 1.0), _trades(3, 1.0, session=6)):
        dealer.send(frame_bytes)
        assert not _next(frames).handled
    assert core.state(0)["trades"] == 2
    dealer.send(_trades(3, 6000.5))  # the next one again
    assert _next(frames).ingested.sequence == 3
    frames.remove_peer(b"shim-1")
    dealer.send(_trades(4, 6000.5))
    assert not _next(frames).handled


def test_a_malformed_next_frame_comes_back_as_the_protocol_error(wire):
    core, frames, dealer, slot = wire
    frames.add_peer(b"shim-1", slot)
    frames.set_peer(slot, 5, 1)
    bad = bytearray(_trades(2, 6000.0))
    bad[40:42] = (999).to_bytes(2, "little")  # the record's type
    dealer.send(bytes(bad))
    got = _next(frames)
    result, error, sent = got.ingested, got.error, got.sent
    assert result is None and sent is None and got.handled
    assert isinstance(error, ProtocolError) and error.code == DecodeErrorCode.UNKNOWN_RECORD_TYPE
    assert error.offset == 40
    assert core.state(0)["trades"] == 0  # nothing applied from a malformed frame


def test_a_multipart_message_comes_back_empty(wire):
    _, frames, dealer, slot = wire
    frames.add_peer(b"shim-1", slot)
    dealer.send_multipart([_trades(1, 1.0), b"more", b"parts"])
    got = _next(frames)  # refused as truncated by the engine
    assert (got.identity, got.frame, got.handled, got.absorbed) == (b"shim-1", b"", False, None)
    dealer.send(_trades(1, 1.0))
    assert bytes(_next(frames).frame) == _trades(1, 1.0)  # the next message reads whole


def test_market_only_frames_queued_in_a_row_are_taken_without_returning(wire):
    core, frames, dealer, slot = wire
    frames.add_peer(b"shim-1", slot)
    frames.set_peer(slot, 5, 1)
    frames.set_absorb(3)
    for sequence in range(2, 8):  # six frames of two ticks, all queued before the pump runs
        dealer.send(_trades(sequence, 6000.0, 6000.25))
    time.sleep(0.3)  # all six in the socket's queue
    got = _next(frames)
    # Three taken (sequences 2-4), the fourth returned as usual with what was taken.
    a = got.absorbed
    assert (a.slot, a.frames, a.ticks, a.last_sequence) == (slot, 3, 6, 4)
    assert (got.ingested.session_id, got.ingested.sequence) == (5, 5)
    got = _next(frames)  # 6 taken; 7, with nothing queued after it, returned
    a = got.absorbed
    assert (a.slot, a.frames, a.ticks, a.last_sequence) == (slot, 1, 2, 6)
    assert got.ingested.sequence == 7
    assert core.state(0)["trades"] == 12
    frames.set_absorb(0)
    dealer.send(_trades(8, 6000.5))
    dealer.send(_trades(9, 6000.5))
    assert _next(frames).absorbed is None and _next(frames).absorbed is None  # each returned


class _Trigger:
    name = "trigger"

    def __init__(self) -> None:
        self.fired: list = []

    def on_instrument(self, ctx, symbol: str) -> None:
        ctx.arm(symbol, 6001.0, above=True, side="BUY", quantity=1, price=6001.0)

    def on_armed(self, ctx, fired) -> None:
        self.fired.append(fired)


@pytest.mark.parametrize("direct", [True, False], ids=["sent-by-pump", "sent-by-python"])
def test_armed_submits_go_from_the_pump_unless_something_is_queued(direct, audit_log):
    """With frames queued for a shim, the pump must not overtake them: Python sends."""
    from tickbridge.engine import Strategy

    class Trigger(_Trigger, Strategy):
        pass

    strategy = Trigger()
    engine = Engine(EngineSettings(endpoint="tcp://127.0.0.1:*", heartbeat_ms=100),
                    [strategy], audit=lambda k, **p: audit_log.append((k, p)))
    engine.start()
    shim = ScriptedShim(engine.endpoint)
    try:
        assert engine.receive_path == "compiled"
        shim.hello()
        pump(engine, shim, timeout=0.3)
        session = next(iter(engine.sessions.values()))
        sent_directly = []
        original = engine.outbound.sent_directly
        engine.outbound.sent_directly = lambda sent: (sent_directly.append(sent),
                                                      original(sent))
        if not direct:
            engine.peers.pump.set_direct(session.slot, False)  # as the outbox does
        shim.trades([6000.0, 6001.0])
        (submit,) = of(pump(engine, shim, until=lambda r: of(r, RecordType.SUBMIT)),
                       RecordType.SUBMIT)
        (fired,) = strategy.fired
        assert fired.compiled and int(submit["client_order_id"]) == fired.client_order_id
        assert bool(sent_directly) == direct
        pump(engine, shim, timeout=0.2)
        seen = shim.engine_sequences
        assert seen == list(range(1, len(seen) + 1))
    finally:
        shim.close()
        engine.close()
