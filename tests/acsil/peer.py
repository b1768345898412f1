"""A minimal engine peer for the platform shim tests, over real ZeroMQ sockets.

Its role is kept narrow on purpose, so that the real engine can take its place:

- bind a ROUTER (the engine side of docs/protocol.md's transport);
- accept a shim's Hello: answer it with a Heartbeat;
- send a Heartbeat to every shim it knows every ``heartbeat_interval`` seconds, with
  ``ack_sequence`` = the highest shim frame sequence booked with no gap before it;
- send commands (``send``) to a shim;
- collect every record it receives, booking each shim frame once: a frame whose sequence
  was already booked for that shim session is a duplicate (counted, not booked again).

``restart()`` plays an engine restart: the socket is closed and bound again on the same
endpoint under a new engine session id; what was booked survives, as the engine's state
store would. ``pause()`` plays a hung engine: nothing is read or sent until ``resume()``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zmq

from tests.waiting import WaitTimeout, wait_until
from tickbridge.protocol import RecordType, decode_frame, encode_frame, make_record


@dataclass
class ShimLink:
    """What the peer knows about one shim session (its ZeroMQ identity changes when the
    shim reconnects to a restarted engine; its session id does not)."""

    session_id: int
    identity: bytes = b""
    booked: dict[int, list[tuple[RecordType, np.void]]] = field(default_factory=dict)
    duplicate_frames: int = 0
    hellos: int = 0
    greeted_session: int = 0  # the engine session id current when its last Hello arrived

    def contiguous_ack(self) -> int:
        sequence = 0
        while sequence + 1 in self.booked:
            sequence += 1
        return sequence


class EnginePeer:
    def __init__(self, heartbeat_interval: float = 0.05, ack: bool = True) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.ack = ack
        self.session_id = random.getrandbits(63) | 1
        self._sequence = 0
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self.endpoint = ""
        self.links: dict[int, ShimLink] = {}  # by shim session id
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._outgoing: list[tuple[bytes | None, list[np.ndarray]]] = []
        self.received_at: list[tuple[float, int]] = []  # (monotonic time, records) per frame
        self._thread: threading.Thread | None = None

    # ---- life cycle ---------------------------------------------------------------------
    def start(self, endpoint: str = "tcp://127.0.0.1:*") -> EnginePeer:
        self._bind(endpoint)
        self._thread = threading.Thread(target=self._run, name="engine-peer", daemon=True)
        self._thread.start()
        return self

    def _bind(self, endpoint: str) -> None:
        socket = self._context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.bind(endpoint)
        self.endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._socket = socket

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close(0)
        self._context.term()

    def restart(self, down_for: float = 0.2) -> None:
        """Close, stay down for ``down_for`` seconds, bind again with a new session id."""
        with self._lock:
            self._paused.set()
            time.sleep(0.02)
            assert self._socket is not None
            self._socket.close(0)
            self._socket = None
            time.sleep(down_for)
            self.session_id = random.getrandbits(63) | 1
            self._sequence = 0
            self._bind(self.endpoint)
            self._paused.clear()

    def pause(self) -> None:
        """Stop reading and sending; when this returns, nothing more is read."""
        with self._lock:  # the thread holds it while it polls and reads
            self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    # ---- commands -------------------------------------------------------------------------
    def send(self, *records: np.ndarray, identity: bytes | None = None) -> None:
        """Queue records as one frame to ``identity`` (default: every known shim)."""
        with self._lock:
            self._outgoing.append((identity, list(records)))

    def send_raw(self, frame: bytes) -> None:
        """Send bytes as they are (malformed frames, for the shim's error path)."""
        with self._lock:
            assert self._socket is not None
            for link in self.links.values():
                self._socket.send_multipart([link.identity, frame])

    def command(self, kind: RecordType, **fields: Any) -> np.ndarray:
        record = make_record(kind, **fields)
        self.send(record)
        return record

    # ---- what arrived ---------------------------------------------------------------------
    def greeted(self) -> bool:
        """Every known shim has said Hello to this engine session (after a restart, a
        command sent before that has no route and is dropped, as by the real engine)."""
        with self._lock:
            return bool(self.links) and all(
                link.greeted_session == self.session_id for link in self.links.values())

    def link(self) -> ShimLink:
        with self._lock:
            assert len(self.links) == 1, f"expected one shim, have {len(self.links)}"
            return next(iter(self.links.values()))

    def events(self, kind: RecordType | None = None) -> list[tuple[RecordType, np.void]]:
        """Booked records in the shim's order: by frame sequence, then position in frame."""
        with self._lock:
            out: list[tuple[RecordType, np.void]] = []
            for link in self.links.values():
                for sequence in sorted(link.booked):
                    out.extend(
                        (t, r) for t, r in link.booked[sequence] if kind is None or t == kind
                    )
            return out

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,
                 pump: Callable[[], None] | None = None) -> bool:
        """True once ``predicate`` holds (calling ``pump`` between tries), False at timeout:
        the callers assert on it with their own message."""
        try:
            return bool(wait_until(predicate, timeout, "the engine peer's condition",
                                   poll=0.005, step=pump))
        except WaitTimeout:
            return False

    # ---- the thread ------------------------------------------------------------------------
    def _frame(self, records: list[np.ndarray]) -> bytes:
        self._sequence += 1
        return encode_frame(records, session_id=self.session_id, sequence=self._sequence,
                            send_time_ns=time.time_ns())

    def _heartbeat(self, link: ShimLink) -> np.ndarray:
        ack = link.contiguous_ack() if self.ack else 0
        return make_record(RecordType.HEARTBEAT, ack_sequence=ack, time_ns=time.time_ns())

    def _run(self) -> None:
        next_beat = time.monotonic()
        while not self._stop.is_set():
            if self._paused.is_set():
                time.sleep(0.005)
                continue
            with self._lock:
                socket = self._socket
                if socket is None or self._paused.is_set():  # paused while waiting for the lock
                    continue
                if socket.poll(5, zmq.POLLIN):
                    while True:
                        try:
                            identity, frame = socket.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._on_frame(socket, identity, frame)
                for identity, records in self._outgoing:
                    targets = ([identity] if identity
                               else [link.identity for link in self.links.values()])
                    for target in targets:
                        socket.send_multipart([target, self._frame(records)])
                self._outgoing.clear()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.heartbeat_interval
                    for link in self.links.values():
                        socket.send_multipart(
                            [link.identity, self._frame([self._heartbeat(link)])])

    def _on_frame(self, socket: zmq.Socket, identity: bytes, data: bytes) -> None:
        frame = decode_frame(data)
        header = frame.header
        link = self.links.setdefault(header.session_id, ShimLink(header.session_id))
        link.identity = identity
        self.received_at.append((time.monotonic(), header.record_count))
        if header.sequence in link.booked:
            link.duplicate_frames += 1
            return
        records = [(RecordType(t), r.copy()) for t, r in frame]
        link.booked[header.sequence] = records
        if any(t == RecordType.HELLO for t, _ in records):
            link.hellos += 1
            link.greeted_session = self.session_id
            socket.send_multipart([identity, self._frame([self._heartbeat(link)])])
