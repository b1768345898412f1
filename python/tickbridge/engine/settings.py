"""What the engine process needs to run, independent of where it was configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class EngineSettings:
    endpoint: str = "tcp://127.0.0.1:5555"  # the ROUTER the shims connect to
    heartbeat_ms: int = 500
    # A shim that sends nothing for this many of its heartbeat intervals is lost.
    silence_intervals: int = 3
    # A command unanswered this long is a doubt: the engine asks for a snapshot.
    command_timeout_ms: int = 5000
    # Commands queued for a shim that cannot take them now (high-water mark reached).
    # When it is full, that shim's queue is dropped and the shim is lost (audited
    # `outbox_overflow`); the engine goes on serving the others.
    outbox_limit: int = 10_000
    # A peer that never completed a hello (unknown, refused, or only garbage) and has sent
    # nothing for this long is forgotten: its session, slot and counters are freed.
    peer_forget_s: float = 30.0
    # Unanswered snapshot requests in a row before the engine stops asking; the n-th
    # retry waits command_timeout_ms * 2**(n-1) more. A silent peer is lost meanwhile.
    snapshot_attempts: int = 4
    # The largest message libzmq accepts on the shim socket (ZMQ_MAXMSGSIZE): a bigger
    # one ends that connection before it is buffered. Default: the protocol's largest
    # legal frame (kMaxFrameBytes, 4 MiB).
    max_message_bytes: int = 4 << 20
    # Frames libzmq buffers per shim connection (ZMQ_RCVHWM) while the engine is busy;
    # beyond it the peer's own queue holds them. Bounds what a flood can park here.
    receive_hwm: int = 100
    # Malformed frames logged and audited one by one per second, at most; the rest are
    # counted into one `protocol_errors_suppressed` record a second (a flood of garbage
    # must not fill the disk or the log).
    protocol_error_audits_per_s: int = 20
    bar_interval_s: float = 60.0
    ema_fast: int = 9
    ema_slow: int = 21
    account: str | None = None  # trade only this account (None: the first hello's)
    insecure_bind: bool = False  # bind a non-loopback endpoint without CURVE
    curve_secret_key_file: Path | None = None  # ZeroMQ CURVE server keys (zmq.auth format)
    curve_authorized_keys_dir: Path | None = None  # shims' public keys allowed to connect
    snapshot_interval_s: float = 30.0  # periodic reconciliation request
    # After a frame, spin on the shim socket this long before sleeping in the kernel: a
    # frame that comes soon finds the loop awake and its caches warm (tens of us on the
    # tick-to-order path), for one core kept busy while the market is. 0: never spin.
    busy_poll_us: int = 0
    # The CPU the engine's loop is pinned to, on its first pass (Linux; None: not pinned).
    # Threads and processes that thread starts after that inherit it.
    cpu: int | None = None
    # Frames read, ingested and armed Submits sent by compiled code (frame_pump.cpp)
    # when pyzmq's libzmq can be found; False: the same in Python (slower, same results).
    compiled_receive: bool = True
    extra: dict = field(default_factory=dict)
