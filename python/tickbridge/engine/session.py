"""One connected platform instance (a shim or the simulator) as the engine sees it."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from tickbridge.protocol import Platform, RecordType


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
    last_sequence: int = 0  # highest frame sequence applied from this peer
    tx_sequence: int = 0  # our frames to it
    last_rx: float = field(default_factory=time.monotonic)
    last_tx: float = 0.0
    ack_due: bool = False
    lost: bool = False
    instruments: dict[int, Instrument] = field(default_factory=dict)
    # The platform's last reported position per symbol (reconciliation compares it).
    platform_positions: dict[str, int] = field(default_factory=dict)
    pending: dict[int, PendingCommand] = field(default_factory=dict)
    outbox: deque[bytes] = field(default_factory=deque)
    frames: int = 0
    ticks: int = 0
    gaps: int = 0
    duplicates: int = 0
    snapshot_requested: float = 0.0

    @property
    def name(self) -> str:
        platform = self.platform.name.lower() if self.platform else "unknown"
        return f"{platform}:{self.account or '?'}[{self.identity.hex()}]"

    def next_sequence(self) -> int:
        self.tx_sequence += 1
        return self.tx_sequence
