"""Each check: a good order passes, the bad one is stopped with the right reason.
Every test runs against the compiled gate and its pure-Python twin."""

from __future__ import annotations

import pytest

from tickbridge.protocol.enums import OrderType, Side
from tickbridge.risk import RiskReason, TradingState
from tickbridge_dev.oracles.risk import PyRiskGateHandle

from .conftest import T0

BUY, SELL = Side.BUY, Side.SELL
R = RiskReason


def check(gate, side=BUY, qty=1, price=6000.0, symbol="ESZ6", account="SIM1", now=T0,
          session_open=True, order_type=OrderType.LIMIT, commit=True):
    return gate.check(account, symbol, side, qty, price, now, session_open, order_type, commit)


def test_good_order_passes(gate):
    d = check(gate)
    assert d.ok and d.reason == R.OK and d.price == 6000.0


def test_max_order_size(gate):
    assert check(gate, qty=10).ok
    d = check(gate, qty=12)
    assert d.reason == R.MAX_ORDER_SIZE
    if not isinstance(gate, PyRiskGateHandle):
        assert d.message == "order 12 exceeds max order size 10 for ESZ6"


def test_invalid_quantity_and_price(gate):
    assert check(gate, qty=0).reason == R.INVALID_ORDER
    assert check(gate, price=float("nan")).reason == R.INVALID_ORDER
    assert check(gate, price=-1).reason == R.INVALID_ORDER


def test_allow_list(gate):
    assert check(gate, account="NARROW").ok
    assert check(gate, account="NARROW", symbol="NQZ6", price=21000).reason == R.NOT_ALLOWED
    assert check(gate, symbol="GCZ6").reason == R.NOT_ALLOWED
    assert check(gate, account="NOBODY").reason == R.NOT_ALLOWED


def test_session_closed(gate):
    assert check(gate, session_open=False).reason == R.SESSION_CLOSED


def test_a_halt_is_named_before_a_closed_session(gate):
    """A halted account outside its session hours says "halted": a trader who killed it
    must not read "session closed" and wonder whether the halt survived a restart."""
    gate.set_trading_state(TradingState.HALTED, account="SIM1")
    assert check(gate, session_open=False).reason == R.TRADING_HALTED
    assert check(gate, account="HALTER", session_open=False).reason == R.SESSION_CLOSED


def test_off_tick_rejected(gate):
    assert check(gate, price=6000.25).ok
    d = check(gate, price=6000.1)
    assert d.reason == R.OFF_TICK
    if not isinstance(gate, PyRiskGateHandle):
        assert "off the 0.25 tick grid" in d.message


@pytest.mark.parametrize("side, order_type, expected", [
    (BUY, OrderType.LIMIT, 70.01), (SELL, OrderType.LIMIT, 70.02),
    (BUY, OrderType.STOP, 70.02), (SELL, OrderType.STOP, 70.01),
])
def test_off_tick_rounded_toward_passive_side(gate, side, order_type, expected):
    d = check(gate, symbol="CLF7", side=side, price=70.015, order_type=order_type)
    assert d.ok and d.price == pytest.approx(expected, abs=1e-9)


def test_price_band_in_ticks(gate):
    assert check(gate, price=6010.0).ok          # 40 ticks = 10 points from 6000
    assert check(gate, price=5990.0, side=SELL).ok
    d = check(gate, price=6010.25)
    assert d.reason == R.PRICE_BAND
    assert check(gate, price=5989.75, side=SELL).reason == R.PRICE_BAND
    assert check(gate, price=600.0).reason == R.PRICE_BAND  # fat finger


def test_price_band_in_percent_around_mid(gate):
    # mid 70.01, 2 % = 1.4002
    assert check(gate, symbol="CLF7", price=71.41).ok
    assert check(gate, symbol="CLF7", price=71.42).reason == R.PRICE_BAND


def test_stale_and_missing_market_data(gate):
    assert check(gate, now=T0 + 2_000_000_000).ok
    d = check(gate, now=T0 + 2_000_000_001)
    assert d.reason == R.STALE_MARKET_DATA
    # market orders need fresh data too
    assert check(gate, now=T0 + 3_000_000_000, order_type=OrderType.MARKET).reason == \
        R.STALE_MARKET_DATA
    gate.on_trade("ESZ6", 6001.0, T0 + 3_000_000_000)
    assert check(gate, now=T0 + 3_000_000_000, order_type=OrderType.MARKET, price=0).ok


def test_no_reference_price(gate):
    gate.on_quote("CLF7", 0.0, 0.0, T0)
    assert check(gate, symbol="CLF7", price=70.0).reason == R.STALE_MARKET_DATA


def test_trading_state_halted_and_reducing(gate):
    gate.set_trading_state(TradingState.HALTED)
    assert gate.trading_state() == TradingState.HALTED
    assert check(gate).reason == R.TRADING_HALTED
    gate.set_trading_state(TradingState.REDUCING_ONLY)
    assert check(gate).reason == R.REDUCING_ONLY
    gate.on_fill("SIM1", "ESZ6", BUY, 3, 6000.0)
    assert check(gate, side=SELL, qty=2).ok            # 3 -> 1 (working sell 2)
    assert check(gate, side=SELL, qty=1).ok            # with working: 3 -> 0
    assert check(gate, side=SELL, qty=1).reason == R.REDUCING_ONLY  # would flip
    gate.set_trading_state(TradingState.ACTIVE)
    gate.set_trading_state(TradingState.HALTED, account="SIM1")
    assert gate.trading_state("SIM1") == TradingState.HALTED
    assert check(gate).reason == R.TRADING_HALTED
    assert check(gate, account="HALTER").ok


def test_reducing_never_flips(gate):
    gate.set_trading_state(TradingState.REDUCING_ONLY)
    gate.on_fill("SIM1", "ESZ6", SELL, 2, 6000.0)
    assert check(gate, side=BUY, qty=3, commit=False).reason == R.REDUCING_ONLY
    assert check(gate, side=BUY, qty=2).ok
    assert check(gate, side=SELL, qty=1).reason == R.REDUCING_ONLY
