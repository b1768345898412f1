"""Re-running a capture (`tickbridge run --capture FILE`) through a fresh engine: the
frames the engine received, in the order it received them, with the captured run's
client-order-id epoch, so the same ticks and platform events make the same decisions and
the same ids. The order commands it sends are compared with the ones captured.

Deterministic for what the frames drive (ticks, bars, triggers, strategy decisions, order
events, fills, the risk gate on the market clock). Not replayed: requests on the control
socket (not captured) and what the wall-clock timers did (heartbeats, command timeouts,
the loss-limit timer)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tickbridge.capture import CaptureReader, Direction
from tickbridge.config.models import TickbridgeConfig
from tickbridge.protocol import RecordType, decode_frame

ORDER_COMMANDS = (RecordType.SUBMIT, RecordType.CANCEL, RecordType.REPLACE,
                  RecordType.CANCEL_ALL, RecordType.FLATTEN)


@dataclass
class ReplayResult:
    frames_in: int
    ticks: int
    bars: int
    orders: int
    fills: int
    positions: dict[str, int]
    captured: list[tuple[Any, ...]] = field(default_factory=list)
    replayed: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.captured == self.replayed

    def first_difference(self) -> str | None:
        for i, (a, b) in enumerate(zip(self.captured, self.replayed, strict=False)):
            if a != b:
                return f"command {i + 1}: captured {a}, replayed {b}"
        if len(self.captured) != len(self.replayed):
            return (f"{len(self.captured)} commands captured, {len(self.replayed)} "
                    "replayed")
        return None


def order_commands(frames: list[bytes]) -> list[tuple[Any, ...]]:
    """What identifies an order command, without its timestamps and request ids."""
    out = []
    for frame in frames:
        for rtype, rec in decode_frame(frame):
            if rtype not in ORDER_COMMANDS:
                continue
            names = rec.dtype.names or ()
            key: list[Any] = [rtype.name]
            for name in ("client_order_id", "instrument_id", "side", "quantity", "price",
                         "stop_price", "order_type"):
                if name in names:
                    value = rec[name].item()
                    key.append(round(value, 9) if isinstance(value, float)
                               and not math.isnan(value) else value)
            out.append(tuple(key))
    return out


def captured_epoch(path: Path) -> int | None:
    """The client-order-id epoch of the captured run: from its first Submit."""
    for entry in CaptureReader(path):
        if entry.direction != Direction.OUT:
            continue
        for rtype, rec in decode_frame(entry.frame):
            if rtype == RecordType.SUBMIT:
                return int(rec["client_order_id"]) >> 32
    return None


def captured_snapshot_request(path: Path) -> int | None:
    """The captured run's first snapshot request id (its shim's answers carry it)."""
    for entry in CaptureReader(path):
        if entry.direction != Direction.OUT:
            continue
        for rtype, rec in decode_frame(entry.frame):
            if rtype == RecordType.SNAPSHOT_REQUEST:
                return int(rec["request_id"]) & ((1 << 62) - 1)
    return None


def replay_capture(path: Path, config: TickbridgeConfig, state_store: Path) -> ReplayResult:
    from tickbridge.engine.build import build_engine

    engine = build_engine(config, clock="market", shim_endpoint="tcp://127.0.0.1:*",
                          control_endpoint="tcp://127.0.0.1:*", state_store=state_store,
                          order_id_epoch=captured_epoch(path))
    engine.outbound.replay_out = []
    first_snapshot = captured_snapshot_request(path)
    if first_snapshot is not None:
        engine.outbound.next_snapshot_request = first_snapshot
    captured_out: list[bytes] = []
    frames_in = 0
    try:
        engine.start()
        for entry in CaptureReader(path):
            if entry.direction == Direction.IN:
                engine.handle_frame(entry.peer, entry.frame)
                frames_in += 1
            else:
                captured_out.append(entry.frame)
        router = engine.router
        orders = router.book.orders()
        result = ReplayResult(
            frames_in=frames_in, ticks=engine.ticks, bars=engine.bars, orders=len(orders),
            fills=sum(len(router.book.fills(o.client_order_id)) for o in orders),
            positions={s: router.position(s) for s in router.symbols()},
            captured=order_commands(captured_out),
            replayed=order_commands([frame for _, frame in engine.outbound.replay_out]))
    finally:
        engine.close()
    return result
