"""The simulated clock: the engine's modules read time through their module-level
``time`` name; while a session runs, that name is this clock, so heartbeats, silence,
command timeouts and order-id epochs follow simulated time and a seed replays exactly.
No engine module is edited: the swap is undone when the session ends."""

from __future__ import annotations

import importlib
import time as _real_time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Engine modules that read the clock (grep 'import time' in python/tickbridge/engine).
_MODULES = ("armed", "engine", "links", "order_events", "orders", "outbound",
            "platform_link", "receiver", "risk", "session", "transport")
T0_NS = 1_795_010_400_000_000_000  # a Tuesday, 14:00 UTC: the simulated market is open


class SimClock:
    """``time``'s functions the engine calls, on simulated nanoseconds."""

    def __init__(self, start_ns: int = T0_NS) -> None:
        self.now_ns = start_ns

    def advance(self, ns: int) -> None:
        self.now_ns += max(0, ns)

    def time_ns(self) -> int:
        return self.now_ns

    def time(self) -> float:
        return self.now_ns / 1e9

    def monotonic_ns(self) -> int:
        return self.now_ns

    def monotonic(self) -> float:
        return self.now_ns / 1e9

    perf_counter = monotonic
    perf_counter_ns = monotonic_ns

    def sleep(self, seconds: float) -> None:
        self.advance(int(seconds * 1e9))

    def __getattr__(self, name: str) -> Any:  # anything else: the real module's
        return getattr(_real_time, name)


@contextmanager
def simulated_time(clock: SimClock) -> Iterator[SimClock]:
    modules = [importlib.import_module(f"tickbridge.engine.{name}") for name in _MODULES]
    saved = [(m, m.time) for m in modules if hasattr(m, "time")]
    for module, _ in saved:
        module.time = clock
    try:
        yield clock
    finally:
        for module, real in saved:
            module.time = real
