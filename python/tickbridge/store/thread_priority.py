"""The store's background threads below the receive path in CPU priority.

The group-commit writer and the checkpointer wake after every batch and every fsync. On
a machine with fewer free cores than runnable threads they took the core libzmq's I/O
thread needed to send a Submit (docs/benchmarks.md, ``copier``). Their work is off the
order path, so they may wait:

- ``normal``: as the engine's other threads.
- ``low``: 10 nice levels lower. Under contention they get a tenth of a core's share, but
  a running writer is not always preempted by the thread that needs the core.
- ``idle``: Linux's SCHED_IDLE. Any other thread that wakes takes the core at once; they
  run on what is left. On a saturated machine that can be almost nothing: the store's
  queue bound then refuses writes and trading halts (store.py), and the engine warns
  long before (store_failure.py). Only with a core to spare (config refuses one CPU).

Linux only: there priorities are per thread, and lowering one needs no privilege (it
cannot be raised back without CAP_SYS_NICE, so it is set once, as the thread starts).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Literal

log = logging.getLogger("tickbridge.store")

Priority = Literal["normal", "low", "idle"]
LOW_NICE = 10


def lower_this_thread(priority: Priority) -> None:
    """Sets the calling thread's priority (a no-op for ``normal`` and off Linux)."""
    if priority == "normal" or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        if priority == "idle":
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # 0: this thread
        else:
            os.setpriority(os.PRIO_PROCESS, tid,
                           min(19, os.getpriority(os.PRIO_PROCESS, tid) + LOW_NICE))
    except OSError as e:  # a seccomp profile or a container without the call
        log.warning("state store thread %s kept its priority (%s asked): %s",
                    threading.current_thread().name, priority, e)
