"""Where the store's background threads run, and at what CPU priority.

The group-commit writer and the checkpointer wake after every batch and every fsync. On
a machine with few cores they took the core libzmq's I/O thread needed to send a Submit
(docs/benchmarks.md, ``copier``). Their work is off the order path, so they may wait:

- ``cpu``: they run on the CPU of the engine's loop (engine.cpu). The two take turns on
  the interpreter's lock anyway, so sharing a core costs them little, and the other cores
  are left to the I/O thread and the shims.
- ``priority = "low"``: nice 10, so on that core the loop comes first; under contention
  they still get a tenth of it. Nice 19 was tried: a better p99 with ten followers, but
  a weaker writer. At either value, pinned, a sustained ten-follower copy left the writer
  hundreds of frames behind (the shims' acknowledgements wait with it). Hence Pin: a
  pinned writer busy batch after batch for CATCH_UP_S takes any CPU until its queue is
  empty. The engine warns of a stall after 2 s, and the store's queue bound halts trading
  if all that is ever not enough.
- Not SCHED_IDLE: a thread that can be kept off every core for as long as others are
  busy would hold the interpreter's lock meanwhile, and the engine's loop (the kill
  switch with it) would wait on it.

Linux only (elsewhere nothing is changed): there both are per thread, and lowering a
thread's priority or narrowing its CPUs needs no privilege.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("tickbridge.store")

Priority = Literal["normal", "low"]
LOW_NICE = 10
# A pinned writer busy with batch after batch for this long takes any CPU until its queue
# is empty. Without it, at a low priority on a busy loop's core, a copier bench that kept
# ten followers copying for half a minute filled the store's queue (100,000 ops) and
# halted trading; with it the backlog peaked at 746 frames. Shorter (20 ms) cost one
# follower's copy 25 µs of p50 (docs/benchmarks.md, copier).
CATCH_UP_S = 0.1


@dataclass(frozen=True)
class Placement:
    priority: Priority = "normal"
    cpu: int | None = None

    def apply(self) -> Pin | None:
        """Places the calling thread (the store's threads call it as they start); its
        Pin when it was pinned."""
        if not sys.platform.startswith("linux") or self == ANYWHERE:
            return None
        tid = threading.get_native_id()
        pin = None
        try:
            if self.priority == "low":
                os.setpriority(os.PRIO_PROCESS, tid, LOW_NICE)
            if self.cpu is not None:
                pin = Pin(self.cpu)
        except OSError as e:  # a CPU taken away since the config was read; a seccomp profile
            log.warning("state store thread %s not placed (%s): %s",
                        threading.current_thread().name, self, e)
        return pin


class Pin:
    """The calling thread on one CPU while it keeps up, on any while it is behind."""

    def __init__(self, cpu: int) -> None:
        self.cpu = cpu
        self._anywhere = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})  # 0: the calling thread
        self.pinned = True
        self.escapes = 0  # times it left the CPU to catch up
        self._given_up = False

    def keep_up(self, behind_s: float) -> None:
        """``behind_s``: how long it has been busy without a pause (0.0: caught up).
        Never raises: the writer calls it, and a placement is never worth a store."""
        if self._given_up:
            return
        try:
            if self.pinned and behind_s > CATCH_UP_S:
                os.sched_setaffinity(0, self._anywhere)
                self.pinned, self.escapes = False, self.escapes + 1
            elif not self.pinned and behind_s == 0.0:
                os.sched_setaffinity(0, {self.cpu})
                self.pinned = True
        except OSError as e:  # the CPUs changed under the process (a cpuset, an unplug)
            self._given_up = True
            log.warning("state store thread %s stays where it is (CPU %d asked): %s",
                        threading.current_thread().name, self.cpu, e)


ANYWHERE = Placement()  # as the engine's other threads
