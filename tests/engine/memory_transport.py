"""An in-memory transport for the engine: frames in and out as Python lists, the same
methods as engine/shim_socket.py's ShimSocket (and ZeroMQ's send errors), so the engine's
logic is tested without a socket or a thread."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
import zmq

from tickbridge.protocol import (
    Platform,
    RecordType,
    SnapshotPhase,
    decode_frame,
    encode_frame,
    make_record,
)


class MemoryTransport:
    endpoint = "memory://engine"
    curve = False

    def __init__(self) -> None:
        self.inbox: deque[tuple[bytes, bytes]] = deque()
        self.sent: list[tuple[bytes, bytes]] = []
        self.refuse: dict[bytes, type[zmq.ZMQError]] = {}  # identity -> error on send
        self.closed = False

    # -- the engine's side ----------------------------------------------------------
    def make_pump(self, core: Any, session_id: int) -> None:
        return None  # no compiled receive path without a socket

    def key(self, frame: Any) -> str:
        return ""

    def readable(self) -> bool:
        return bool(self.inbox)

    def wait_ms(self, timeout_ms: int, last_frame: float) -> int:
        return timeout_ms

    def receive(self, timeout_ms: int) -> tuple[bytes, bytes, str] | None:
        if not self.inbox:
            return None
        identity, frame = self.inbox.popleft()
        return identity, frame, ""

    def send(self, identity: bytes, frame: bytes) -> None:
        error = self.refuse.get(identity)
        if error is zmq.Again:
            raise zmq.Again()
        if error is not None:
            raise zmq.ZMQError(zmq.EHOSTUNREACH)
        self.sent.append((identity, frame))

    send_queued = send

    def close(self) -> None:
        self.closed = True

    # -- the test's side ------------------------------------------------------------
    def records_to(self, identity: bytes) -> list[tuple[RecordType, Any]]:
        """Every record sent to ``identity`` so far, heartbeats left out."""
        return [(rtype, record) for who, frame in self.sent if who == identity
                for rtype, record in decode_frame(frame) if rtype != RecordType.HEARTBEAT]


class MemoryShim:
    """A shim on a MemoryTransport: frames it 'sends' are the engine's next input."""

    def __init__(self, transport: MemoryTransport, identity: bytes = b"shim-1", *,
                 session_id: int = 42, account: str = "Sim101") -> None:
        self.transport, self.identity = transport, identity
        self.session_id, self.sequence, self.account = session_id, 0, account

    def send(self, records: list[np.ndarray]) -> None:
        self.sequence += 1
        self.transport.inbox.append((self.identity, encode_frame(
            records, session_id=self.session_id, sequence=self.sequence,
            send_time_ns=time.time_ns())))

    def hello(self, symbol: str = "ESZ6") -> None:
        self.send([make_record(RecordType.HELLO, platform=int(Platform.SIMULATOR), simulated=1,
                               heartbeat_interval_ms=200, account=self.account,
                               platform_version="memory 1"),
                   make_record(RecordType.INSTRUMENT_DEFINITION, instrument_id=1,
                               tick_size=0.25, point_value=50.0, symbol=symbol,
                               exchange="CME")])

    def answer_snapshot(self, request_id: int) -> None:
        self.send([make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                               phase=int(phase), record_count=0)
                   for phase in (SnapshotPhase.BEGIN, SnapshotPhase.END)])

    def received(self, rtype: RecordType) -> list[Any]:
        return [r for t, r in self.transport.records_to(self.identity) if t == rtype]
