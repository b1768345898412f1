"""Frames to the shims: sequence, piggybacked acknowledgement, the bounded outbox.

Policy for a peer that cannot take what is sent (docs/engine.md, "Outbox"): a frame with
commands is queued, in order, and nothing overtakes it (the compiled tick path stops
sending to that peer directly); a heartbeat-only frame is never queued (the next carries
the same acknowledgement). When the queue reaches ``outbox_limit`` it is dropped whole,
audited ``outbox_overflow``, and the peer is lost (its account halts when configured):
one peer that takes nothing never stops the engine for the others.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable
from errno import EAGAIN
from typing import Any

import zmq

from tickbridge.capture import Direction, FrameRecorder
from tickbridge.engine.armed import SENT, SUBMIT_SIZE
from tickbridge.engine.peers import Peers
from tickbridge.engine.session import PendingCommand, ShimSession
from tickbridge.protocol import RecordType, SnapshotPart, encode_packed, pack_record

log = logging.getLogger("tickbridge.engine")

_HEARTBEAT = struct.Struct("<HHIQq")  # the Heartbeat record (protocol/layout.py)


class Outbound:
    def __init__(self, *, transport: Any, core: Any, peers: Peers, session_id: int,
                 outbox_limit: int, audit: Callable[..., None],
                 capture: FrameRecorder | None = None) -> None:
        self._transport = transport
        self._core = core
        self._peers = peers
        self.session_id = session_id
        self._outbox_limit = outbox_limit
        self._audit = audit
        self.capture = capture
        # Replay: frames go here instead of the transport.
        self.replay_out: list[tuple[bytes, bytes]] | None = None
        self.on_lost: Callable[[ShimSession, str], None] = lambda session, why: None
        # (session, request id, wall ns): reconciliation collects what answers it.
        self.on_snapshot_requested: Callable[[ShimSession, int, int], None] = \
            lambda session, request_id, asked_ns: None
        # Never a snapshot request id an earlier engine used: a shim resends its
        # unacknowledged frames to the next engine, an old snapshot's answer among them,
        # which must not pass for this one's (defect 6 of docs/simulation-testing.md: the
        # ids restarted at 1 with every engine). From the clock at start, in microseconds
        # (a replay sets the captured run's).
        self.next_snapshot_request = time.time_ns() // 1000 & ((1 << 62) - 1)

    def session_by_slot(self, slot: int) -> ShimSession:
        return self._peers.by_slot(slot)

    def send_command(self, session: ShimSession, command: RecordType, request_id: int,
                     coid: int, record: bytes) -> None:
        session.pending[request_id] = PendingCommand(request_id, command, coid, time.monotonic())
        self.send(session, [record])

    def request_snapshot_now(self, session: ShimSession) -> None:
        """A snapshot even if one was just asked for (the copier's settling snapshot,
        right after the first one compared)."""
        session.snapshot_requested = 0.0
        self.request_snapshot(session)

    def request_snapshot(self, session: ShimSession) -> None:
        now = time.monotonic()
        if now - session.snapshot_requested < 0.5:
            return  # one in flight is enough
        session.snapshot_requested = now
        request_id = self.next_snapshot_request | (1 << 62)  # apart from order commands
        self.next_snapshot_request += 1
        record = pack_record(RecordType.SNAPSHOT_REQUEST, request_id=request_id,
                             what=int(SnapshotPart.ALL), fills_since_ns=0)
        session.snapshot_id, session.snapshot_asked_ns = request_id, time.time_ns()
        self.on_snapshot_requested(session, request_id, session.snapshot_asked_ns)
        self.send_command(session, RecordType.SNAPSHOT_REQUEST, request_id, 0, record)

    def send(self, session: ShimSession, records: list[bytes]) -> None:
        """Sends now, or queues (bounded) when the peer cannot take it; never drops a
        command silently. Records are packed bytes (pack_record)."""
        now_ns = time.time_ns()
        heartbeat = _HEARTBEAT.pack(int(RecordType.HEARTBEAT), _HEARTBEAT.size, 0,
                                    session.ack_sequence(), now_ns)
        session.ack_due = False
        frame = encode_packed([*records, heartbeat], session_id=self.session_id,
                              sequence=self._core.next_tx_sequence(session.slot),
                              send_time_ns=now_ns)
        if self.capture is not None:
            self.capture.record(Direction.OUT, frame, session.identity)
        if self.replay_out is not None:
            self.replay_out.append((session.identity, frame))
            return
        if session.outbox:
            if records:
                self._queue(session, frame)
            self.flush(session)
            return
        try:
            self._transport.send(session.identity, frame)
            session.last_tx = time.monotonic()
        except zmq.Again:
            if records:
                self._queue(session, frame)
        except zmq.ZMQError as e:  # EHOSTUNREACH: the peer is gone (ROUTER_MANDATORY)
            self.mark_gone(session, e.strerror)
            if records:
                self._send_failed(session, frame, True, e.strerror)
            else:
                session.last_tx = time.monotonic()

    def send_armed(self, fired: list[Any], submits: bytes) -> None:
        """The Submits the core made for armed orders (FiredOrder), one frame per shim."""
        by_slot: dict[int, list[bytes]] = {}
        offset = 0
        for f in fired:
            if f.outcome == SENT:
                by_slot.setdefault(f.session, []).append(submits[offset:offset + SUBMIT_SIZE])
                offset += SUBMIT_SIZE
        for slot, records in by_slot.items():
            self.send(self._peers.by_slot(slot), records)

    def sent_directly(self, sent: list[Any]) -> None:
        """Accounts for the frames the compiled receive path sent (or could not)."""
        for one in sent:
            slot, frame, errno = one.slot, one.frame, one.errno
            session = self._peers.by_slot(slot)
            if self.capture is not None:
                self.capture.record(Direction.OUT, frame, session.identity)
            if errno == 0:
                session.last_tx = time.monotonic()
            else:
                self._send_failed(session, frame, errno != EAGAIN, os.strerror(errno))

    def reachable(self, session: ShimSession) -> bool:
        """Whether the peer's connection is still open: a heartbeat to it fails at once
        with ROUTER_MANDATORY when it is not (its pipe is gone). Marks it gone."""
        if not session.gone:
            self.send(session, [])
        return not session.gone

    def mark_gone(self, session: ShimSession, why: str) -> None:
        if not session.gone:
            session.gone = True
            log.warning("%s: connection gone (%s)", session.name, why)
            if session.accepted:
                self._audit("shim_gone", shim=session.name, reason=why)

    def flush(self, session: ShimSession) -> None:
        while session.outbox:
            try:
                self._transport.send_queued(session.identity, session.outbox[0])
            except zmq.ZMQError as e:
                if e.errno == zmq.EHOSTUNREACH:
                    self.mark_gone(session, e.strerror)
                return
            session.outbox.popleft()
            session.last_tx = time.monotonic()
        self._direct(session, True)

    def _send_failed(self, session: ShimSession, frame: bytes, gone: bool, why: str) -> None:
        """A frame with commands the socket did not take: queued, sent when it can be.
        `gone`: the peer is unroutable (not merely busy)."""
        if gone:
            self.mark_gone(session, why)
            session.last_tx = time.monotonic()
            log.error("%s: cannot send a command (%s); queued until it is back",
                      session.name, why)
        self._queue(session, frame)

    def _queue(self, session: ShimSession, frame: bytes) -> None:
        if len(session.outbox) >= self._outbox_limit:
            dropped = len(session.outbox) + 1
            session.outbox.clear()
            self._direct(session, True)
            log.error("%s: outbox full (%d frames unsent); %d frames dropped, shim lost",
                      session.name, self._outbox_limit, dropped)
            self._audit("outbox_overflow", shim=session.name, account=session.account,
                        dropped=dropped, limit=self._outbox_limit)
            if not session.lost:
                self.on_lost(session, "outbox full")
            return
        session.outbox.append(frame)
        self._direct(session, False)  # nothing may overtake what is queued

    def _direct(self, session: ShimSession, direct: bool) -> None:
        pump = self._peers.pump
        if pump is not None:
            pump.set_direct(session.slot, direct)
