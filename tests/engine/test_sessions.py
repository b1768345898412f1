"""Sessions over real ZeroMQ sockets: hello, heartbeats and acks, sequence gaps,
resends, rogue peers, bind safety."""

from __future__ import annotations

import pytest

from tests.fake_shim import ScriptedShim, of, pump, pump_until
from tests.waiting import wait_until
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.transport import BindRefused, is_loopback
from tickbridge.protocol import RecordType, SnapshotPart, encode_frame, make_record


def _hello(engine, shim) -> None:
    """The shim's hello, until the engine has taken it (it asks for a snapshot)."""
    shim.hello()
    pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=10)


def test_hello_defines_instruments_and_asks_for_a_snapshot(engine, shim, strategy, audit_log):
    shim.hello(("ESZ6", "NQZ6"))
    got = pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST))
    (request,) = of(got, RecordType.SNAPSHOT_REQUEST)
    assert request["what"] == int(SnapshotPart.ALL)
    assert strategy.of("instrument") == ["ESZ6", "NQZ6"]
    session = next(iter(engine.sessions.values()))
    assert (session.account, session.simulated, session.last_sequence) == ("Sim101", True, 1)
    assert shim.last_ack == 1  # the engine's heartbeat acknowledges our frame
    assert ("hello", {"shim": session.name, "platform": "SIMULATOR", "account": "Sim101",
                      "simulated": True, "version": "scripted 1"}) in audit_log


def test_heartbeats_flow_when_idle(engine, shim):
    _hello(engine, shim)
    before = shim.engine_session
    beats = []

    def beat() -> None:
        engine.poll(timeout_ms=20)
        if shim.socket.poll(10):
            shim.socket.recv()
            beats.append(1)

    wait_until(lambda: len(beats) >= 5, 10, "five frames from an idle engine", step=beat)
    assert before == engine.session_id


def test_ticks_update_market_state_and_close_bars(engine, shim, strategy):
    shim.hello()
    shim.trades([6000.0 + 0.25 * (i % 8) for i in range(181)])  # 3 minutes of 1 s trades
    pump(engine, shim, until=lambda _: len(strategy.of("bar")) >= 3)
    bars = strategy.of("bar")
    # T0 is 40 s into a minute: the first bar has 20 trades, the last 41 are still open.
    assert [b.trade_count for b in bars] == [20, 60, 60]
    assert [b.time_ns % 60_000_000_000 for b in bars] == [0, 0, 0]
    assert all(b.symbol == "ESZ6" for b in bars)
    assert bars[1].open == 6000.0 + 0.25 * (20 % 8)
    state = strategy.ctx.market("ESZ6")
    assert state["trades"] == 181
    assert state["last_price"] == 6000.0 + 0.25 * (180 % 8)
    assert engine.ticks == 181


def test_sequence_gap_is_logged_audited_and_resynced(engine, shim, audit_log):
    _hello(engine, shim)
    shim.sequence += 5  # frames 2..6 lost
    shim.trades([6000.0])
    # The gap's request may come only once the hello's has timed out (the engine sends one
    # per 0.5 s): a generous deadline, not the 2 s that a loaded machine overran.
    got = pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=15)
    assert of(got, RecordType.SNAPSHOT_REQUEST)
    assert ("sequence_gap", {"shim": next(iter(engine.sessions.values())).name,
                             "expected": 2, "got": 7}) in audit_log


def test_a_resent_frame_is_acknowledged_not_applied_twice(engine, shim):
    _hello(engine, shim)
    seq = shim.send([make_record(RecordType.TRADE, instrument_id=1, time_ns=1, price=6000.0,
                                 size=1, aggressor=1)])
    pump_until(engine, shim, lambda: engine.ticks == 1, "the trade booked")
    shim.send([make_record(RecordType.TRADE, instrument_id=1, time_ns=1, price=6000.0, size=1,
                           aggressor=1)], sequence=seq)  # the resend
    session = next(iter(engine.sessions.values()))
    pump_until(engine, shim, lambda: session.duplicates == 1 and shim.last_ack == seq,
               "the resend counted and acknowledged")
    assert engine.ticks == 1
    assert session.duplicates == 1
    assert shim.last_ack == seq


@pytest.mark.parametrize("bad", [
    b"not a frame at all, just some bytes that are long enough to have a header",
    "version",
    "truncated",
])
def test_rogue_peer_is_dropped_and_others_keep_being_served(engine, shim, bad, audit_log):
    _hello(engine, shim)
    rogue = ScriptedShim(engine.endpoint, session_id=666)
    try:
        rogue.hello()
        pump_until(engine, rogue, lambda: len(engine.sessions) == 2, "the rogue's session")
        good = encode_frame([make_record(RecordType.HEARTBEAT)], session_id=666, sequence=2,
                            send_time_ns=0)
        if bad == "version":
            data = good[:4] + (9).to_bytes(2, "little") + good[6:]
        elif bad == "truncated":
            data = good[:-3]
        else:
            data = bad
        rogue.send_raw(data)
        pump_until(engine, rogue, lambda: len(engine.sessions) == 1, "the rogue dropped")
        assert len(engine.sessions) == 1  # the rogue is gone
        errors = [p for k, p in audit_log if k == "protocol_error"]
        assert len(errors) == 1 and errors[0]["reason"].startswith("byte ")
        if bad == "version":
            assert "protocol version 9 is not supported" in errors[0]["reason"]
        shim.trades([6001.0])
        pump_until(engine, shim, lambda: engine.ticks == 1, "the good shim's trade")
    finally:
        rogue.close()


def test_silent_shim_is_lost_then_back(engine, shim, audit_log):
    _hello(engine, shim)
    wait_until(lambda: any(k == "shim_lost" for k, _ in audit_log), 10, "shim_lost audited",
               step=lambda: (engine.poll(timeout_ms=20), shim.collect(0.0)))
    shim.trades([6000.0])
    pump_until(engine, shim, lambda: any(k == "shim_back" for k, _ in audit_log),
               "shim_back audited")


def test_loopback_detection():
    assert is_loopback("tcp://127.0.0.1:5555")
    assert is_loopback("tcp://[::1]:5555")
    assert is_loopback("ipc:///tmp/tb")
    assert not is_loopback("tcp://0.0.0.0:5555")
    assert not is_loopback("tcp://*:5555")
    assert not is_loopback("tcp://10.1.2.3:5555")


def test_non_loopback_bind_needs_curve_or_the_insecure_flag(caplog):
    with pytest.raises(BindRefused, match="not a loopback address"):
        Engine(EngineSettings(endpoint="tcp://0.0.0.0:*"))
    engine = Engine(EngineSettings(endpoint="tcp://0.0.0.0:*", insecure_bind=True))
    try:
        assert "INSECURE" in caplog.text
    finally:
        engine.close()


def test_curve_keys_protect_a_non_loopback_bind(tmp_path):
    import zmq.auth

    public_file, secret_file = zmq.auth.create_certificates(str(tmp_path), "engine")
    authorized = tmp_path / "authorized"  # the client's key must be on the allow-list
    authorized.mkdir()
    zmq.auth.create_certificates(str(authorized), "client")
    (authorized / "client.key_secret").rename(tmp_path / "client.key_secret")
    engine = Engine(EngineSettings(endpoint="tcp://0.0.0.0:*",
                                   curve_secret_key_file=secret_file,
                                   curve_authorized_keys_dir=authorized))
    try:
        assert engine.transport.socket.curve_server
        server_public, _ = zmq.auth.load_certificate(public_file)
        client = zmq.Context.instance().socket(zmq.DEALER)
        client_public, client_secret = zmq.auth.load_certificate(tmp_path / "client.key_secret")
        client.curve_serverkey = server_public
        client.curve_publickey = client_public
        client.curve_secretkey = client_secret
        client.setsockopt(zmq.LINGER, 0)
        port = engine.endpoint.rsplit(":", 1)[1]
        client.connect(f"tcp://127.0.0.1:{port}")
        client.send(encode_frame([make_record(RecordType.HEARTBEAT)], session_id=1,
                                 sequence=1, send_time_ns=0))
        wait_until(lambda: engine.frames, 10, "the CURVE client's frame",
                   step=lambda: engine.poll(timeout_ms=20))
        assert engine.frames == 1  # an encrypted, authenticated peer gets through
        client.close(0)
    finally:
        engine.close()


def test_port_taken_is_a_clear_error():
    first = Engine(EngineSettings(endpoint="tcp://127.0.0.1:*"))
    try:
        with pytest.raises(BindRefused, match="cannot bind"):
            Engine(EngineSettings(endpoint=first.endpoint))
    finally:
        first.close()


def test_a_resent_frame_never_booked_is_applied_even_below_the_highest(engine, shim):
    """After a reconnect a shim says hello, then resends its unacknowledged frames with
    their original, lower sequence numbers: those must be booked, not taken for resends."""
    _hello(engine, shim)
    trade = make_record(RecordType.TRADE, instrument_id=1, time_ns=1, price=6000.0, size=1,
                        aggressor=1)
    shim.send([trade], sequence=5)  # 2..4 not here yet: a gap
    shim.send([trade], sequence=3)  # one of them, resent late: new, so applied
    shim.send([trade], sequence=3)  # and again: now a duplicate
    session = next(iter(engine.sessions.values()))
    pump_until(engine, shim, lambda: session.duplicates == 1 and shim.last_ack == 5,
               "the late frame booked and the duplicate counted")
    assert engine.ticks == 2
    assert session.duplicates == 1
    assert session.last_sequence == 5 and shim.last_ack == 5
