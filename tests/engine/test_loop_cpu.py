"""engine.cpu: the thread that runs the engine's loop is pinned on its first pass, not
before, no other thread is, and closing the engine gives it its CPUs back."""

from __future__ import annotations

import os
import threading

import pytest

from tickbridge.engine import Engine, EngineSettings

from .memory_transport import MemoryTransport

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"),
                                reason="CPU affinity is Linux's")


def test_the_loop_thread_is_pinned_on_its_first_pass_until_the_engine_closes():
    cpus = os.sched_getaffinity(0)
    cpu = max(cpus)
    seen: dict[str, set[int]] = {}

    def loop() -> None:
        engine = Engine(EngineSettings(cpu=cpu), transport=MemoryTransport(),
                        audit=lambda kind, **p: None)
        engine.start()
        seen["started"] = os.sched_getaffinity(0)
        engine.poll()
        seen["after the first pass"] = os.sched_getaffinity(0)
        engine.close()
        seen["closed"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=loop)
    thread.start()
    thread.join(10)
    assert seen == {"started": cpus, "after the first pass": {cpu}, "closed": cpus}
    assert os.sched_getaffinity(0) == cpus  # this thread was not touched


def test_without_a_cpu_nothing_is_pinned():
    cpus = os.sched_getaffinity(0)
    engine = Engine(EngineSettings(), transport=MemoryTransport(), audit=lambda kind, **p: None)
    engine.start()
    engine.poll()
    engine.close()
    assert os.sched_getaffinity(0) == cpus
