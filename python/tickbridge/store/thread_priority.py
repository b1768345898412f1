"""The store's background threads below the receive path in CPU priority.

The group-commit writer and the checkpointer wake after every batch and every fsync. On
a machine with fewer free cores than runnable threads they took the core libzmq's I/O
thread needed to send a Submit: with them ``nice`` levels lower, the scheduler runs the
I/O thread first (docs/benchmarks.md, ``copier``). Their work is not on the order path;
the store's queue bound still stops trading if they ever fall behind.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("tickbridge.store")


def lower_this_thread(levels: int) -> None:
    """Raises the calling thread's nice value by ``levels`` (at most 19). Linux only:
    there a nice value is per thread, and raising it needs no privilege."""
    if levels <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid,
                       min(19, os.getpriority(os.PRIO_PROCESS, tid) + levels))
    except OSError as e:  # a seccomp profile or a container without the call
        log.warning("state store thread %s kept its priority: %s",
                    threading.current_thread().name, e)
