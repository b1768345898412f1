"""Group commit: one writer thread, a bounded queue, one transaction per batch.

Callers enqueue ops and return at once; the writer drains whatever is queued (up to
``max_batch``), applies it in one transaction and commits, which costs one WAL fsync for
the whole batch. While that fsync runs, new ops queue up and form the next batch, so the
batch grows with the load and the disk flush is shared by every event in it (DESIGN:
"durable writes cost a disk flush: group them, and never make the tick path wait").
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tickbridge.store.ops import Op, Tx
from tickbridge.store.thread_placement import ANYWHERE, Pin, Placement

log = logging.getLogger("tickbridge.store")


class StoreBackpressure(RuntimeError):
    """The write queue is full: the disk is not keeping up. Nothing was enqueued."""


class StoreFailed(RuntimeError):
    """The writer hit a storage error (disk full, I/O error) and stopped; nothing more
    is written. The engine must stop trading: its state can no longer be made durable."""


class _Stop(Op):
    __slots__ = ()


_STOP = _Stop()


@dataclass
class WriterStats:
    batches: int = 0
    ops: int = 0
    op_errors: int = 0
    max_batch_seen: int = 0

    @property
    def mean_batch(self) -> float:
        return self.ops / self.batches if self.batches else 0.0


class GroupCommitWriter:
    """Owns the write connection and the thread that uses it.

    ``submit`` is thread-safe and never blocks on the disk. The queue bound is checked
    before appending; with several producer threads it can be exceeded by at most one op
    per producer, never silently: a full queue raises ``StoreBackpressure``.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, capacity: int,
                 max_batch: int, on_error: Callable[[Op, BaseException], None] | None = None,
                 name: str = "tickbridge-store-writer",
                 make_tx: Callable[[sqlite3.Connection], Tx] = Tx,
                 placement: Placement = ANYWHERE) -> None:
        """``placement``: the writer thread's CPU and priority (thread_placement.py)."""
        if capacity < 1 or max_batch < 1:
            raise ValueError("capacity and max_batch must be at least 1")
        self.capacity, self.max_batch = capacity, max_batch
        self.stats = WriterStats()
        self._queue: collections.deque[Op] = collections.deque()
        self._wakeup = threading.Event()
        self._failure: BaseException | None = None
        self._closed = False
        self._on_error = on_error or _log_error
        self._ready = threading.Event()
        self._current: list[Op] = []  # the batch being written, failed with the queue
        self._connect, self._make_tx = connect, make_tx
        self._placement = placement
        self._pin: Pin | None = None  # the writer's, when it is pinned
        self._busy_since: float | None = None  # batches back to back since then
        # When the first write after the last commit arrived (None: nothing waits). Set by
        # producers, reset by the writer; a race only ever under-reports for a moment.
        self._pending_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise StoreFailed(f"state store writer could not start: {self._failure}") \
                from self._failure

    # -- caller side -----------------------------------------------------------------
    def submit(self, op: Op) -> None:
        if self._failure is not None:
            raise StoreFailed(f"state store writer stopped after: {self._failure}") \
                from self._failure
        if self._closed:
            raise StoreFailed("state store is closed")
        if len(self._queue) >= self.capacity:
            raise StoreBackpressure(
                f"state store queue full ({len(self._queue)} of {self.capacity} ops waiting "
                f"for the disk) while enqueueing {op.describe()}: nothing was written; slow "
                "the producer, raise queue_capacity, or check the disk")
        self._queue.append(op)
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        if not self._wakeup.is_set():
            self._wakeup.set()

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, then stop the thread and close the connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.append(_STOP)
        self._wakeup.set()
        self._thread.join(timeout)
        # Anything still queued was appended after the writer's last look (a write racing
        # close() from another thread): refuse it loudly rather than drop it silently.
        while self._queue:
            op = self._queue.popleft()
            if op is _STOP:
                continue
            error = StoreFailed(f"state store closed before {op.describe()} was written")
            if op.future is not None and not op.future.done():
                op.future.set_exception(error)
            else:
                self._on_error(op, error)

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def escapes(self) -> int:
        """Times the pinned writer left its CPU to catch up (thread_placement.Pin)."""
        return self._pin.escapes if self._pin is not None else 0

    def stalled_s(self) -> float:
        """How long writes have waited with no commit: since the last commit, or since
        the first write after it (0.0 when none waits). Long: a writer starved of CPU,
        or a disk not keeping up."""
        since = self._pending_since
        return 0.0 if since is None else time.monotonic() - since

    # -- writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        self._pin = self._placement.apply()
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            tx = self._make_tx(conn)
        except BaseException as exc:  # reported to the constructor's caller
            self._failure = exc
            if conn is not None:
                conn.close()
            self._ready.set()
            return
        self._ready.set()
        stop = False
        try:
            while not stop:
                if not self._queue:
                    # Clear, then look again: an op appended between the two is not missed.
                    self._wakeup.clear()
                    if not self._queue:
                        self._wakeup.wait()
                queue = self._queue
                popleft = queue.popleft
                # Only this thread removes items, so len() is a floor of what is there.
                batch = [popleft() for _ in range(min(len(queue), self.max_batch))]
                if _STOP in batch:  # identity test (Op defines no __eq__)
                    # A producer racing close() may have appended after _STOP: write it
                    # too; the loop stops once the queue is empty.
                    stop = True
                    batch.remove(_STOP)
                    batch.extend(popleft() for _ in range(len(queue)))
                if batch:
                    started = time.monotonic()
                    self._current = batch
                    self._commit(tx, batch)
                    self._current = []
                    self._committed(started)
        except BaseException as exc:
            self._fail(exc)
        finally:
            if self._failure is None:
                _final_checkpoint(conn)
            tx.close()
            conn.close()

    def _committed(self, started: float) -> None:
        """After a batch: the wait of what is queued, and (pinned) whether the writer has
        been busy too long on its CPU to stay there."""
        now = time.monotonic()
        if self._queue:
            self._pending_since = now
            if self._busy_since is None:
                self._busy_since = started
        else:
            self._pending_since = self._busy_since = None
        if self._pin is not None:
            self._pin.keep_up(0.0 if self._busy_since is None else now - self._busy_since)

    def _commit(self, tx: Tx, batch: list[Op]) -> None:
        results: list[object] = []
        try:
            tx.begin()
            results = [op.apply(tx) for op in batch]
            tx.commit()
        except sqlite3.OperationalError:
            raise  # disk I/O, disk full, locked past busy_timeout: nothing can be trusted
        except Exception:
            # One bad op (a constraint, a bad value) must not lose the others: undo the
            # batch and redo it one op per transaction, failing only the bad one.
            tx.rollback_state()
            self._commit_one_by_one(tx, batch)
            return
        # Outside the try: the commit is done, and a witness that cannot be written is a
        # storage failure (the writer stops), not a bad op to retry one by one.
        tx.anchor()
        self._account(batch)
        for op, result in zip(batch, results, strict=True):
            if op.future is not None:
                op.future.set_result(result)
        del results

    def _commit_one_by_one(self, tx: Tx, batch: list[Op]) -> None:
        for op in batch:
            try:
                tx.begin()
                result = op.apply(tx)
                tx.commit()
            except sqlite3.OperationalError:
                raise
            except Exception as exc:
                tx.rollback_state()
                self.stats.op_errors += 1
                if op.future is not None:
                    op.future.set_exception(exc)
                else:
                    self._on_error(op, exc)
                continue
            tx.anchor()
            self._account([op])
            if op.future is not None:
                op.future.set_result(result)

    def _account(self, batch: list[Op]) -> None:
        self.stats.batches += 1
        self.stats.ops += len(batch)
        self.stats.max_batch_seen = max(self.stats.max_batch_seen, len(batch))

    def _fail(self, exc: BaseException) -> None:
        self._failure = exc
        log.critical("state store writer stopped: %s; every queued write is failed", exc)
        error = StoreFailed(f"state store writer stopped after: {exc}")
        while self._queue:
            op = self._queue.popleft()
            if op.future is not None and not op.future.done():
                op.future.set_exception(error)
        for op in self._current:
            if op.future is not None and not op.future.done():
                op.future.set_exception(error)


def _final_checkpoint(conn: sqlite3.Connection) -> None:
    # Leave a tidy file: the WAL folded into the database and truncated. Not needed for
    # durability (the WAL is replayed on open), so a failure is only logged.
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:
        log.warning("state store: final checkpoint failed: %s", exc)


def _log_error(op: Op, exc: BaseException) -> None:
    log.error("state store: %s failed and was not written: %s", op.describe(), exc)
