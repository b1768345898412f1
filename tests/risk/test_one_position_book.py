"""One position book (issue 15): the gate reads the positions of the order book the
engine books fills into, never a copy fed to it."""

from __future__ import annotations

import pytest

import tickbridge.orders as ob
from tickbridge._core.engine import MarketCore
from tickbridge.protocol.enums import Side
from tickbridge.risk import RiskReason, TradingState

from .conftest import T0, make_gate


def _filled(book: ob.OrderBook, account: str, symbol: str, side: Side, qty: int,
            price: float, exec_id: str) -> int:
    coid = book.new_order(account, symbol, side, qty, price).client_order_id
    book.apply(coid, ob.OrderEvent.SUBMIT_SENT)
    book.apply(coid, ob.OrderEvent.SUBMIT_ACKED)
    book.fill(coid, exec_id, qty, price)
    return int(coid)


def test_the_gate_reads_the_book_the_core_books_into() -> None:
    gate = make_gate(False)
    book = ob.OrderBook(1)
    book.register_instrument("ESZ6", 50.0, 0.25)
    MarketCore().attach(book, gate.core)
    assert gate.positions_attached
    _filled(book, "SIM1", "ESZ6", Side.BUY, 3, 6000.0, "x1")
    view = gate.book("SIM1", "ESZ6")
    assert (view.position, view.avg_price) == (3, 6000.0)  # nothing was fed to the gate
    gate.set_trading_state(TradingState.REDUCING_ONLY, "SIM1")
    sell = gate.check("SIM1", "ESZ6", Side.SELL, 3, 6000.0, T0, True, commit=False)
    assert sell.ok
    assert gate.check("SIM1", "ESZ6", Side.SELL, 4, 6000.0, T0, True,
                      commit=False).reason == RiskReason.REDUCING_ONLY
    with pytest.raises(RuntimeError, match="attached position book"):
        gate.on_fill("SIM1", "ESZ6", Side.SELL, 1, 6000.0)  # a second book is no book


def test_a_platform_symbol_counts_once_aliased_and_pnl_uses_the_gate_point_value() -> None:
    gate = make_gate(False)
    book = ob.OrderBook(1)
    book.register_instrument("ES 12-26", 1.0)  # restart: the definition not in yet
    gate.attach_positions(book)
    _filled(book, "SIM1", "ES 12-26", Side.BUY, 2, 6000.0, "x1")
    assert gate.book("SIM1", "ESZ6").position == 0  # not known to be ESZ6 yet
    gate.alias("ES 12-26", "ESZ6")
    assert gate.book("SIM1", "ESZ6").position == 2
    gate.mark_day_start()  # the fills before count for yesterday
    _filled(book, "SIM1", "ES 12-26", Side.SELL, 1, 6004.0, "x2")
    view = gate.book("SIM1", "ESZ6")
    assert view.position == 1
    assert view.realized_pnl == pytest.approx(4.0 * 50.0)  # ESZ6's $50, not the book's 1.0
    assert book.position("SIM1", "ES 12-26").realized_points == pytest.approx(4.0)
    gate.start_new_day()
    assert gate.book("SIM1", "ESZ6").realized_pnl == 0.0


def test_recovery_rebooks_positions_into_the_one_book() -> None:
    """reset_positions + book_fill: what restore_gate does with the stored fills."""
    gate = make_gate(False)
    book = ob.OrderBook(1)
    book.register_instrument("ESZ6", 50.0, 0.25)
    gate.attach_positions(book)
    _filled(book, "SIM1", "ESZ6", Side.BUY, 1, 6000.0, "x1")
    book.reset_positions()
    assert gate.book("SIM1", "ESZ6").position == 0
    book.book_fill("SIM1", "ESZ6", Side.BUY, 2, 6000.0)
    book.book_fill("SIM1", "ESZ6", Side.SELL, 1, 6002.0)
    view = gate.book("SIM1", "ESZ6")
    assert (view.position, view.realized_pnl) == (1, pytest.approx(100.0))
    with pytest.raises(ValueError, match="qty must be > 0"):
        book.book_fill("SIM1", "ESZ6", Side.BUY, 0, 6000.0)
