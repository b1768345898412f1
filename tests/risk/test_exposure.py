"""Projected positions with working orders, the loss limit, rate limits over windows."""

from __future__ import annotations

from tickbridge.protocol.enums import Side
from tickbridge.risk import RiskReason, TradingState

from .conftest import T0
from .test_checks import check

BUY, SELL = Side.BUY, Side.SELL
R = RiskReason


def test_projected_position_counts_working_orders(gate):
    # limit 20: two working buys of 10 use it up, a third is refused before any fill
    assert check(gate, qty=10).ok and check(gate, qty=10).ok
    d = check(gate, qty=1)
    assert d.reason == R.POSITION_LIMIT
    b = gate.book("SIM1", "ESZ6")
    assert (b.working_buy, b.working_sell, b.position) == (20, 0, 0)
    # a sell is the other side: worst case short is -1, inside the limit
    assert check(gate, side=SELL, qty=1).ok
    # canceling 10 frees the room
    gate.on_order_done("SIM1", "ESZ6", BUY, 10)
    assert check(gate, qty=5).ok


def test_fills_move_working_into_position(gate):
    assert check(gate, qty=8).ok
    gate.on_fill("SIM1", "ESZ6", BUY, 8, 6000.0)
    b = gate.book("SIM1", "ESZ6")
    assert (b.position, b.working_buy) == (8, 0)
    assert check(gate, qty=10).ok                      # 8 + 10 = 18
    assert check(gate, qty=3).reason == R.POSITION_LIMIT  # 8 + 10 + 3 = 21
    gate.set_working("SIM1", "ESZ6", 0, 0)
    gate.on_fill("SIM1", "ESZ6", SELL, 28, 6000.0)  # 8 -> -20
    assert check(gate, side=SELL, qty=1).reason == R.POSITION_LIMIT
    assert check(gate, side=BUY, qty=5).ok


def test_account_position_limit_across_instruments(gate):
    gate.on_fill("SIM1", "ESZ6", BUY, 18, 6000.0)
    gate.on_fill("SIM1", "NQZ6", SELL, 10, 21000.0)
    assert check(gate, qty=2).ok                       # 20 + 10 = 30
    d = check(gate, symbol="NQZ6", side=SELL, qty=1, price=21000)
    assert d.reason == R.ACCOUNT_POSITION_LIMIT


def test_loss_limit_moves_state_then_only_reducing_orders_pass(gate):
    # long 10 ES at 6000, $50 a point: the limit of 5000 is 10 points down
    gate.on_fill("SIM1", "ESZ6", BUY, 10, 6000.0)
    price, t = 6000.0, T0
    while gate.trading_state("SIM1") == TradingState.ACTIVE:
        price -= 1.0
        t += 1_000_000
        gate.on_trade("ESZ6", price, t)
        assert gate.evaluate_loss() in ([], ["SIM1"])
    assert price == 5990.0 and gate.account_pnl("SIM1") == -5000.0
    assert gate.trading_state("SIM1") == TradingState.REDUCING_ONLY
    d = check(gate, qty=1, price=price, now=t)
    assert d.reason == R.DAILY_LOSS
    assert check(gate, side=SELL, qty=11, price=price, now=t).reason == R.DAILY_LOSS  # flips
    assert check(gate, side=SELL, qty=10, price=price, now=t).ok
    assert check(gate, symbol="NQZ6", price=21000, now=t).reason == R.DAILY_LOSS
    # other accounts trade on
    assert check(gate, account="NARROW", price=price, now=t).ok
    gate.start_new_day()
    assert gate.trading_state("SIM1") == TradingState.ACTIVE


def test_loss_limit_detected_at_check_time_and_can_halt(gate):
    gate.on_fill("HALTER", "ESZ6", SELL, 2, 6000.0)
    gate.on_trade("ESZ6", 6010.0, T0)                  # -2 * 10 * 50 = -1000
    d = check(gate, account="HALTER", side=BUY, qty=1, price=6010.0)
    assert d.reason == R.DAILY_LOSS
    assert gate.trading_state("HALTER") == TradingState.HALTED


def test_realized_pnl_from_fills(gate):
    gate.on_fill("SIM1", "ESZ6", BUY, 2, 6000.0)
    gate.on_fill("SIM1", "ESZ6", BUY, 2, 6002.0)
    b = gate.book("SIM1", "ESZ6")
    assert b.avg_price == 6001.0
    gate.on_fill("SIM1", "ESZ6", SELL, 5, 6003.0)      # closes 4 at +2, opens short 1
    b = gate.book("SIM1", "ESZ6")
    assert (b.position, b.avg_price, b.realized_pnl) == (-1, 6003.0, 400.0)


def test_rate_limits_per_second_minute_hour(gate):
    # injected time, never sleep: 5/s, 20/min, 50/h; orders at once are 1 lot, flattened
    t = T0
    gate.on_trade("ESZ6", 6000.0, t)

    def send(now):
        gate.on_trade("ESZ6", 6000.0, now)
        d = check(gate, now=now)
        if d.ok:
            gate.on_fill("SIM1", "ESZ6", BUY, 1, 6000.0)
            gate.on_fill("SIM1", "ESZ6", SELL, 1, 6000.0)  # flat again
        return d

    assert all(send(t + i).ok for i in range(5))
    assert send(t + 10).reason == R.RATE_LIMIT        # 6th inside one second
    assert send(t + 1_000_000_000).ok                 # first one left the window
    # minute window: 20 per minute
    sent = 6
    now = t + 1_000_000_000
    while sent < 20:
        now += 1_000_000_000
        assert send(now).ok
        sent += 1
    d = send(now + 1_000_000_000)
    assert d.reason == R.RATE_LIMIT and "minute" in (d.message or "minute")
    assert send(t + 60_000_000_001).ok                # the first minute expired
    # hour window: 50 per hour, spaced 65 s apart from here on
    now = t + 60_000_000_001
    sent = 21
    while sent < 50:
        now += 65_000_000_000
        assert send(now).ok, sent
        sent += 1
    assert send(now + 65_000_000_000).reason == R.RATE_LIMIT
    assert send(t + 3_600_000_000_001 + 10).ok
