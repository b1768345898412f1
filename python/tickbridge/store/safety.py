"""The trading state the gate decides from, as the store keeps it: one row per scope
(an account, or '' for every account), written durably when it changes, read back
before a restarted engine accepts its first order. A kill that a restart undoes is no
kill (DESIGN.md, "Safety state is state")."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from tickbridge.store.connection import open_reader
from tickbridge.store.ops import Op, Tx

ALL_ACCOUNTS = ""  # the scope of the engine-wide state


@dataclass(frozen=True)
class TradingStateRecord:
    scope: str  # an account name, or ALL_ACCOUNTS
    state: str  # TradingState name: ACTIVE, REDUCING_ONLY, HALTED
    source: str  # who set it: "control: alice (risk)", "daily loss limit", "kill cli"...
    updated_ns: int


class SaveTradingStateOp(Op):
    __slots__ = ("record",)

    def __init__(self, record: TradingStateRecord, future: Future | None = None) -> None:
        super().__init__(future)
        self.record = record

    def apply(self, tx: Tx) -> None:
        r = self.record
        tx.conn.execute(
            "INSERT INTO trading_states (scope, state, source, updated_ns) VALUES (?,?,?,?)"
            " ON CONFLICT (scope) DO UPDATE SET state = excluded.state,"
            " source = excluded.source, updated_ns = excluded.updated_ns",
            (r.scope, r.state, r.source, r.updated_ns))

    def describe(self) -> str:
        return f"trading state {self.record.state} for {self.record.scope or 'all accounts'}"


def trading_state_record(scope: str | None, state: str, source: str) -> TradingStateRecord:
    return TradingStateRecord(scope or ALL_ACCOUNTS, state, source, time.time_ns())


def load_trading_states(path: Path) -> dict[str, TradingStateRecord]:
    """Keyed by scope (ALL_ACCOUNTS for the engine-wide state)."""
    conn = open_reader(path)
    try:
        rows = conn.execute("SELECT scope, state, source, updated_ns FROM trading_states")
        return {r[0]: TradingStateRecord(*r) for r in rows}
    finally:
        conn.close()
