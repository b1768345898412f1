"""Follow a live ``.scid`` file as Sierra Chart appends to it.

Sierra Chart appends whole 40-byte records to the end of a symbol's ``.scid`` file
while it runs, flushing every few seconds, so a reader can catch the file mid-record.
It also rewrites the file at times (a historical data download, "Edit > Delete" of
data, a reload): the file shrinks, or is replaced by a new one under the same name.

:class:`ScidFollower` polls the file: each :meth:`~ScidFollower.poll` returns the whole
records appended since the last poll (validated like :func:`read_scid`), never a
partial one -- a record cut by a flush is returned by the poll after its last byte
lands. On a rewrite (the file is shorter than what was read, or a different file now
has the name) it re-reads the new file and returns only the records whose DateTime is
later than the last record it returned: Sierra Chart gives every record of a symbol a
distinct, increasing DateTime (it adds microseconds to same-time trades), so nothing is
returned twice and nothing is lost after the last returned time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tickbridge.research.scid import (
    HEADER_SIZE,
    RECORD_DTYPE,
    RECORD_SIZE,
    ScidFormatError,
    ScidHeader,
    check_records,
    parse_header,
)


class ScidFollower:
    """Incremental reader of one ``.scid`` file; see the module docstring for the rules.

    ``from_start=False`` skips the records present at the first poll (a tail of new
    data only). ``rewrites`` counts the rewrites seen.
    """

    def __init__(self, path: str | os.PathLike[str], *, from_start: bool = True) -> None:
        self.path = Path(path)
        self.header: ScidHeader | None = None
        self.rewrites = 0
        self._from_start = from_start
        self._identity: tuple[int, int] | None = None
        self._position = HEADER_SIZE  # byte offset of the next whole record to read
        self._last_us: int | None = None  # DateTime of the last record returned
        self._records_returned = 0

    def poll(self) -> np.ndarray:
        """The whole records appended since the last call (RECORD_DTYPE, maybe empty).
        A file that does not exist yet or is shorter than its header returns nothing;
        a corrupt header or record raises :class:`ScidFormatError` naming it."""
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            return np.empty(0, dtype=RECORD_DTYPE)
        with f:
            st = os.fstat(f.fileno())
            if st.st_size < HEADER_SIZE:
                if self.header is not None:
                    self._rewritten()
                return np.empty(0, dtype=RECORD_DTYPE)
            identity = (st.st_dev, st.st_ino)
            if self._identity is not None and (
                identity != self._identity or st.st_size < self._position
            ):
                self._rewritten()
            if self.header is None:
                self.header = parse_header(f.read(HEADER_SIZE), self.path)
            self._identity = identity
            count = (st.st_size - self._position) // RECORD_SIZE
            if not self._from_start and count > 1:
                # Tail only: read just the last whole record, for its DateTime.
                self._position += (count - 1) * RECORD_SIZE
                count = 1
            if count <= 0:
                return np.empty(0, dtype=RECORD_DTYPE)
            f.seek(self._position)
            # A copy, not a map: the file may shrink under us at any moment.
            records = np.fromfile(f, dtype=RECORD_DTYPE, count=count)
        first_index = (self._position - HEADER_SIZE) // RECORD_SIZE
        self._position += len(records) * RECORD_SIZE
        if not self._from_start:
            self._from_start = True
            if len(records):
                self._last_us = int(records["datetime_us"][-1])
            return np.empty(0, dtype=RECORD_DTYPE)
        if self._last_us is not None:
            # After a rewrite: only what is later than what was already returned.
            records = records[records["datetime_us"] > self._last_us]
        problems = check_records(records, self.path, first_index)
        if problems:
            raise ScidFormatError(problems[0][1])
        if len(records):
            self._last_us = int(records["datetime_us"][-1])
            self._records_returned += len(records)
        return records

    def _rewritten(self) -> None:
        self.rewrites += 1
        self.header = None
        self._identity = None
        self._position = HEADER_SIZE


def follow_scid(
    path: str | os.PathLike[str],
    *,
    poll_interval: float = 0.25,
    from_start: bool = True,
    stop: threading.Event | Callable[[], bool] | None = None,
) -> Iterator[np.ndarray]:
    """Yield arrays of new whole records (RECORD_DTYPE) as Sierra Chart appends them,
    polling every ``poll_interval`` seconds, until ``stop`` is set (or returns True).
    Convert a chunk with :func:`ticks_from_records` or :func:`bars_from_records`."""
    follower = ScidFollower(path, from_start=from_start)

    def stopped() -> bool:
        if stop is None:
            return False
        return stop.is_set() if isinstance(stop, threading.Event) else bool(stop())

    while not stopped():
        chunk = follower.poll()
        if len(chunk):
            yield chunk
        elif isinstance(stop, threading.Event):
            stop.wait(poll_interval)
        else:
            time.sleep(poll_interval)
