"""Frames from the shims: validated, sequenced, booked, their records dispatched.

Each frame goes to the compiled MarketCore (or was already ingested by the compiled
receive path), which validates it whole, applies every tick and hands back the records
Python must see. Here: which session it belongs to, whether it is a resend of a frame
already booked (acknowledged, nothing applied), sequence gaps (a snapshot is asked for),
and the acknowledgement held back until the frame's order events are on disk.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tickbridge._core.protocol import validate_frame
from tickbridge.capture import Direction
from tickbridge.engine.persistence import stored_session
from tickbridge.engine.session import HeaderFault, HeaderRefused, ShimSession
from tickbridge.protocol import DTYPES, FRAME_HEADER, ProtocolError, RecordType

if TYPE_CHECKING:
    from tickbridge.engine.links import Links
    from tickbridge.engine.outbound import Outbound
    from tickbridge.engine.peers import Peers

log = logging.getLogger("tickbridge.engine")

_HEADER_SIZE = FRAME_HEADER.itemsize
_SESSION_SEQUENCE = struct.Struct("<QQ")  # its session_id and sequence, at byte 8
# Records whose request_id answers a snapshot request (the peer is not ignoring them).
_ANSWERS = {RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT, RecordType.SNAPSHOT_BOUNDARY}


@dataclass
class Counters:
    frames: int = 0
    ticks: int = 0
    bars: int = 0


class Inbound:
    def __init__(self, *, core: Any, peers: Peers, links: Links, outbound: Outbound,
                 store: Any, on_record: Callable[[ShimSession, RecordType, Any], None],
                 on_signal: Callable[[Any], None],
                 on_fired: Callable[[list[Any]], None],
                 audit: Callable[..., None],
                 guard: Callable[..., Any] = lambda write, *args: write(*args),
                 after_frame: Callable[[], None] = lambda: None) -> None:
        self._core = core
        self._guard = guard  # a store write under the store-failure policy
        self._audit = audit
        self._peers = peers
        self._links = links
        self._outbound = outbound
        self._store = store
        self._on_record = on_record
        self._on_signal = on_signal
        self._on_fired = on_fired
        self._after_frame = after_frame  # every record of a frame dispatched
        self.counters = Counters()
        self.capture: Any = None

    def handle_frame(self, identity: bytes, frame: memoryview | bytes,
                     pumped: Any | None = None, key: str = "") -> None:
        """One frame from a peer. `pumped`: what the compiled receive path already did
        with it (a Pumped: the ingest result or its error, the Submits it sent), else None.
        `key`: the connection's CURVE client key (its ZAP User-Id), "" without CURVE."""
        if self.capture is not None:
            self.capture.record(Direction.IN, frame, identity)
        session = self._session(identity, key)
        if session is None:
            return
        self._links.heard(session)
        ingested = self._ingest(session, frame, pumped)
        if ingested is None:
            return
        result, sent = ingested
        fired = result.fired  # an Ingested (cpp/bindings/engine.cpp): named fields
        if fired:
            if sent is not None:  # the compiled receive path sent them already
                self._outbound.sent_directly(sent)
            elif result.submits:  # first of all: the tick-to-order path
                self._outbound.send_armed(fired, result.submits)
            self._on_fired(fired)
        peer_session, sequence = result.session_id, result.sequence
        self._count(session, result)
        self._sequence(session, peer_session, sequence, result.others)
        for other in result.others:
            rtype = other.type
            record = np.ndarray((1,), DTYPES[RecordType(rtype)], frame, other.offset)[0]
            self._on_record(session, RecordType(rtype), record)
            if rtype in _ANSWERS and int(record["request_id"]) == session.snapshot_id:
                session.snapshot_misses = 0  # it answers: snapshot requests resume
        self._hold_ack(session, peer_session, sequence)
        for event in result.events:
            self._on_signal(event)
        self._after_frame()
        if self._peers.pump is not None:
            self.sync_pump(session, pumped is not None, peer_session, sequence)

    def _ingest(self, session: ShimSession, frame: memoryview | bytes, pumped: Any | None
                ) -> tuple[Any, Any] | None:
        """(the core's ingest result, the Submits the compiled path sent or None), or
        None when the frame is dealt with (a resend, refused, malformed)."""
        if pumped is not None:
            if pumped.error is not None:
                self._links.drop(session, pumped.error)
                return None
            return pumped.ingested, pumped.sent
        if self._resent_or_zero(session, frame):
            return None
        try:
            return self._core.ingest(session.slot, frame), None
        except ProtocolError as error:
            self._links.drop(session, error)
            return None

    def _session(self, identity: bytes, key: str) -> ShimSession | None:
        session = self._peers.get(identity)
        if session is None:
            return self._peers.add(identity, key)
        if key != session.curve_key:
            # A routing id is chosen by the client: another key's connection may claim a
            # departed peer's id. Its frames are not that peer's.
            self._links.key_changed(session, key)
            return None
        return session

    def _resent_or_zero(self, session: ShimSession, frame: memoryview | bytes) -> bool:
        """A resend of a frame already booked (acknowledged, nothing applied), or a header
        with a zero session or sequence (refused): True when the frame is dealt with.
        Either is validated first: a malformed resend, or a new peer's zeroed header (0
        == its unset view), is refused and logged, never acknowledged in silence."""
        if len(frame) < _HEADER_SIZE:
            return False
        peer_session, sequence = _SESSION_SEQUENCE.unpack_from(frame, 8)
        zero = not peer_session or not sequence
        if not zero and not (peer_session == session.peer_session_id
                             and session.is_booked(sequence)):
            return False
        try:
            validate_frame(frame)
        except ProtocolError as error:
            self._links.drop(session, error)
            return True
        if zero:
            fault = HeaderFault.ZERO_SESSION if not peer_session else HeaderFault.ZERO_SEQUENCE
            self._links.drop(session, HeaderRefused(
                fault, f"{fault.name.lower().replace('_', ' ')} at byte {fault.value}: "
                       "session ids and sequences start at 1"))
            return True
        session.duplicates += 1
        session.ack_due = True
        return True

    def _count(self, session: ShimSession, result: Any) -> None:
        ticks = result.ticks
        self.counters.frames += 1
        self.counters.ticks += ticks
        session.frames += 1
        session.ticks += ticks
        if result.unknown_instrument:
            log.warning("%s: %d market data records for undefined instrument ids",
                        session.name, result.unknown_instrument)

    def _sequence(self, session: ShimSession, peer_session: int, sequence: int,
                  others: list) -> None:
        if peer_session != session.peer_session_id:
            hello_first = bool(others) and others[0].type == RecordType.HELLO
            session.reset_peer(peer_session)
            if not hello_first and session.accepted:
                self._links.peer_changed(session, sequence)
        elif sequence > session.last_sequence + 1:
            session.gaps += 1
            log.warning("%s: sequence gap: expected %d, got %d; snapshot requested",
                        session.name, session.last_sequence + 1, sequence)
            self._audit("sequence_gap", shim=session.name,
                        expected=session.last_sequence + 1, got=sequence)
            self._outbound.request_snapshot(session)
        elif sequence < session.last_sequence:
            log.info("%s: resent frame %d applied (not booked before)", session.name, sequence)
        session.book(sequence)

    def _hold_ack(self, session: ShimSession, peer_session: int, sequence: int) -> None:
        """Acknowledged to the shim only once this frame's order events are on disk."""
        if self._store is not None and session.ack_due:
            durable = self._guard(self._store.book_sequence, stored_session(
                peer_session, session.account,
                session.platform.name if session.platform else "UNKNOWN", sequence))
            # A failed store: never durable, so never acknowledged (the shim keeps it).
            session.unsynced[sequence] = durable if durable is not None else Future()

    def absorbed(self, slot: int, frames: int, ticks: int, last_sequence: int) -> None:
        """Market-only frames the compiled receive path took in a row (nothing in them
        for Python): booked as handle_frame would have, one by one."""
        session = self._peers.by_slot(slot)
        self._links.heard(session)
        for sequence in range(last_sequence - frames + 1, last_sequence + 1):
            session.book(sequence)
        session.pump_view = (session.peer_session_id, session.last_sequence)
        self.counters.frames += frames
        session.frames += frames
        self.counters.ticks += ticks
        session.ticks += ticks

    def sync_pump(self, session: ShimSession, pumped: bool, peer_session: int,
                  sequence: int) -> None:
        """The compiled receive path ingests only the next frame of the peer session it
        was told of; it is told again whenever the engine's view moved otherwise."""
        if pumped:
            session.pump_view = (peer_session, sequence)  # what the pump now holds
        view = (session.peer_session_id, session.last_sequence)
        if view != session.pump_view and self._peers.get(session.identity) is session:
            self._peers.pump.set_peer(session.slot, *view)
            session.pump_view = view
