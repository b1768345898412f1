"""State store (DESIGN: state store layer): authoritative orders, fills, positions and shim
sequences in SQLite (WAL, synchronous=FULL), written by one group-commit writer thread.
See docs/state-and-audit.md."""

from tickbridge.store.records import (
    TERMINAL_STATES,
    FillOutcome,
    FillRecord,
    OrderRecord,
    PositionRecord,
    ShimSession,
    Transition,
)
from tickbridge.store.schema import SCHEMA_VERSION, SchemaError
from tickbridge.store.store import StateStore
from tickbridge.store.writer import StoreBackpressure, StoreFailed, WriterStats

__all__ = [
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "FillOutcome",
    "FillRecord",
    "OrderRecord",
    "PositionRecord",
    "SchemaError",
    "ShimSession",
    "StateStore",
    "StoreBackpressure",
    "StoreFailed",
    "Transition",
    "WriterStats",
]
