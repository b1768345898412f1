"""The loop's receive step: frames from the transport (or the compiled receive path) to
Inbound, in runs bounded by time so heartbeats and timers keep their pace under a flood.

With ``cpu`` (engine.cpu) the thread that runs the loop is pinned to that CPU on its first
receive, not before: threads and processes the embedding program started until then keep
every CPU; those the loop's thread starts later inherit the pin (Linux's rule). The
engine's close gives the thread its CPUs back (a script or a test goes on unpinned)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickbridge.engine.inbound import Inbound

log = logging.getLogger("tickbridge.engine")

_RUN_S = 0.02  # a run of frames handled before the timers are looked at


class Receiver:
    def __init__(self, *, transport: Any, inbound: Inbound, key: Callable[[Any], str],
                 spin_s: float, cpu: int | None = None) -> None:
        self._transport = transport
        self._inbound = inbound
        self._key = key  # a frame's CURVE client key
        self._spin_s = spin_s
        self.pump: Any = None  # the compiled receive path, when there is one
        self._last_frame = 0.0  # perf_counter of the last frame handled
        self._budget_end = 0.0  # monotonic end of the current run of frames
        self._pin = cpu  # pinned on the first receive, then None
        self._pinned: tuple[int, set[int]] | None = None  # (thread, its CPUs before)

    def start_pump(self, core: Any, session_id: int, *, compiled: bool, absorb: int) -> Any:
        """The compiled receive path on the transport (None: frames read in Python)."""
        pump = self._transport.make_pump(core, session_id) if compiled else None
        if pump is not None and absorb:
            pump.set_absorb(absorb)
        self.pump = pump
        return pump

    def receive(self, timeout_ms: int) -> int:
        """Handles what has arrived, waiting up to timeout_ms for the first frame; returns
        the number of frames handled."""
        if self._pin is not None:
            self._pin_this_thread(self._pin)
        if self.pump is not None:
            return self._pump(self.pump, timeout_ms)
        transport = self._transport
        timeout_ms = transport.wait_ms(timeout_ms, self._last_frame)
        handled = 0
        while True:
            got = transport.receive(timeout_ms)  # after the first: readable() said so
            if got is None:
                break
            self._inbound.handle_frame(got[0], got[1], key=got[2])
            handled += 1
            self._last_frame = time.perf_counter()
            # More queued? (ZMQ_EVENTS: cheaper than a receive that raises Again.)
            if not transport.readable() or not self._within_budget(handled):
                break
        return handled

    def _pump(self, pump: Any, timeout_ms: int) -> int:
        """Through the compiled receive path: it waits (spinning first, like the Python
        loop), reads, ingests and sends armed Submits without the GIL."""
        spin_us = 0
        if timeout_ms and self._spin_s:
            spin_us = int(max(0.0, min(self._last_frame + self._spin_s - time.perf_counter(),
                                       timeout_ms / 1000)) * 1e6)
        handled = 0
        while True:
            got = pump.pump(timeout_ms if not handled else 0, spin_us if not handled else 0)
            if got is None:
                break
            absorbed = got.absorbed  # a Pumped (frame_pump.cpp): named, not positional
            if absorbed is not None:
                self._inbound.absorbed(absorbed.slot, absorbed.frames, absorbed.ticks,
                                       absorbed.last_sequence)
            if got.identity is not None:
                self._inbound.handle_frame(got.identity, got.frame,
                                           got if got.handled else None,
                                           key=self._key(got.frame))
            handled += 1
            self._last_frame = time.perf_counter()
            if not self._within_budget(handled):
                break
        return handled

    def _pin_this_thread(self, cpu: int) -> None:
        self._pin = None
        try:
            before = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {cpu})  # 0: the calling thread
            self._pinned = (threading.get_native_id(), before)
            log.info("the engine's loop runs on CPU %d", cpu)
        except OSError as e:  # a CPU taken away since the config was checked
            log.warning("the engine's loop not pinned to CPU %d: %s", cpu, e)

    def unpin(self) -> None:
        """The loop's thread gets back the CPUs it had (from whichever thread closes)."""
        if self._pinned is None:
            return
        thread, before = self._pinned
        self._pinned = None
        try:
            os.sched_setaffinity(thread, before)
        except OSError as e:  # the thread is gone: nothing to give back
            log.debug("the engine's loop thread %d not unpinned: %s", thread, e)

    def _within_budget(self, handled: int) -> bool:
        if handled == 1:
            self._budget_end = time.monotonic() + _RUN_S
        elif handled % 16 == 0 and time.monotonic() >= self._budget_end:
            return False
        return True
