"""A platform shim on the simulated network: tickbridge.sim's SimulatedPlatform (the
account, the matching, the quirks) behind the shims' link protocol (sequence numbers,
frames kept until acknowledged, a resend after every hello), as sim/process.py speaks it
over ZeroMQ. A crash loses what is not saved: the unacknowledged frames."""

from __future__ import annotations

import tempfile
from collections import deque
from pathlib import Path

import numpy as np

from tickbridge.protocol import (
    COMMANDS,
    ProtocolError,
    RecordType,
    decode_frame,
    encode_frame,
    make_record,
)
from tickbridge.sim.generator import InstrumentSpec
from tickbridge.sim.persist import load_state, save_state
from tickbridge.sim.platform import PlatformConfig, SimulatedPlatform
from tickbridge.sim.quirks import QuirkConfig
from tickbridge.simulate.network import ENGINE, Network

_KEPT = frozenset(int(t) for t in (
    RecordType.ORDER_UPDATE, RecordType.FILL, RecordType.POSITION, RecordType.ACCOUNT,
    RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT, RecordType.SNAPSHOT_BOUNDARY))
HEARTBEAT_MS = 200


class SimShim:
    def __init__(self, network: Network, specs: list[InstrumentSpec], account: str,
                 state_dir: Path, incarnation: int = 1, quirks: QuirkConfig | None = None
                 ) -> None:
        self.network, self.specs, self.account = network, specs, account
        self.state_path = Path(state_dir) / f"platform-{account}.json"
        self.identity = f"shim-{account}-{incarnation}".encode()
        self.session_id = (incarnation << 32) | 0x5EED
        self.platform = SimulatedPlatform(
            specs, PlatformConfig(account=account, latency_ns=1_000_000,
                                  quirks=quirks or QuirkConfig()),
            execution_prefix=f"{incarnation:04x}")
        self.restored = ""
        self.sequence = 0
        self.out: list[np.ndarray] = []
        self.unacked: deque[tuple[int, bytes]] = deque()
        self.engine_session: int | None = None
        self.engine_ack = 0
        self.commands: list[tuple[RecordType, np.void]] = []  # every command received
        self.frames_resent = 0

    @classmethod
    def restarted(cls, old: SimShim, now: int, quirks: QuirkConfig | None = None) -> SimShim:
        """The platform came back from its saved account (a new shim session)."""
        incarnation = (old.session_id >> 32) + 1
        new = cls(old.network, old.specs, old.account, old.state_path.parent, incarnation,
                  quirks)
        if old.state_path.exists():
            new.restored = load_state(new.platform, old.state_path, now)
        new.commands = old.commands
        return new

    def save(self, now: int) -> None:
        if self.platform.dirty:
            save_state(self.platform, self.state_path, now)
            self.platform.dirty = False

    # -- out -------------------------------------------------------------------------
    def hello(self, now: int) -> None:
        """Hello, then every frame the engine has not acknowledged, as it was."""
        self.out += self.platform.hello(HEARTBEAT_MS, now)
        self.flush(now)
        for _, frame in list(self.unacked):
            self.frames_resent += 1
            self.network.send(ENGINE, self.identity, frame)

    def heartbeat(self, now: int) -> None:
        self.out.append(make_record(RecordType.HEARTBEAT, ack_sequence=self.engine_ack,
                                    time_ns=now))
        self.flush(now)

    def flush(self, now: int) -> None:
        if not self.out:
            return
        batch, self.out = self.out, []
        self.sequence += 1
        frame = encode_frame(batch, session_id=self.session_id, sequence=self.sequence,
                             send_time_ns=now)
        if any(int(a["type"][0]) in _KEPT for a in batch if len(a)):
            self.unacked.append((self.sequence, frame))
        self.network.send(ENGINE, self.identity, frame)

    # -- in --------------------------------------------------------------------------
    def on_frame(self, payload: bytes, now: int) -> None:
        try:
            frame = decode_frame(payload)
        except ProtocolError:
            return
        header = frame.header
        if self.engine_session is not None and header.session_id != self.engine_session:
            # A restarted engine knows nothing of us: introduce ourselves again.
            self.engine_session, self.engine_ack = header.session_id, 0
            self.hello(now)
        self.engine_session = header.session_id
        if self.engine_ack and header.sequence <= self.engine_ack:
            return  # a duplicate
        self.engine_ack = header.sequence
        for rtype, rec in frame:
            if rtype == RecordType.HEARTBEAT:
                ack = int(rec["ack_sequence"])
                while self.unacked and self.unacked[0][0] <= ack:
                    self.unacked.popleft()
            elif rtype == RecordType.TRADING_STATE:
                self.platform.trading_state = (int(rec["state"]), "")
            elif rtype in COMMANDS:
                self.commands.append((rtype, rec.copy()))
                self.out += self.platform.command(rtype, rec, now)

    def market(self, iid: int, price: float, now: int) -> None:
        spec = self.platform.instruments[iid]
        self.out += self.platform.on_quote(iid, now, price - spec.tick_size, price + spec.tick_size,
                                           10, 10)
        self.out += self.platform.on_trade(iid, now, price, 1, 1)
        trade = make_record(RecordType.TRADE, instrument_id=iid, time_ns=now, price=price,
                            size=1, aggressor=1)
        self.out.append(trade)
        self.out += self.platform.advance(now)


def state_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tickbridge-simulate-"))
