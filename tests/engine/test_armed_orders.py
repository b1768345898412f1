"""Armed orders: sent by the compiled tick path when their trigger fires, over real
sockets with a scripted shim; the cases the core cannot decide take the Python checks."""

from __future__ import annotations

from importlib import resources

import pytest
import tomllib

from tests.fake_shim import ScriptedShim, confirm, of, pump, pump_until
from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.risk import RiskAdapter
from tickbridge.orders import OrderStatus as S
from tickbridge.protocol import RecordType
from tickbridge.risk.reasons import TradingState

from .conftest import Recorder


class Armed(Recorder):
    def on_armed(self, ctx, fired) -> None:
        self.calls.append(("armed", fired))


def _ready(engine, shim):
    shim.hello()
    confirm(engine, shim)


def _fire(engine, shim, prices, *, submits: bool):
    """Sends trades at `prices` and returns what the shim got: once the engine has taken
    them, until the Submit comes (`submits`), or else for a short grace period, the one
    fixed wait left (a Submit that is never sent cannot be waited for)."""
    before = engine.ticks
    shim.trades(prices)
    got = pump_until(engine, shim, lambda: engine.ticks >= before + len(prices),
                     f"the engine to take {len(prices)} trades")
    if submits:
        got += pump(engine, shim, until=lambda r: of(got + r, RecordType.SUBMIT), timeout=10)
    else:
        got += pump(engine, shim, timeout=0.2)
    return got


@pytest.fixture(params=[(0, True), (500, True), (0, False)],
                ids=["sleeping", "busy-poll", "python-receive"])
def armed(request, audit_log):
    """(engine, scripted shim after its hello, an Armed strategy); the engine's loop
    sleeping in the kernel between frames, or busy-polling (engine.busy_poll_us); frames
    read by the compiled receive path, or by Python (engine.compiled_receive false)."""
    strategy = Armed()
    busy_poll_us, compiled_receive = request.param
    engine = _engine(strategy, audit_log, busy_poll_us=busy_poll_us,
                     compiled_receive=compiled_receive)
    assert engine.receive_path == ("compiled" if compiled_receive else "python")
    shim = ScriptedShim(engine.endpoint)
    _ready(engine, shim)
    yield engine, shim, strategy
    shim.close()
    engine.close()


def _engine(strategy, audit_log, busy_poll_us: int = 0, compiled_receive: bool = True,
            **kwargs):
    settings = EngineSettings(endpoint="tcp://127.0.0.1:*", heartbeat_ms=100,
                              command_timeout_ms=2000, busy_poll_us=busy_poll_us,
                              compiled_receive=compiled_receive)
    engine = Engine(settings, [strategy], audit=lambda k, **p: audit_log.append((k, p)),
                    **kwargs)
    engine.start()
    return engine


def test_the_trigger_sends_the_order_from_the_compiled_path(armed, audit_log):
    engine, shim, strategy = armed
    arm_id = strategy.ctx.arm("ESZ6", 6001.0, above=True, side="BUY", quantity=2,
                              price=6001.0)
    assert arm_id, strategy.ctx.last_refusal
    not_yet = _fire(engine, shim, [6000.0, 6000.5], submits=False)
    assert not of(not_yet, RecordType.SUBMIT)
    (submit,) = of(_fire(engine, shim, [6000.75, 6001.0, 6001.25], submits=True),
                   RecordType.SUBMIT)
    (fired,) = strategy.of("armed")
    assert fired.compiled and fired.arm_id == arm_id and fired.price == 6001.0
    coid = fired.client_order_id
    assert (int(submit["client_order_id"]), int(submit["quantity"]), submit["price"],
            int(submit["side"]), int(submit["order_type"])) == (coid, 2, 6001.0, 1, 2)
    order = engine.router.book.order(coid)
    assert order.status == S.SUBMITTED and int(order.qty) == 2
    session = next(iter(engine.sessions.values()))
    assert [p.client_order_id for p in session.pending.values()
            if p.command == RecordType.SUBMIT] == [coid]
    # Frames from the tick path and from Python share one sequence: none missing.
    pump(engine, shim, timeout=0.3)
    seen = shim.engine_sequences
    assert seen == list(range(1, len(seen) + 1))
    (audited,) = [p for k, p in audit_log if k == "order_submit"]
    assert audited["armed"] == arm_id and audited["client_order_id"] == coid
    # One-shot: later trades through the level send nothing more.
    assert not of(_fire(engine, shim, [6002.0, 6003.0], submits=False), RecordType.SUBMIT)
    assert engine.core.armed_count == 0


def test_a_halted_account_takes_the_python_checks(armed, audit_log):
    engine, shim, strategy = armed
    strategy.ctx.arm("ESZ6", 6001.0, above=True, side="SELL", quantity=1, price=6001.0)
    engine.set_trading_state(TradingState.HALTED, "Sim101", source="test")
    assert not of(_fire(engine, shim, [6001.0], submits=False), RecordType.SUBMIT)
    (fired,) = strategy.of("armed")
    assert fired.client_order_id is None and not fired.compiled
    assert "halted" in fired.reason
    assert [p["reason"] for k, p in audit_log if k == "risk_refusal"] == ["TRADING_HALTED"]
    # Active again: the next armed order goes from the compiled path.
    engine.set_trading_state(TradingState.ACTIVE, "Sim101", source="test")
    strategy.ctx.arm("ESZ6", 6001.0, above=True, side="SELL", quantity=1, price=6001.0)
    assert of(_fire(engine, shim, [6001.0], submits=True), RecordType.SUBMIT)
    assert strategy.of("armed")[-1].compiled


def test_disarm_and_clear_triggers_leave_nothing_to_fire(armed):
    engine, shim, strategy = armed
    first = strategy.ctx.arm("ESZ6", 6001.0, above=True, side="BUY", quantity=1,
                             price=6000.0)
    strategy.ctx.arm("ESZ6", 5999.0, above=False, side="SELL", quantity=1, price=6000.0)
    assert strategy.ctx.disarm(first) and not strategy.ctx.disarm(first)
    strategy.ctx.clear_triggers("ESZ6")
    assert engine.core.armed_count == 0 and len(engine.router.armed) == 0
    assert not of(_fire(engine, shim, [6002.0, 5998.0], submits=False), RecordType.SUBMIT)
    assert not strategy.of("armed")


def test_what_cannot_be_armed_is_refused_with_the_reason(engine, shim, strategy):
    _ready(engine, shim)
    ctx = strategy.ctx
    assert ctx.arm("ESZ6", 6001.0, above=True, side="BUY", quantity=1, price=6001.1) is None
    assert "tick grid" in ctx.last_refusal
    assert ctx.arm("ESZ6", 6001.0, above=True, side="BUY", quantity=0, price=6001.0) is None
    assert "positive whole number" in ctx.last_refusal
    assert ctx.arm("CLZ6", 70.0, above=True, side="BUY", quantity=1, price=70.0) is None
    assert "unknown instrument" in ctx.last_refusal
    assert ctx.arm("ESZ6", float("nan"), above=True, side="BUY", quantity=1) is None
    assert "finite" in ctx.last_refusal
    assert engine.core.armed_count == 0


def _risk_engine(strategy, audit_log, max_order_qty: int):
    data = tomllib.loads(resources.files("tickbridge.config").joinpath("default.toml")
                         .read_text())
    data["risk"]["instruments"]["ES"] = {"max_order_qty": max_order_qty, "max_position": 5}
    data["engine"]["kill_on_shim_lost"] = False  # the scripted shim sends no heartbeats
    config = TickbridgeConfig.model_validate(data)
    risk = RiskAdapter(config, clock="market")
    return _engine(strategy, audit_log, risk=risk, config=config), risk


def test_the_compiled_gate_checks_and_refuses_with_its_own_words(audit_log):
    strategy = Armed()
    engine, risk = _risk_engine(strategy, audit_log, max_order_qty=2)
    shim = ScriptedShim(engine.endpoint)
    try:
        _ready(engine, shim)
        strategy.ctx.arm("ESZ6", 6001.0, above=True, side="BUY", quantity=3, price=6001.0)
        assert not of(_fire(engine, shim, [6001.0], submits=False), RecordType.SUBMIT)
        (refused,) = strategy.of("armed")
        assert refused.client_order_id is None and "3" in refused.reason
        assert [p["reason"] for k, p in audit_log if k == "risk_refusal"] == ["MAX_ORDER_SIZE"]
        assert risk.gate.book("Sim101", "ES").working_buy == 0  # nothing reserved
        strategy.ctx.arm("ESZ6", 6001.0, above=True, side="BUY", quantity=2, price=6001.0)
        assert of(_fire(engine, shim, [6001.0], submits=True), RecordType.SUBMIT)
        assert strategy.of("armed")[-1].compiled
        assert risk.gate.book("Sim101", "ES").working_buy == 2  # reserved by the C++ check
    finally:
        shim.close()
        engine.close()
