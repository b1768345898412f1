"""A minimal engine peer for the NinjaTrader shim tests (pyzmq ROUTER + the Python codec).

Its role is deliberately narrow, so that the tests can later be pointed at the real engine:
it binds a ROUTER, answers a shim's Hello with a Heartbeat, sends a Heartbeat every
interval whose ``ack_sequence`` is the highest sequence of a shim frame holding order
events (OrderUpdate, Fill, Position, Account, CommandAck/Reject, SnapshotBoundary,
PlatformStatus: what an
engine books; a real engine acks once they are durable), sends the commands a test gives
it, and collects every record the shim sends. ``booked`` lets a new peer start from what a
previous one booked (an engine restarted from its state store).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from tests.waiting import WaitTimeout, wait_until
from tickbridge.protocol import (
    FrameHeader,
    ProtocolError,
    RecordType,
    decode_frame,
    encode_frame,
    make_record,
)

BOOKED = frozenset({
    RecordType.ORDER_UPDATE, RecordType.FILL, RecordType.POSITION, RecordType.ACCOUNT,
    RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT, RecordType.SNAPSHOT_BOUNDARY,
    RecordType.PLATFORM_STATUS,
})


def _camel(kind: RecordType) -> str:
    return "".join(part.capitalize() for part in kind.name.split("_"))


def record_dict(kind: RecordType, record) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _camel(kind)}
    for name in record.dtype.names:
        if name in ("type", "length") or name.startswith("reserved"):
            continue
        value = record[name].item()
        out[name] = value.decode() if isinstance(value, bytes) else value
    return out


@dataclass
class Received:
    header: FrameHeader
    records: list[dict[str, Any]] = field(default_factory=list)


class EnginePeer:
    """Binds ``endpoint`` (default: a free local TCP port) and runs on its own thread."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:*", *, heartbeat_ms: int = 100,
                 session_id: int = 0xE1E1_0000_0000_0001, acknowledge: bool = True,
                 booked: int = 0) -> None:
        self.heartbeat_ms = heartbeat_ms
        self.session_id = session_id
        self.acknowledge = acknowledge
        self.silent = False          # True: send nothing (a hung engine)
        self.stalled = False         # True: read nothing either (a stuck engine process)
        self.frames: list[Received] = []
        self.errors: list[str] = []
        self._sequence = 0
        self._shim: bytes | None = None
        self.booked = booked
        self._outbox: queue.Queue[bytes] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ctx = zmq.Context.instance()
        self._socket = self._ctx.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        def bound() -> bool:  # a port just released by a closed peer frees up asynchronously
            try:
                self._socket.bind(endpoint)
            except zmq.ZMQError:
                return False
            return True

        wait_until(bound, 10, f"a bind to {endpoint}", poll=0.05)
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._thread = threading.Thread(target=self._run, name="engine-peer", daemon=True)
        self._thread.start()

    # ---- what a test uses

    def send(self, kind: RecordType, **fields: Any) -> int:
        """Sends one command record in its own frame; returns the frame's sequence."""
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        frame = encode_frame([make_record(kind, **fields)], session_id=self.session_id,
                             sequence=sequence, send_time_ns=time.time_ns())
        self._outbox.put(frame)
        return sequence

    def send_raw(self, data: bytes) -> None:
        self._outbox.put(data)

    def records(self, type_name: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            every = [(f.header.sequence, r) for f in self.frames for r in f.records]
        return [dict(r, _sequence=s) for s, r in every if type_name in (None, r["type"])]

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0,
                 what: str = "record") -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((r for r in self.records() if predicate(r)), None)

        try:
            return wait_until(found, timeout, what)
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}; got {[r['type'] for r in self.records()]}") from None

    def wait_type(self, type_name: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        return self.wait_for(
            lambda r: r["type"] == type_name and all(r.get(k) == v for k, v in fields.items()),
            timeout, f"{type_name} {fields}",
        )

    def close(self) -> None:
        """Stops the thread, which closes the socket itself (a socket is one thread's)."""
        self._stop.set()
        self._thread.join(30)

    # ---- the peer's thread

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._socket.close(0)

    def _loop(self) -> None:
        last_beat = 0.0
        while not self._stop.is_set():
            if self.stalled:
                time.sleep(0.01)
                continue
            if self._socket.poll(10):
                for _ in range(1000):   # bounded: a flooding shim must not starve stop/heartbeats
                    if self._stop.is_set():
                        break
                    try:
                        identity, data = self._socket.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    except ValueError:
                        continue
                    self._receive(identity, data)
            while not self._outbox.empty():
                frame = self._outbox.get()
                if self._shim is not None and not self.silent:
                    self._socket.send_multipart([self._shim, frame])
            now = time.monotonic()
            beat_due = now - last_beat >= self.heartbeat_ms / 1000
            if self._shim is not None and not self.silent and beat_due:
                self._heartbeat()
                last_beat = now

    def _receive(self, identity: bytes, data: bytes) -> None:
        try:
            frame = decode_frame(data)
        except ProtocolError as e:
            self.errors.append(str(e))
            return
        received = Received(frame.header, [record_dict(kind, rec) for kind, rec in frame])
        with self._lock:
            self.frames.append(received)
            if any(kind in BOOKED for kind, _ in frame):
                self.booked = max(self.booked, frame.header.sequence)
        self._shim = identity
        if self.silent:
            return
        if any(r["type"] == "Hello" for r in received.records):
            self._heartbeat()

    def _heartbeat(self) -> None:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
            ack = self.booked if self.acknowledge else 0
        record = make_record(RecordType.HEARTBEAT, ack_sequence=ack, time_ns=time.time_ns())
        frame = encode_frame([record], session_id=self.session_id, sequence=sequence,
                             send_time_ns=time.time_ns())
        self._socket.send_multipart([self._shim, frame])


def main(argv: list[str] | None = None) -> None:
    """Stand-in engine for checking a NinjaTrader installation by hand:
    ``.venv/bin/python -m tests.ninjascript.peer tcp://0.0.0.0:5555`` prints every record
    the strategy sends except market data, which it counts."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    peer = EnginePeer(args[0] if args else "tcp://127.0.0.1:5555", heartbeat_ms=1000)
    print(f"engine peer bound at {peer.endpoint}; Ctrl-C to stop", flush=True)
    seen, market_data, last_count = 0, 0, time.monotonic()
    try:
        while True:
            records = peer.records()
            for record in records[seen:]:
                if record["type"] in ("Trade", "Quote", "Depth"):
                    market_data += 1
                else:
                    print(record, flush=True)
            seen = len(records)
            if time.monotonic() - last_count > 5:
                print(f"{market_data} market data records so far", flush=True)
                last_count = time.monotonic()
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        peer.close()


if __name__ == "__main__":
    main()
