"""A stand-in for the engine in simulator tests: a ROUTER on a random loopback port that
records every record the simulator sends and sends commands back with sequence numbers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np
import zmq

from tests.waiting import WaitTimeout, wait_until
from tickbridge.protocol import RecordType, decode_frame, encode_frame, make_record


class EngineDouble:
    def __init__(self, context: zmq.Context | None = None, heartbeat_s: float | None = 0.05,
                 endpoint: str | None = None) -> None:
        """``heartbeat_s``: while pumping, send a Heartbeat when nothing was sent for that
        long, as a live engine does (None: stay silent)."""
        self.heartbeat_s = heartbeat_s
        self.last_send = time.monotonic()
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        if endpoint is None:
            port = self.socket.bind_to_random_port("tcp://127.0.0.1")
            endpoint = f"tcp://127.0.0.1:{port}"
        else:
            self.socket.bind(endpoint)
        self.endpoint = endpoint
        self.session_id = random.getrandbits(64)
        self.sequence = 0
        self.peer: bytes | None = None
        self.records: list[tuple[RecordType, np.void]] = []
        self.frames: list = []
        self.frame_records: list = []  # (header, [(type, record)]) per frame

    def close(self) -> None:
        self.socket.close(linger=0)

    def pump(self, seconds: float = 0.05) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.heartbeat_s is not None and self.peer is not None and \
                    time.monotonic() - self.last_send > self.heartbeat_s:
                self.heartbeat()
            left = min(deadline - time.monotonic(), self.heartbeat_s or 1.0)
            if left <= 0 or not self.socket.poll(int(left * 1000) + 1):
                if time.monotonic() >= deadline:
                    return
                continue
            peer, payload = self.socket.recv_multipart()
            self.peer = peer
            frame = decode_frame(payload)
            self.frames.append(frame.header)
            records = [(t, r.copy()) for t, r in frame]
            self.frame_records.append((frame.header, records))
            self.records.extend(records)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        try:
            wait_until(predicate, timeout, "the simulator's records",
                       step=lambda: self.pump(0.02))
        except WaitTimeout as e:
            kinds = sorted({t.name for t, _ in self.records})
            raise WaitTimeout(f"{e}; {len(self.records)} records seen: {kinds}") from None

    def of(self, kind: RecordType) -> list[np.void]:
        return [r for t, r in self.records if t == kind]

    def send(self, *records: np.ndarray) -> None:
        assert self.peer is not None, "the simulator has not said hello yet"
        self.sequence += 1
        frame = encode_frame(records, session_id=self.session_id, sequence=self.sequence,
                             send_time_ns=time.time_ns())
        self.socket.send_multipart([self.peer, frame])
        self.last_send = time.monotonic()

    def send_raw(self, payload: bytes) -> None:
        assert self.peer is not None
        self.socket.send_multipart([self.peer, payload])

    def heartbeat(self, ack_sequence: int = 0) -> None:
        self.send(make_record(RecordType.HEARTBEAT, time_ns=time.time_ns(),
                              ack_sequence=ack_sequence))

    def answers(self, request_id: int) -> list[tuple[RecordType, np.void]]:
        return [(t, r) for t, r in self.records
                if t in (RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT)
                and int(r["request_id"]) == request_id]
