"""The compiled gate and the pure-Python oracle agree order by order on random streams."""

from __future__ import annotations

import numpy as np

from tickbridge._core import risk as core
from tickbridge.risk import reasons

from .conftest import T0, make_gate


def test_enums_mirror_the_core():
    for py_enum, core_enum in [(reasons.RiskReason, core.RiskReason),
                               (reasons.TradingState, core.TradingState),
                               (reasons.TickPolicy, core.TickPolicy),
                               (reasons.BandBasis, core.BandBasis),
                               (reasons.BandUnit, core.BandUnit)]:
        assert {m.name: int(m) for m in py_enum} == \
            {name: int(v) for name, v in core_enum.__members__.items()}


def test_random_order_streams_agree():
    rng = np.random.default_rng(5)
    ours, oracle = make_gate(False), make_gate(True)
    symbols = ["ESZ6", "NQZ6", "CLF7"]
    mids = {"ESZ6": 6000.0, "NQZ6": 21000.0, "CLF7": 70.0}
    ticks = {"ESZ6": 0.25, "NQZ6": 0.25, "CLF7": 0.01}
    now = T0
    seen = set()
    for step in range(4000):
        now += int(rng.integers(1, 400_000_000))
        symbol = symbols[int(rng.integers(0, 3))]
        account = ["SIM1", "NARROW", "HALTER"][int(rng.integers(0, 3))]
        event = rng.random()
        if event < 0.2:
            mids[symbol] += float(rng.integers(-8, 9)) * ticks[symbol]
            for g in (ours, oracle):
                g.on_trade(symbol, mids[symbol], now)
                g.on_quote(symbol, mids[symbol] - ticks[symbol], mids[symbol] + ticks[symbol], now)
            assert ours.evaluate_loss() == oracle.evaluate_loss()
            continue
        side = int(rng.integers(1, 3))
        if event < 0.35:
            qty = int(rng.integers(1, 4))
            for g in (ours, oracle):
                g.on_fill(account, symbol, side, qty, mids[symbol])
            continue
        if event < 0.4:
            done = int(rng.integers(1, 6))
            for g in (ours, oracle):
                g.on_order_done(account, symbol, side, done)
            continue
        if step == 2000:
            for g in (ours, oracle):
                g.start_new_day()
        qty = int(rng.integers(-1, 14))
        price = mids[symbol] + float(rng.integers(-60, 61)) * ticks[symbol] * \
            (1.0 if rng.random() < 0.9 else 0.37)
        order_type = int(rng.integers(1, 4))
        session_open = rng.random() < 0.97
        a = ours.check(account, symbol, side, qty, price, now, session_open, order_type)
        b = oracle.check(account, symbol, side, qty, price, now, session_open, order_type)
        assert a.reason == b.reason, (step, a, b)
        assert abs(a.price - b.price) < 1e-9
        assert ours.book(account, symbol).position == oracle.book(account, symbol).position
        assert abs(ours.account_pnl(account) - oracle.account_pnl(account)) < 1e-6
        seen.add(a.reason)
    assert len(seen) >= 10, seen


def test_batch_matches_single_checks():
    gate = make_gate(False)
    n = 200
    rng = np.random.default_rng(1)
    prices = 6000.0 + 0.25 * rng.integers(-50, 50, n)
    qtys = rng.integers(1, 14, n)
    args = (np.zeros(n, np.uint32), np.zeros(n, np.uint32), rng.integers(1, 3, n).astype(np.uint8),
            np.full(n, 2, np.uint8), qtys, prices, np.full(n, T0))
    reasons_, out = gate.core.check_batch(*args, True, False)
    py = make_gate(True).core.check_batch(*args, True, False)
    assert list(reasons_) == py[0]
    assert np.allclose(out, py[1])


def test_batch_refuses_bad_enum_values():
    n = 3
    for gate in (make_gate(False), make_gate(True)):
        reasons_, _ = gate.core.check_batch(
            np.zeros(n, np.uint32), np.zeros(n, np.uint32), np.array([0, 3, 1], np.uint8),
            np.array([2, 2, 9], np.uint8), np.ones(n, np.int64), np.full(n, 6000.0),
            np.full(n, T0), True, False)
        assert list(reasons_) == [1, 1, 1]  # INVALID_ORDER


def test_wire_reject_reasons():
    from tickbridge.protocol.enums import RejectReason

    assert reasons.wire_reject_reason(reasons.RiskReason.OFF_TICK) == RejectReason.OFF_TICK_PRICE
    assert reasons.wire_reject_reason(reasons.RiskReason.SESSION_CLOSED) == 4
    assert reasons.wire_reject_reason(reasons.RiskReason.RATE_LIMIT) == 12
