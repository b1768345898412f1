"""The tests' one fake shim: a real DEALER socket speaking the wire protocol, driven step
by step so each test controls exactly what the engine sees.

Options cover what the tests need of a peer: a CURVE client (``curve``: the server's public
key and this client's key pair), a claimed routing id (``routing_id``, as any client may set
ZMQ_ROUTING_ID), the account its hello names, sends that cannot block (``nonblocking``).
``pump`` runs an engine in the test's thread and collects what the shim receives;
``pump_until`` does so until a condition on the engine holds (a wait that fails naming it).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
import zmq

from tests.waiting import wait_until
from tickbridge.protocol import (
    Platform,
    RecordType,
    SnapshotPhase,
    decode_frame,
    encode_frame,
    make_record,
    new_records,
)

T0 = 1_795_000_000_000_000_000


class ScriptedShim:
    def __init__(self, endpoint: str, *, session_id: int = 42, account: str = "Sim101",
                 simulated: bool = True,
                 curve: tuple[bytes, tuple[bytes, bytes]] | None = None,
                 routing_id: bytes | None = None) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        if routing_id is not None:
            self.socket.setsockopt(zmq.ROUTING_ID, routing_id)
        if curve is not None:  # keys before connect: the handshake starts on connect
            self.socket.curve_serverkey = curve[0]
            self.socket.curve_publickey, self.socket.curve_secretkey = curve[1]
        self.socket.connect(endpoint)
        self.session_id = session_id
        self.sequence = 0
        self.account = account
        self.simulated = simulated
        self.received: list[tuple[RecordType, Any]] = []
        self.engine_session: int | None = None
        self.engine_sequences: list[int] = []  # of every frame received from the engine
        self.last_ack = 0

    def close(self) -> None:
        self.socket.close(0)

    def send(self, records: list[np.ndarray], *, sequence: int | None = None,
             nonblocking: bool = False) -> int:
        """One frame of `records`; `nonblocking`: dropped when it cannot be queued (a client
        whose keys the engine refuses never connects, and a send would wait forever)."""
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        with contextlib.suppress(zmq.Again):
            self.socket.send(encode_frame(records, session_id=self.session_id,
                                          sequence=sequence, send_time_ns=time.time_ns()),
                             zmq.NOBLOCK if nonblocking else 0)
        return sequence

    def send_raw(self, data: bytes) -> None:
        self.socket.send(data)

    def hello_records(self, symbols: tuple[str, ...] = ("ESZ6",),
                      version: str = "scripted 1") -> list[np.ndarray]:
        """A hello for this shim's account and a definition of each of `symbols` (ids 1..)."""
        records = [make_record(RecordType.HELLO, platform=int(Platform.SIMULATOR),
                               simulated=int(self.simulated), heartbeat_interval_ms=200,
                               account=self.account, platform_version=version)]
        for i, symbol in enumerate(symbols, start=1):
            records.append(make_record(RecordType.INSTRUMENT_DEFINITION, instrument_id=i,
                                       tick_size=0.25, point_value=50.0, symbol=symbol,
                                       exchange="CME"))
        return records

    def hello(self, symbols: tuple[str, ...] = ("ESZ6",)) -> None:
        self.send(self.hello_records(symbols))

    def answer_snapshot(self, request_id: int, records: list[np.ndarray] = ()) -> None:
        """A snapshot of `records` (orders, fills, positions; none: a flat account)."""
        begin = make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                            phase=int(SnapshotPhase.BEGIN), record_count=len(records))
        end = make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                          phase=int(SnapshotPhase.END), record_count=len(records))
        self.send([begin, *records, end])

    def trades(self, prices: list[float], *, start_ns: int = T0, step_ns: int = 1_000_000_000,
               instrument_id: int = 1) -> None:
        trades = new_records(RecordType.TRADE, len(prices))
        trades["instrument_id"] = instrument_id
        trades["time_ns"] = start_ns + np.arange(len(prices)) * step_ns
        trades["price"] = prices
        trades["size"] = 1
        trades["aggressor"] = 1
        self.send([trades])

    def collect(self, timeout: float = 0.3) -> list[tuple[RecordType, Any]]:
        """Records received within `timeout` (heartbeats tracked, not returned)."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.socket.poll(int(remaining * 1000)):
                break
            frame = decode_frame(self.socket.recv())
            self.engine_session = frame.header.session_id
            self.engine_sequences.append(frame.header.sequence)
            for rtype, record in frame:
                if rtype == RecordType.HEARTBEAT:
                    self.last_ack = int(record["ack_sequence"])
                else:
                    out.append((rtype, record))
        self.received.extend(out)
        return out


def pump(engine: Any, shim: ScriptedShim, *, until: Any = None, timeout: float = 2.0) -> list:
    """Runs the engine loop in the test's thread and collects what the shim receives, until
    `until(records)` holds or `timeout` seconds have passed; returns the records. A bounded
    observation, not an assertion: tests use it both ways (wait for a Submit, or check that
    none comes), and assert on what it returns."""
    got: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.poll(timeout_ms=10)
        got.extend(shim.collect(timeout=0.01))
        if until is not None and until(got):
            break
    return got


def pump_until(engine: Any, shim: ScriptedShim, condition: Any, what: str,
               timeout: float = 10.0) -> list:
    """Runs the engine loop until `condition()` holds (the engine's state, say), failing
    after `timeout` with `what`; returns the records the shim received meanwhile."""
    got: list = []

    def turn() -> None:
        engine.poll(timeout_ms=10)
        got.extend(shim.collect(timeout=0.01))

    wait_until(condition, timeout, what, step=turn)
    return got


def confirm(engine: Any, shim: ScriptedShim, timeout: float = 2.0) -> None:
    """Answers the snapshot the engine asks for after the hello (a flat account): an
    engine with a risk gate refuses a shim's orders until its snapshot is in."""
    got = pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST),
               timeout=timeout)
    (request, *_) = of(got, RecordType.SNAPSHOT_REQUEST)
    shim.answer_snapshot(int(request["request_id"]))
    pump(engine, shim, until=lambda _: all(s.confirmed for s in engine.sessions.values()),
         timeout=timeout)


def of(records: list, rtype: RecordType) -> list:
    return [r for t, r in records if t == rtype]
