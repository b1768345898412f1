"""Restart recovery of the safety state (engine/recovery.py) against a real SQLite store
and the compiled gate: what a restarted engine's gate holds before its first order."""

from __future__ import annotations

import datetime as dt
import time
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
import tomllib

from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.recovery import restore_gate, trading_day_start_ns
from tickbridge.engine.risk import RiskAdapter
from tickbridge.protocol import OrderType, Side
from tickbridge.risk.kill_switch import journal_kill, journal_path
from tickbridge.risk.reasons import RiskReason, TradingState
from tickbridge.store import StateStore
from tickbridge.store.records import FillRecord, OrderRecord

CHICAGO = ZoneInfo("America/Chicago")


def _ns(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=CHICAGO).timestamp()) * 1_000_000_000


@pytest.mark.parametrize(("now", "start"), [
    ((2026, 12, 7, 16, 59), (2026, 12, 6, 17, 0)),   # before the roll: yesterday's day
    ((2026, 12, 7, 17, 0), (2026, 12, 7, 17, 0)),    # at the roll: a new day
    ((2026, 12, 7, 23, 30), (2026, 12, 7, 17, 0)),
    ((2026, 3, 8, 10, 0), (2026, 3, 7, 17, 0)),      # DST begins at 02:00 on Mar 8
    ((2026, 11, 1, 16, 0), (2026, 10, 31, 17, 0)),   # DST ends at 02:00 on Nov 1
])
def test_the_trading_day_begins_at_17_chicago(now, start) -> None:
    assert trading_day_start_ns(_ns(*now)) == _ns(*start)


def _config(**account_risk: object) -> TickbridgeConfig:
    data = tomllib.loads(resources.files("tickbridge.config").joinpath("default.toml")
                         .read_text())
    data["risk"]["default_account"].update(account_risk)
    data["engine"]["kill_on_shim_lost"] = False
    return TickbridgeConfig.model_validate(data)


def _fill(n: int, side: str, qty: int, price: float, ts_ns: int) -> FillRecord:
    return FillRecord(account="Sim101", execution_id=f"x{n}", client_order_id=n,
                      instrument="ESZ6", side=side, quantity=qty, price=price, ts_ns=ts_ns)


def _order(n: int, side: str, qty: int, state: str, created_ns: int) -> OrderRecord:
    return OrderRecord(client_order_id=n, account="Sim101", instrument="ESZ6", side=side,
                       order_type="LIMIT", time_in_force="DAY", quantity=qty, price=5000.0,
                       stop_price=0.0, state=state, created_ns=created_ns,
                       updated_ns=created_ns)


def test_positions_todays_pnl_working_and_rate_windows_come_back(tmp_path) -> None:
    now = time.time_ns()
    day = trading_day_start_ns(now)
    store = StateStore(tmp_path / "state.sqlite")
    # Yesterday: bought 2 at 5000, sold 1 at 5010 (+500 realized, not today's).
    # Today: bought 1 at 5020, sold 1 at 5000 (closing at the average 5010: -500 today).
    store.book_fills([_fill(1, "BUY", 2, 5000.0, day - 10**12),
                      _fill(2, "SELL", 1, 5010.0, day - 10**11),
                      _fill(3, "BUY", 1, 5020.0, day + 10**9),
                      _fill(4, "SELL", 1, 5000.0, day + 2 * 10**9)]).result()
    # Working: a BUY of 3 resting; orders created in the last hour fill the rate window.
    for n in range(10, 14):
        store.save_order(_order(n, "BUY", 3 if n == 13 else 1,
                                "WORKING" if n == 13 else "CANCELED", now - 10**9))
    store.sync().result()
    risk = RiskAdapter(_config(max_orders_per_hour=4, max_orders_per_minute=0,
                               max_orders_per_second=0))
    engine = Engine(EngineSettings(endpoint="tcp://127.0.0.1:*"), risk=risk, store=store,
                    config=risk.config)
    try:
        book = risk.gate.book("Sim101", "ES")
        assert int(book.position) == 1
        assert float(book.avg_price) == pytest.approx(5010.0)
        assert float(book.realized_pnl) == pytest.approx(-500.0)  # today's only
        assert int(book.working_buy) == 3
        assert engine.recovered is not None
        assert engine.recovered.positions == {"Sim101/ES": 1}
        assert engine.recovered.orders_last_hour == 4
        # The hour's window is full: a restart did not reset the rate limit.
        risk.gate.on_trade("ES", 5000.0, now)
        decision = risk.gate.check("Sim101", "ES", Side.SELL, 1, 5000.0, now, True,
                                   order_type=OrderType.LIMIT, commit=False)
        assert decision.reason == RiskReason.RATE_LIMIT, decision.message
    finally:
        engine.close()


def test_recovery_on_the_market_clock_leaves_the_rate_windows_empty(tmp_path) -> None:
    now = time.time_ns()
    store = StateStore(tmp_path / "state.sqlite")
    store.save_order(_order(1, "BUY", 1, "CANCELED", now - 10**9))
    store.sync().result()
    risk = RiskAdapter(_config(max_orders_per_hour=1), clock="market")
    try:
        assert restore_gate(risk, store, _EmptyBook(), now).orders_last_hour == 0
    finally:
        store.close()


class _EmptyBook:
    def orders(self) -> list:
        return []


def _engine(path, **risk: object) -> Engine:
    config = _config(**risk)
    return Engine(EngineSettings(endpoint="tcp://127.0.0.1:*"), risk=RiskAdapter(config),
                  store=StateStore(path), config=config)


def test_a_halt_and_an_account_state_survive_a_restart(tmp_path) -> None:
    path = tmp_path / "state.sqlite"
    engine = _engine(path)
    engine.set_trading_state(TradingState.HALTED, source="test kill")
    engine.set_trading_state(TradingState.REDUCING_ONLY, "Sim101", source="test")
    engine.close()
    engine = _engine(path)
    try:
        assert engine.trading_state() == TradingState.HALTED
        assert engine.risk is not None
        assert engine.risk.gate.core.account_state(0).name == "REDUCING_ONLY"
        engine.set_trading_state(TradingState.ACTIVE, source="a person")
    finally:
        engine.close()
    engine = _engine(path)
    try:
        assert engine.trading_state() == TradingState.ACTIVE
        assert engine.trading_state("Sim101") == TradingState.REDUCING_ONLY
    finally:
        engine.close()


def test_a_kill_made_while_the_engine_was_down_halts_it_at_start(tmp_path) -> None:
    path = tmp_path / "state.sqlite"
    _engine(path).close()
    journal_kill(path, flatten=False, account="Sim101", outcomes=[])
    engine = _engine(path)
    try:
        engine.start()
        assert engine.trading_state("Sim101") == TradingState.HALTED
        assert engine.trading_state() == TradingState.ACTIVE  # only that account
        assert not journal_path(path).exists()  # moved into the audit chain
    finally:
        engine.close()
    engine = _engine(path)
    try:
        assert engine.trading_state("Sim101") == TradingState.HALTED  # and it stays
    finally:
        engine.close()
