from __future__ import annotations

from pathlib import Path

import pytest

from tickbridge.store import FillRecord, OrderRecord, StateStore, Transition


@pytest.fixture
def filled_db(tmp_path: Path) -> Path:
    """A store with an order's life: request, transitions, a fill, a duplicate fill."""
    path = tmp_path / "state.db"
    with StateStore(path) as s:
        s.audit("request", {"intent": "buy 2 ESZ6 @ 6000"}, client_order_id=42,
                account="Sim101")
        s.save_order(OrderRecord(42, "Sim101", "ESZ6", "BUY", "LIMIT", "DAY", 2, 6000.0, 0.0,
                                 "WORKING", created_ns=1, updated_ns=1),
                     Transition(42, 0, "NEW_REQUESTED", "submit", "SUBMITTED", 10),
                     Transition(42, 0, "SUBMITTED", "ack", "WORKING", 20))
        s.audit("risk_decision", {"accepted": True, "check": "max_order_size"},
                client_order_id=42, account="Sim101")
        s.audit("command", {"type": "SUBMIT", "request_id": 9}, client_order_id=42,
                account="Sim101")
        for execution_id in ("X1", "X1"):
            s.book_fills([FillRecord("Sim101", execution_id, 42, "ESZ6", "BUY", 2, 6000.0,
                                     30)]).result(timeout=10)
        s.audit("config_change", {"max_order_size": 5}, account="Sim101")
    return path
