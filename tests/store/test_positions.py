from __future__ import annotations

import pytest

from tests.store.conftest import fill
from tickbridge.store.positions import apply_fill


def _run(*fills):
    position = None
    for f in fills:
        position = apply_fill(position, f, 0)
    return position


def test_adding_moves_the_average() -> None:
    p = _run(fill("a", quantity=1, price=100.0), fill("b", quantity=3, price=104.0))
    assert (p.quantity, p.average_price, p.realized_pnl) == (4, 103.0, 0.0)


def test_reducing_realizes_at_the_average() -> None:
    p = _run(fill("a", quantity=2, price=100.0), fill("b", side="SELL", quantity=1, price=110.0))
    assert (p.quantity, p.average_price, p.realized_pnl) == (1, 100.0, 10.0)


def test_short_then_cover() -> None:
    p = _run(fill("a", side="SELL", quantity=2, price=100.0), fill("b", quantity=2, price=90.0))
    assert (p.quantity, p.average_price, p.realized_pnl) == (0, 0.0, 20.0)


def test_reversal_opens_the_rest_at_the_fill_price() -> None:
    p = _run(fill("a", quantity=1, price=100.0), fill("b", side="SELL", quantity=3, price=95.0))
    assert p.quantity == -2 and p.average_price == 95.0
    assert p.realized_pnl == pytest.approx(-5.0)
