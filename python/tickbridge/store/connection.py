"""Opening the state store file: the pragmas that make it the store it claims to be."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tickbridge.store.schema import migrate

# synchronous=FULL: in WAL mode SQLite then fsyncs the WAL at every COMMIT, so a committed
# batch survives power loss. NORMAL in WAL only fsyncs at checkpoints: a commit survives an
# engine crash but can vanish on power loss or an OS crash, after the engine has told the
# shim "booked" and the shim has dropped its copy: a lost fill. Group commit is what keeps
# FULL affordable (one fsync per batch, not per event).
SYNCHRONOUS = "FULL"
BUSY_TIMEOUT_MS = 5000


def open_writer_connection(path: str | Path, synchronous: str = SYNCHRONOUS) -> sqlite3.Connection:
    """The single writing connection: WAL, the chosen synchronous level, schema migrated.
    Autocommit mode (isolation_level=None) so that transactions are exactly the writer's
    explicit BEGIN IMMEDIATE .. COMMIT."""
    if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"synchronous={synchronous!r}: use FULL (durable, the default), "
                         "EXTRA, or NORMAL (not durable against power loss)")
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    # 16 KiB pages (before the first table; ignored for an existing file): audit rows of a
    # few hundred bytes then cost fewer page splits and WAL frames (measured ~10% faster).
    conn.execute("PRAGMA page_size=16384")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.close()
        raise OSError(f"{path}: SQLite refused WAL mode (got {mode!r}); the state store needs "
                      "a local file system (not a network share)")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Checkpoints run on the Checkpointer's connection, not inside the writer's COMMIT.
    conn.execute("PRAGMA wal_autocheckpoint=0")
    # After a WAL restart, give back the file's space beyond 64 MiB.
    conn.execute("PRAGMA journal_size_limit=67108864")
    migrate(conn)
    return conn


def open_reader(path: str | Path) -> sqlite3.Connection:
    """A connection for reads only (recovery, the audit CLI); it sees committed data.
    Refuses a missing file rather than creating an empty store by accident."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no state store here (pass --db FILE, or set "
                                "TICKBRIDGE_DB)")
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True,
                           isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn
