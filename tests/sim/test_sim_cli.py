"""``python -m tickbridge sim`` as a separate process: the kill endpoint with no engine,
malformed engine frames, clean shutdown on SIGTERM, usage errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import zmq

from tests.waiting import wait_until
from tickbridge.protocol import RecordType, RejectReason, decode_frame, encode_frame, make_record

from .engine_double import EngineDouble

SECRET = "correct-horse-battery"


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def sim_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tickbridge", "sim", "--status-interval", "0.2", *args]


@pytest.fixture
def spawn() -> Iterator:
    children: list[subprocess.Popen] = []

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        child = subprocess.Popen(sim_command(*args), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, **(env or {})})
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)


def terminate(child: subprocess.Popen) -> tuple[int, str]:
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=10)
    return child.returncode, err


def kill_request(endpoint: str, request_id: int, secret: str, flatten: int = 1,
                 timeout: float = 10.0) -> tuple[RecordType, object]:
    context = zmq.Context.instance()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(endpoint)
    try:
        frame = encode_frame([make_record(RecordType.KILL, request_id=request_id,
                                          flatten=flatten, secret=secret)],
                             session_id=99, sequence=request_id, send_time_ns=time.time_ns())
        dealer.send(frame)
        if not dealer.poll(int(timeout * 1000)):
            raise AssertionError("no reply from the kill endpoint")
        (kind, record), = list(decode_frame(dealer.recv()))
        return kind, record
    finally:
        dealer.close(linger=0)


def test_kill_endpoint_works_with_no_engine(spawn):
    kill = free_endpoint()
    child = spawn("--engine", free_endpoint(), "--kill-endpoint", kill, "--ticks", "1000",
                  env={"TICKBRIDGE_KILL_SECRET": SECRET})
    kind, record = kill_request(kill, 1, "wrong")
    assert kind == RecordType.COMMAND_REJECT
    assert int(record["reason"]) == RejectReason.BAD_SECRET and int(record["request_id"]) == 1
    kind, record = kill_request(kill, 2, SECRET)
    assert kind == RecordType.COMMAND_ACK
    assert int(record["request_id"]) == 2 and int(record["command_type"]) == RecordType.KILL
    code, err = terminate(child)
    assert code == 0, err
    assert "kill request 2 (flatten=1): done" in err


def test_malformed_engine_frames_do_not_kill_the_sim(spawn):
    engine = EngineDouble()
    try:
        child = spawn("--engine", engine.endpoint, "--kill-endpoint", "none", "--ticks",
                      "2000", "--speed", "0")
        engine.wait_for(lambda: engine.of(RecordType.INSTRUMENT_DEFINITION), timeout=20)
        good = encode_frame([make_record(RecordType.HEARTBEAT)], session_id=1, sequence=1,
                            send_time_ns=0)
        engine.send_raw(b"not a tickbridge frame, but longer than its 40-byte header")
        engine.send_raw(good[:4] + b"\x07\x00" + good[6:])  # protocol version 7
        engine.send_raw(good + b"\x00")  # trailing byte
        engine.send(make_record(RecordType.SUBMIT, instrument_id=1, request_id=5,
                                client_order_id=5, quantity=1, side=1, order_type=1,
                                time_in_force=1))
        engine.wait_for(lambda: engine.answers(5), timeout=20)
        assert engine.answers(5)[0][0] == RecordType.COMMAND_ACK
        engine.wait_for(lambda: engine.of(RecordType.FILL), timeout=20)
        assert child.poll() is None
        code, err = terminate(child)
        assert code == 0, err
        assert "version 7 is not supported" in err
        assert "bad magic" in err and "after the last of 1 records" in err
        assert "frame ignored, sim keeps running" in err
        assert "errors 3" in err  # the status line counts them
    finally:
        engine.close()


def test_sigint_is_a_clean_exit(spawn):
    child = spawn("--engine", free_endpoint(), "--kill-endpoint", "none", "--ticks", "10")
    # The start-up line comes after the signal handlers are installed; on a loaded
    # machine start-up can take seconds, so wait for it rather than sleeping.
    first = child.stderr.readline()
    assert "session" in first, first
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=10)
    assert child.returncode == 0, err
    assert "SIGINT: shutting down" in err


def test_kill_endpoint_in_use_is_a_clear_failure(spawn):
    context = zmq.Context.instance()
    holder = context.socket(zmq.ROUTER)
    holder.setsockopt(zmq.LINGER, 0)
    port = holder.bind_to_random_port("tcp://127.0.0.1")
    try:
        child = spawn("--engine", free_endpoint(), "--kill-endpoint",
                      f"tcp://127.0.0.1:{port}", "--ticks", "10")
        _, err = child.communicate(timeout=20)
        assert child.returncode == 1
        assert "endpoint taken?" in err
    finally:
        holder.close(linger=0)


def test_exit_after_end(spawn):
    engine = EngineDouble()
    try:
        child = spawn("--engine", engine.endpoint, "--kill-endpoint", "none", "--ticks",
                      "500", "--speed", "0", "--exit-after-end", "0.2")
        wait_until(lambda: child.poll() is not None, 30, "the simulator to exit after the end",
                   step=lambda: engine.pump(0.05))
        assert child.returncode == 0
        assert len(engine.of(RecordType.TRADE)) == 500
    finally:
        engine.close()


def test_help_explains_every_option():
    out = subprocess.run(sim_command("--help"), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for option in ("--engine", "--kill-endpoint", "--kill-secret", "--speed", "--ticks",
                   "--quirks", "--latency-ms", "--silence-intervals", "--file"):
        assert option in out.stdout


@pytest.mark.parametrize("args", [
    ["--speed", "-1"], ["--quirks", "sometimes"], ["--symbols", "CL"], ["--bogus"],
    ["--session-hours", "9-5"], ["--file", "/nonexistent/ES.scid"], ["--account", "A" * 33],
    ["--kill-secret", "s" * 33], ["--symbols", "ES,es"],
])
def test_bad_usage_exits_2(args):
    out = subprocess.run(sim_command(*args), capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip()


def test_unreadable_history_file_is_bad_usage(tmp_path):
    path = tmp_path / "ESZ6.scid"
    path.write_bytes(b"this is not a Sierra Chart file")
    out = subprocess.run(sim_command("--file", str(path)), capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2, out.stderr
    assert str(path) in out.stderr
