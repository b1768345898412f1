"""The state store's writer and checkpoint threads where and at the priority asked
(engine.cpu, engine.store_priority), and a writer that commits nothing while writes wait
is seen."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from tickbridge.store import StateStore
from tickbridge.store.connection import open_writer_connection
from tickbridge.store.ops import AuditOp, Tx
from tickbridge.store.thread_placement import Placement
from tickbridge.store.writer import GroupCommitWriter

linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="CPU and priority per thread are Linux's")

NAMES = ("tickbridge-store-writer", "tickbridge-store-checkpoint")


def _native_ids() -> set[int]:
    return {t.native_id for t in threading.enumerate() if t.native_id is not None}


def _store_threads(before: set[int]) -> dict[str, tuple[set[int], int]]:
    """(CPUs, nice value) of each store thread started since ``before``."""
    return {t.name: (os.sched_getaffinity(t.native_id),
                     os.getpriority(os.PRIO_PROCESS, t.native_id))
            for t in threading.enumerate()
            if t.name in NAMES and t.native_id is not None and t.native_id not in before}


@linux
@pytest.mark.parametrize(("priority", "pinned"), [("normal", False), ("low", False),
                                                  ("normal", True), ("low", True)])
def test_the_store_threads_run_where_and_as_asked(tmp_path, priority, pinned):
    own = threading.get_native_id()
    cpus, nice = os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, own)
    cpu = max(cpus) if pinned else None
    expected = dict.fromkeys(NAMES, ({cpu} if pinned else cpus,
                                     10 if priority == "low" else nice))
    before = _native_ids()
    with StateStore(tmp_path / "state.sqlite", background=Placement(priority, cpu)) as store:
        store.audit("request", {"n": 1})
        store.sync().result(timeout=10)  # the store works there
        # The writer places itself before the store is returned; the checkpointer as its
        # thread starts, so it is given a moment.
        deadline = time.monotonic() + 5
        while (seen := _store_threads(before)) != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == expected
    # The caller's own thread is untouched.
    assert (os.sched_getaffinity(0), os.getpriority(os.PRIO_PROCESS, own)) == (cpus, nice)


class _HeldTx(Tx):
    """A transaction that waits for ``release`` before it begins: a writer off the CPU."""

    release = threading.Event()

    def begin(self) -> None:
        assert self.release.wait(10)
        super().begin()


def test_a_writer_that_commits_nothing_while_writes_wait_is_stalled(tmp_path):
    _HeldTx.release.clear()
    writer = GroupCommitWriter(lambda: open_writer_connection(tmp_path / "s.sqlite"),
                               capacity=100, max_batch=10, make_tx=_HeldTx)
    try:
        time.sleep(0.3)
        assert writer.stalled_s() == 0.0  # nothing waits: not stalled, however long idle
        writer.submit(AuditOp("request", "{}", None, ""))
        assert writer.stalled_s() < 0.3  # the idle time before it does not count
        time.sleep(0.2)
        assert writer.stalled_s() >= 0.2
        _HeldTx.release.set()
        deadline = time.monotonic() + 5
        while writer.stalled_s() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.stalled_s() == 0.0
    finally:
        _HeldTx.release.set()
        writer.close(10)


@linux
def test_a_pinned_writer_busy_too_long_takes_any_cpu_until_it_has_caught_up(
        tmp_path, monkeypatch):
    """Each batch held 60 ms, one op a batch, three queued: busy for 120 ms after the
    second commit (more than CATCH_UP_S = 0.1 s), so it leaves its CPU; its queue empty
    after the third, it comes back."""
    monkeypatch.setattr(_SlowTx, "hold", 0.06)
    cpus = os.sched_getaffinity(0)
    cpu = max(cpus)
    seen: list[set[int]] = []
    writer = GroupCommitWriter(lambda: open_writer_connection(tmp_path / "s.sqlite"),
                               capacity=100, max_batch=1, make_tx=_SlowTx,
                               placement=Placement(cpu=cpu))
    try:
        assert os.sched_getaffinity(writer_tid(writer)) == {cpu}
        for _ in range(3):
            writer.submit(AuditOp("request", "{}", None, ""))
        deadline = time.monotonic() + 5
        while writer.queued or writer.stalled_s():
            seen.append(os.sched_getaffinity(writer_tid(writer)))
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert writer.escapes == 1
        assert cpus in seen  # it ran anywhere while behind
        assert os.sched_getaffinity(writer_tid(writer)) == {cpu}  # and is back
    finally:
        writer.close(10)


class _SlowTx(Tx):
    hold = 0.0

    def begin(self) -> None:
        time.sleep(self.hold)
        super().begin()


def writer_tid(writer: GroupCommitWriter) -> int:
    return next(t.native_id for t in threading.enumerate()
                if t.name == "tickbridge-store-writer" and t.native_id is not None
                and t.is_alive())


@linux
def test_a_pin_that_cannot_move_leaves_the_thread_where_it_is(monkeypatch, caplog):
    """A CPU set changed under the process: the writer's placement gives up, with a
    warning, and never raises into the writer (that would fail the store)."""
    from tickbridge.store import thread_placement

    seen: dict[str, object] = {}

    def place() -> None:
        pin = thread_placement.Pin(max(os.sched_getaffinity(0)))

        def refuse(pid: int, cpus: set[int]) -> None:
            raise OSError(22, "Invalid argument")

        monkeypatch.setattr(thread_placement.os, "sched_setaffinity", refuse)
        pin.keep_up(thread_placement.CATCH_UP_S * 2)  # must not raise
        pin.keep_up(0.0)
        seen["pinned"], seen["escapes"] = pin.pinned, pin.escapes

    thread = threading.Thread(target=place)
    thread.start()
    thread.join(5)
    assert seen == {"pinned": True, "escapes": 0}
    assert any("stays where it is" in r.getMessage() for r in caplog.records)
