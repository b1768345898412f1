"""Position book: net position, average entry, realized and unrealized PnL, point values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from orders_support import E, new_book, new_reference, send

from tickbridge.orders import OrderBook, Side

TICK = 0.25


def trade(book: OrderBook, side: Side, qty: int, price: float, *, account: str = "SIM-1",
          instrument: str = "ESZ6") -> None:
    coid = book.new_order(account, instrument, side, qty, price).client_order_id
    send(book, coid, E.SUBMIT_SENT)
    send(book, coid, E.FILL, qty=qty, price=price)


def test_es_increase_reduce_flip_with_point_value_50():
    book = new_book()
    trade(book, Side.BUY, 2, 5000.00)
    trade(book, Side.BUY, 1, 5003.00)
    p = book.position("SIM-1", "ESZ6")
    assert (p.net_qty, p.avg_entry_price, p.realized_pnl) == (3, 5001.0, 0.0)
    trade(book, Side.SELL, 4, 5005.00)  # closes 3 (+4.00 x 3 x 50), opens 1 short
    p = book.position("SIM-1", "ESZ6")
    assert (p.net_qty, p.avg_entry_price, p.realized_pnl) == (-1, 5005.0, 600.0)
    assert book.unrealized_pnl("SIM-1", "ESZ6", 5004.00) == pytest.approx(50.0)
    trade(book, Side.BUY, 1, 5005.00 + 2 * TICK)  # two ticks against a short: -25.00
    p = book.position("SIM-1", "ESZ6")
    assert (p.net_qty, p.avg_entry_price) == (0, 0.0)
    assert p.realized_pnl == pytest.approx(575.0)
    assert (p.bought_qty, p.sold_qty) == (4, 4)


def test_one_tick_is_worth_tick_size_times_point_value():
    book = new_book()
    trade(book, Side.SELL, 1, 18000.00, instrument="NQZ6")
    trade(book, Side.BUY, 1, 18000.00 - TICK, instrument="NQZ6")
    assert book.position("SIM-1", "NQZ6").realized_pnl == pytest.approx(TICK * 20.0)


def test_reduction_keeps_the_average_entry():
    book = new_book()
    trade(book, Side.SELL, 5, 5000.0)
    trade(book, Side.BUY, 2, 4990.0)
    p = book.position("SIM-1", "ESZ6")
    assert (p.net_qty, p.avg_entry_price, p.realized_pnl) == (-3, 5000.0, 2 * 10.0 * 50)


def test_accounts_and_instruments_are_separate():
    book = new_book()
    trade(book, Side.BUY, 1, 5000.0, account="A")
    trade(book, Side.SELL, 2, 5000.0, account="B")
    trade(book, Side.BUY, 3, 18000.0, account="A", instrument="NQZ6")
    assert book.position("A", "ESZ6").net_qty == 1
    assert book.position("B", "ESZ6").net_qty == -2
    assert book.position("A", "NQZ6").net_qty == 3
    assert book.position("B", "NQZ6").net_qty == 0  # never traded: flat
    assert {(p.account, p.instrument) for p in book.positions()} >= {("A", "ESZ6"),
                                                                     ("B", "ESZ6")}


def test_only_fills_move_positions():
    book = new_book()
    coid = book.new_order("SIM-1", "ESZ6", Side.BUY, 5, 5000.0).client_order_id
    for event in (E.SUBMIT_SENT, E.SUBMIT_ACKED, E.ACCEPTED, E.CANCEL_SENT, E.CANCELED):
        send(book, coid, event)
        assert book.position("SIM-1", "ESZ6").net_qty == 0


fills = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 7),
              st.integers(-40, 40)),  # price in ticks around 5000
    min_size=1, max_size=40)


@given(fills, st.integers(-40, 40))
def test_realized_plus_unrealized_is_the_cash_pnl(trades, mark_ticks):
    """Whatever the path through zero, realized + unrealized at the mark equals the cash
    flow of the fills valued at the mark, and the position is the signed sum of fills."""
    book, ref = new_book(), new_reference()
    cash = 0.0
    net = 0
    for side, qty, ticks in trades:
        price = 5000.0 + ticks * TICK
        trade(book, side, qty, price)
        rid = ref.new_order("SIM-1", "ESZ6", int(side), qty, price).client_order_id
        ref.apply(rid, int(E.SUBMIT_SENT))
        ref.apply(rid, int(E.FILL), qty=qty, price=price, exec_id=1)
        signed = qty if side == Side.BUY else -qty
        net += signed
        cash -= signed * price * 50.0
    mark = 5000.0 + mark_ticks * TICK
    p = book.position("SIM-1", "ESZ6")
    assert p.net_qty == net
    total = p.realized_pnl + book.unrealized_pnl("SIM-1", "ESZ6", mark)
    assert total == pytest.approx(cash + net * mark * 50.0, abs=1e-6)
    r = ref.position("SIM-1", "ESZ6")
    assert (r.net_qty, r.avg_entry_price, r.realized_pnl) == (
        p.net_qty, pytest.approx(p.avg_entry_price), pytest.approx(p.realized_pnl))
    if net == 0:
        assert p.avg_entry_price == 0.0
