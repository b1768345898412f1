"""The simulated link between the engine and a platform shim: frames in flight with a
due step, and the transport faults applied to them. ``EngineEnd`` is the engine's
injected transport (the methods of engine/shim_socket.py's ShimSocket)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import zmq

ENGINE, SHIM = "engine", "shim"


@dataclass
class Packet:
    to: str  # ENGINE or SHIM
    identity: bytes
    frame: bytes
    due: int  # the step it arrives at


class Network:
    def __init__(self, counts: dict[str, int]) -> None:
        self.step = 0
        self.flight: list[Packet] = []
        self.to_engine: deque[tuple[bytes, bytes]] = deque()
        self.to_shim: deque[bytes] = deque()
        self.counts = counts  # the campaign's fault counters
        self.drop_next = self.dup_next = 0
        self.delay_next: list[int] = []
        self.cut_until = -1
        self.dead: set[bytes] = set()  # crashed shims' identities: a send fails
        # The model check's per-frame script: frame number -> pass, drop, dup or delay.
        self.script: dict[int, str] = {}
        self.sent = 0  # frames offered to the link so far, both ways
        self.sent_log: list[tuple[int, str, bytes]] = []  # (number, to, frame) if logging
        self.log_frames = False

    @property
    def cut(self) -> bool:
        return self.step < self.cut_until

    def send(self, to: str, identity: bytes, frame: bytes) -> None:
        number, self.sent = self.sent, self.sent + 1
        if self.log_frames:
            self.sent_log.append((number, to, frame))
        action = self.script.get(number, "pass")
        if action == "drop":
            self.drop_next += 1
        elif action == "dup":
            self.dup_next += 1
        elif action == "delay":
            self.delay_next.insert(0, 2)
        if self.cut:
            self.counts["frames lost to a cut"] += 1
            return
        if self.drop_next:
            self.drop_next -= 1
            self.counts["frames dropped"] += 1
            return
        due = self.step + (self.delay_next.pop(0) if self.delay_next else 0)
        self.flight.append(Packet(to, identity, frame, due))
        if self.dup_next:
            self.dup_next -= 1
            self.counts["frames duplicated"] += 1
            self.flight.append(Packet(to, identity, frame, due + 1))

    def reorder(self) -> None:
        if len(self.flight) > 1:
            self.counts["frames reordered"] += len(self.flight)
            self.flight.reverse()
            for p in self.flight:
                p.due = self.step

    def cut_for(self, steps: int) -> None:
        self.cut_until = self.step + steps
        self.counts["frames lost to a cut"] += len(self.flight)
        self.flight.clear()

    def deliver(self) -> None:
        """Frames due by now, in flight order, to their side's inbox."""
        keep = []
        for p in self.flight:
            if p.due > self.step:
                keep.append(p)
            elif p.to == ENGINE:
                self.to_engine.append((p.identity, p.frame))
            elif p.identity not in self.dead:  # a crashed shim's frames go nowhere
                self.to_shim.append(p.frame)
        self.flight = keep

    def idle(self) -> bool:
        return not (self.flight or self.to_engine or self.to_shim)


class EngineEnd:
    """One engine's transport on the network (a crashed engine's end is closed: what it
    would still send is gone)."""

    endpoint = "sim://engine"
    curve = False

    def __init__(self, network: Network) -> None:
        self.network = network
        self.closed = False

    def make_pump(self, core: Any, session_id: int) -> None:
        return None

    def key(self, frame: Any) -> str:
        return ""

    def readable(self) -> bool:
        return bool(self.network.to_engine)

    def wait_ms(self, timeout_ms: int, last_frame: float) -> int:
        return 0

    def receive(self, timeout_ms: int) -> tuple[bytes, bytes, str] | None:
        if self.closed or not self.network.to_engine:
            return None
        identity, frame = self.network.to_engine.popleft()
        return identity, frame, ""

    def send(self, identity: bytes, frame: bytes) -> None:
        if identity in self.network.dead:  # as ROUTER_MANDATORY says of a gone peer
            raise zmq.ZMQError(zmq.EHOSTUNREACH)
        if not self.closed:
            self.network.send(SHIM, identity, bytes(frame))

    send_queued = send

    def close(self) -> None:
        self.closed = True
