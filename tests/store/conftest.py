from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tickbridge.store import FillRecord, OrderRecord, StateStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[StateStore]:
    s = StateStore(db_path)
    yield s
    s.close()


def order(client_order_id: int = 1, state: str = "WORKING", quantity: int = 2,
          **kw: object) -> OrderRecord:
    fields: dict = dict(account="Sim101", instrument="ESZ6", side="BUY", order_type="LIMIT",
                        time_in_force="DAY", quantity=quantity, price=6000.0, stop_price=0.0,
                        state=state, created_ns=1, updated_ns=1)
    fields.update(kw)
    return OrderRecord(client_order_id, **fields)


def fill(execution_id: str, client_order_id: int = 1, side: str = "BUY", quantity: int = 1,
         price: float = 6000.25, account: str = "Sim101") -> FillRecord:
    return FillRecord(account, execution_id, client_order_id, "ESZ6", side, quantity, price,
                      ts_ns=5)
