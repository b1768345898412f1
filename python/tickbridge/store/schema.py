"""The state store's schema, as numbered migrations tracked by ``PRAGMA user_version``.

One SQLite file per engine holds orders, their transitions, fills, positions, shim
sessions and the audit log. The audit log shares the file so that a fill and the audit
record of booking it commit in the same transaction: after a crash either both are on disk
or neither is, and the chain never mentions an event the state does not have.
"""

from __future__ import annotations

import sqlite3

# Each entry migrates from version i to i + 1. Never edit a released entry: append one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE orders (
        client_order_id   INTEGER PRIMARY KEY,
        account           TEXT    NOT NULL,
        instrument        TEXT    NOT NULL,
        side              TEXT    NOT NULL,
        order_type        TEXT    NOT NULL,
        time_in_force     TEXT    NOT NULL,
        quantity          INTEGER NOT NULL,
        price             REAL    NOT NULL,
        stop_price        REAL    NOT NULL,
        state             TEXT    NOT NULL,
        filled_quantity   INTEGER NOT NULL DEFAULT 0,
        average_fill_price REAL   NOT NULL DEFAULT 0,
        platform_order_id TEXT    NOT NULL DEFAULT '',
        created_ns        INTEGER NOT NULL,
        updated_ns        INTEGER NOT NULL
    );
    CREATE INDEX orders_by_state ON orders (state);

    CREATE TABLE order_transitions (
        client_order_id INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        from_state      TEXT    NOT NULL,
        event           TEXT    NOT NULL,
        to_state        TEXT    NOT NULL,
        ts_ns           INTEGER NOT NULL,
        detail          TEXT    NOT NULL DEFAULT '',
        PRIMARY KEY (client_order_id, seq)
    );

    -- (account, execution_id) is the de-duplication key: a resent fill changes nothing.
    CREATE TABLE fills (
        account           TEXT    NOT NULL,
        execution_id      TEXT    NOT NULL,
        client_order_id   INTEGER NOT NULL,
        instrument        TEXT    NOT NULL,
        side              TEXT    NOT NULL,
        quantity          INTEGER NOT NULL,
        price             REAL    NOT NULL,
        ts_ns             INTEGER NOT NULL,
        platform_order_id TEXT    NOT NULL DEFAULT '',
        booked_ns         INTEGER NOT NULL,
        UNIQUE (account, execution_id)
    );
    CREATE INDEX fills_by_order ON fills (client_order_id);

    CREATE TABLE positions (
        account       TEXT    NOT NULL,
        instrument    TEXT    NOT NULL,
        quantity      INTEGER NOT NULL,
        average_price REAL    NOT NULL,
        realized_pnl  REAL    NOT NULL,
        updated_ns    INTEGER NOT NULL,
        PRIMARY KEY (account, instrument)
    );

    CREATE TABLE shim_sessions (
        shim_session_id      INTEGER PRIMARY KEY,
        account              TEXT    NOT NULL,
        platform             TEXT    NOT NULL,
        last_booked_sequence INTEGER NOT NULL,
        first_seen_ns        INTEGER NOT NULL,
        last_seen_ns         INTEGER NOT NULL
    );

    CREATE TABLE audit_log (
        id              INTEGER PRIMARY KEY,
        wall_ns         INTEGER NOT NULL,
        mono_ns         INTEGER NOT NULL,
        kind            TEXT    NOT NULL,
        client_order_id INTEGER,
        account         TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        prev_hash       TEXT    NOT NULL,
        hash            TEXT    NOT NULL
    );
    CREATE INDEX audit_by_order ON audit_log (client_order_id) WHERE client_order_id IS NOT NULL;

    -- Append-only: the database itself refuses to change history. Dropping the trigger
    -- is possible for whoever owns the file; the hash chain then shows what was changed.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
    """,
    # 2: the trading state per scope (an account, or '' for all accounts), so that a halt
    # or a kill survives a restart of the engine (store/safety.py).
    """
    CREATE TABLE trading_states (
        scope      TEXT    PRIMARY KEY,
        state      TEXT    NOT NULL,
        source     TEXT    NOT NULL,
        updated_ns INTEGER NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The file was written by a newer tickbridge, or is not a state store."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn``'s file to ``SCHEMA_VERSION``; return the version found before.

    Each migration runs in its own transaction with its ``user_version`` bump, so a crash
    mid-migration leaves the file at the previous version, never half-migrated.
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"state store schema version {found} is newer than this tickbridge knows "
            f"({SCHEMA_VERSION}); upgrade tickbridge or open a copy with the newer one"
        )
    for version in range(found, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _statements(script: str) -> list[str]:
    """Split a migration into statements; ``executescript`` would COMMIT on its own and
    break the one-transaction-per-migration rule. Triggers hold ';' inside BEGIN..END."""
    out: list[str] = []
    current = ""
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        current += line + "\n"
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
