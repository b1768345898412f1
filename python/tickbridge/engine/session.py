"""One connected platform instance (a shim or the simulator) as the engine sees it."""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tickbridge.engine.link_state import (
    ADMISSION,
    LIVENESS,
    Admission,
    AdmissionEvent,
    Liveness,
    LivenessEvent,
    next_state,
)
from tickbridge.protocol import Platform, RecordType


class HeaderFault(Enum):
    """A frame header valid for the decoder but not for a session (protocol.md: session
    ids are new at each start, never 0; sequences start at 1)."""

    ZERO_SESSION = 8  # byte offset of the field
    ZERO_SEQUENCE = 16


class HeaderRefused(ValueError):
    """A frame refused before anything in it counts (duplicate detection included)."""

    def __init__(self, code: HeaderFault, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.offset = code.value


@dataclass
class Instrument:
    instrument_id: int  # the shim's id
    symbol: str
    tick_size: float
    point_value: float
    slot: int  # the engine's MarketCore slot


@dataclass
class PendingCommand:
    request_id: int
    command: RecordType
    client_order_id: int
    sent_monotonic: float


@dataclass
class ShimSession:
    identity: bytes  # the ZeroMQ routing id
    slot: int  # MarketCore session slot
    peer_session_id: int = 0
    platform: Platform | None = None
    account: str = ""
    simulated: bool = True
    platform_version: str = ""
    heartbeat_ms: int = 500
    last_sequence: int = 0  # highest frame sequence applied from this peer (what we ack)
    # Sequences applied, to tell a resend of a booked frame (skip) from a resend of one
    # we never saw (apply): after a reconnect a shim sends Hello, then its unacknowledged
    # frames with their original, lower numbers. Bounded: below `booked_floor` all count.
    booked: set[int] = field(default_factory=set)
    booked_order: deque[int] = field(default_factory=deque)
    booked_floor: int = 0
    # (peer session, last sequence) as the compiled receive path was last told it.
    pump_view: tuple[int, int] = (0, 0)
    last_rx: float = field(default_factory=time.monotonic)
    last_tx: float = 0.0
    ack_due: bool = False
    # The link's state: two explicit tables (engine/link_state.py), changed only through
    # admit() and hear(). `refusal`: why its hello was last refused.
    admission: Admission = Admission.NEW
    liveness: Liveness = Liveness.LIVE
    refusal: str = ""
    # Its connection is closed (a send found it unroutable); cleared by its next frame.
    # A fact the socket reports, not a link state: it decides only whether an account it
    # held may go to a newcomer.
    gone: bool = False
    curve_key: str = ""  # the connection's CURVE key (ZAP User-Id), "" without CURVE
    ignored: int = 0  # records not taken from it (before or without an accepted hello)
    key_mismatches: int = 0  # frames on its routing id from another CURVE key
    admit_retried: float = 0.0  # monotonic time of the last look at a held account
    armed_enabled: bool = True  # the core's flag: its armed orders go from the tick path
    # Frames with order events not yet durable in the store: sequence -> future.
    unsynced: dict[int, Any] = field(default_factory=dict)
    instruments: dict[int, Instrument] = field(default_factory=dict)
    # The platform's last reported position per symbol (for the positions_confirmed audit;
    # reconciliation compares the positions of each snapshot).
    platform_positions: dict[str, int] = field(default_factory=dict)
    pending: dict[int, PendingCommand] = field(default_factory=dict)
    outbox: deque[bytes] = field(default_factory=deque)
    frames: int = 0
    ticks: int = 0
    gaps: int = 0
    duplicates: int = 0
    snapshot_requested: float = 0.0
    # Snapshot requests unanswered in a row, and when the next one (after a doubt) may
    # go: requests back off, then stop (EngineSettings.snapshot_attempts).
    snapshot_misses: int = 0
    snapshot_due: float = 0.0
    # The snapshot asked for: its request id and when (wall ns); what it restates is
    # collected by the reconciler (engine/reconciliation.py).
    snapshot_id: int = 0
    snapshot_asked_ns: int = 0

    def admit(self, event: AdmissionEvent) -> Admission:
        self.admission = next_state(ADMISSION, self.admission, event, self.name)
        return self.admission

    def hear(self, event: LivenessEvent) -> Liveness:
        self.liveness = next_state(LIVENESS, self.liveness, event, self.name)
        return self.liveness

    @property
    def accepted(self) -> bool:
        """Its hello was accepted: what it says counts for its account."""
        return self.admission in (Admission.ACCEPTED, Admission.CONFIRMED)

    @property
    def confirmed(self) -> bool:
        return self.admission == Admission.CONFIRMED

    @property
    def refused(self) -> str:
        """Why its hello was refused or is held ("" otherwise): never traded."""
        return self.refusal if self.admission in (Admission.REFUSED, Admission.WAITING) \
            else ""

    @property
    def waiting_for_account(self) -> bool:
        return self.admission == Admission.WAITING

    @property
    def replaced(self) -> bool:
        return self.admission == Admission.REPLACED

    @property
    def lost(self) -> bool:
        return self.liveness == Liveness.LOST

    def forgettable(self) -> bool:
        """Never completed a hello (unknown or refused): nothing of the engine's (orders,
        routes, armed orders) can refer to it, so it may be forgotten whole."""
        return (self.platform is None or bool(self.refused)) and not self.instruments

    @property
    def name(self) -> str:
        platform = self.platform.name.lower() if self.platform else "unknown"
        return f"{platform}:{self.account or '?'}[{self.identity.hex()}]"

    def is_booked(self, sequence: int) -> bool:
        return sequence <= self.booked_floor or sequence in self.booked

    def book(self, sequence: int, keep: int = 100_000) -> None:
        self.booked.add(sequence)
        self.booked_order.append(sequence)
        if len(self.booked_order) > keep:
            oldest = self.booked_order.popleft()
            self.booked.discard(oldest)
            self.booked_floor = max(self.booked_floor, oldest)
        self.last_sequence = max(self.last_sequence, sequence)

    def reset_peer(self, peer_session_id: int) -> None:
        self.peer_session_id = peer_session_id
        self.booked.clear()
        self.booked_order.clear()
        self.booked_floor = 0
        self.last_sequence = 0

    def settle_durable(self) -> bool:
        """Drops the frames now durable; True when that moved the acknowledgement. The
        store resolves its futures in the order they were made, which is this dict's
        order: the first one not done ends the look (it ran every 5 ms over every frame
        still waiting, 370 of them at a time behind a slow writer)."""
        done = 0
        for future in self.unsynced.values():
            if not future.done():
                break
            done += 1
        for seq in list(itertools.islice(self.unsynced, done)):
            del self.unsynced[seq]
        return done > 0

    def ack_sequence(self) -> int:
        """Highest sequence the shim may forget: below the first frame not yet durable."""
        if self.unsynced:
            return min(min(self.unsynced) - 1, self.last_sequence)
        return self.last_sequence
