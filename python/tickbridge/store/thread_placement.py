"""Where the store's background threads run, and at what CPU priority.

The group-commit writer and the checkpointer wake after every batch and every fsync. On
a machine with few cores they took the core libzmq's I/O thread needed to send a Submit
(docs/benchmarks.md, ``copier``). Their work is off the order path, so they may wait:

- ``cpu``: they run on the CPU of the engine's loop (engine.cpu). The two take turns on
  the interpreter's lock anyway, so sharing a core costs them little, and the other cores
  are left to the I/O thread and the shims.
- ``priority = "low"``: 10 nice levels down, so on that core the loop comes first; under
  contention they still get a tenth of its time (the store's queue bound halts trading
  if that is ever not enough). Not SCHED_IDLE: a thread that can be kept off every core
  for as long as others are busy would hold the interpreter's lock meanwhile, and the
  engine's loop (the kill switch with it) would wait on it.

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


@dataclass(frozen=True)
class Placement:
    priority: Priority = "normal"
    cpu: int | None = None

    def apply(self) -> None:
        """Places the calling thread (the store's threads call it as they start)."""
        if not sys.platform.startswith("linux") or self == ANYWHERE:
            return
        tid = threading.get_native_id()
        try:
            if self.cpu is not None:
                os.sched_setaffinity(0, {self.cpu})  # 0: the calling thread
            if self.priority == "low":
                os.setpriority(os.PRIO_PROCESS, tid,
                               min(19, os.getpriority(os.PRIO_PROCESS, tid) + LOW_NICE))
        except OSError as e:  # a CPU taken away since the config was read; a seccomp profile
            log.warning("state store thread %s not placed (%s): %s",
                        threading.current_thread().name, self, e)


ANYWHERE = Placement()  # as the engine's other threads
