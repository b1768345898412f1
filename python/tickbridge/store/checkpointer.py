"""WAL checkpoints on their own thread and connection, off the group-commit path.

SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold: the
writer then copies the WAL into the database file and fsyncs it before the next batch can
start, which measured as two thirds of the writer's time per event. Here a second
connection checkpoints PASSIVE (never blocking the writer) every ``interval`` seconds, with
the GIL released during its I/O, so the copy overlaps with the next batch. Durability does
not depend on checkpoints: every commit is already fsynced in the WAL (synchronous=FULL).

Under a load without pauses a PASSIVE checkpoint never catches up with the last frame,
and the WAL would only grow; past ``restart_bytes`` a RESTART checkpoint briefly holds the
writer so that the WAL starts again from its beginning.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from tickbridge.store.thread_placement import ANYWHERE, Placement

log = logging.getLogger("tickbridge.store")


class Checkpointer:
    def __init__(self, path: Path, *, interval: float = 0.05,
                 restart_bytes: int = 256 * 1024 * 1024,
                 placement: Placement = ANYWHERE) -> None:
        self.path, self.interval, self.restart_bytes = path, interval, restart_bytes
        self._placement = placement
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tickbridge-store-checkpoint",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        self._placement.apply()
        wal = Path(str(self.path) + "-wal")
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            log.error("state store checkpointer could not open %s: %s; the WAL is "
                      "checkpointed only when the store closes", self.path, exc)
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    mode = "RESTART" if _size(wal) > self.restart_bytes else "PASSIVE"
                    conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # a busy file or a full disk: try again later
                    log.warning("state store checkpoint failed: %s", exc)
        finally:
            conn.close()


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
