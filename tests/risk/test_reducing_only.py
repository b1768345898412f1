"""One meaning of reducing-only (issue 15): the engine's check without a gate decides as
gate.cpp does, counting the working orders on the order's side."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import pytest

import tickbridge.orders as ob
from tickbridge.engine.pre_trade import PreTrade, reduces
from tickbridge.protocol import OrderType, Side
from tickbridge.risk.reasons import RiskReason, TradingState

from .conftest import T0, make_gate

CASES = list(itertools.product([-3, -1, 0, 2, 4], [0, 1, 3], [0, 2, 4], [Side.BUY, Side.SELL],
                               [1, 2, 3]))


@pytest.mark.parametrize(("position", "working_buy", "working_sell", "side", "qty"), CASES)
def test_the_engine_rule_is_the_gate_rule(position: int, working_buy: int, working_sell: int,
                                          side: Side, qty: int) -> None:
    gate = make_gate(False)
    if position:
        gate.on_fill("SIM1", "ESZ6", Side.BUY if position > 0 else Side.SELL, abs(position),
                     6000.0)
    gate.set_working("SIM1", "ESZ6", working_buy, working_sell)
    gate.set_trading_state(TradingState.REDUCING_ONLY, "SIM1")
    decision = gate.check("SIM1", "ESZ6", side, qty, 6000.0, T0, True, commit=False)
    assert decision.reason in (RiskReason.OK, RiskReason.REDUCING_ONLY)
    assert reduces(position, side, qty, working_buy, working_sell) == decision.ok


def _pre_trade_without_gate(book: ob.OrderBook) -> PreTrade:
    """The engine's pre-trade check with no [risk] section, the account reducing-only."""
    return PreTrade(core=SimpleNamespace(state=lambda slot: {"last_price": math.nan}),
                    risk=None, trading_state=lambda account=None: TradingState.REDUCING_ONLY,
                    book=lambda: book, platform_refusal=lambda session: None)


def test_without_a_gate_working_sells_count_against_a_long_position() -> None:
    """Long 2 with a working sell of 2: a third sell would take the position short once
    both fill. The gate refuses it; the engine's own check (no gate) used not to."""
    book = ob.OrderBook(1)
    book.register_instrument("ESZ6", 50.0, 0.25)
    buy = book.new_order("A1", "ESZ6", Side.BUY, 2, 6000.0).client_order_id
    for event in (ob.OrderEvent.SUBMIT_SENT, ob.OrderEvent.SUBMIT_ACKED):
        book.apply(buy, event)
    book.fill(buy, "x1", 2, 6000.0)
    sell = book.new_order("A1", "ESZ6", Side.SELL, 2, 6010.0).client_order_id
    for event in (ob.OrderEvent.SUBMIT_SENT, ob.OrderEvent.SUBMIT_ACKED):
        book.apply(sell, event)
    check = _pre_trade_without_gate(book)
    session = SimpleNamespace(refused="", lost=False, accepted=True, confirmed=True,
                              account="A1", name="shim")
    instrument = SimpleNamespace(symbol="ESZ6", tick_size=0.25, slot=0)
    decision = check(session, instrument, Side.SELL, 1,  # type: ignore[arg-type]
                     OrderType.LIMIT, 6010.0, math.nan)
    assert decision.code == "REDUCING_ONLY" and "working buy 0, sell 2" in decision.message
    book.apply(sell, ob.OrderEvent.CANCEL_SENT)
    book.apply(sell, ob.OrderEvent.CANCELED)
    decision = check(session, instrument, Side.SELL, 1,  # type: ignore[arg-type]
                     OrderType.LIMIT, 6010.0, math.nan)
    assert decision.ok and decision.price == 6010.0
