"""PlatformStatus in, TradingState out (engine/platform_link.py), over real sockets with a
scripted shim: the refusal while the platform's order connection is down, what is not a
refusal (no report since the hello), a stale status resent after a re-hello, and the
TradingState the shim is told at hello and on every change of its account's state."""

from __future__ import annotations

from tests.fake_shim import of, pump
from tickbridge.protocol import ConnectionState, RecordType, make_record
from tickbridge.risk.reasons import TradingState


def _status(orders: ConnectionState, time_ns: int, text: str = "Rithmic") -> list:
    return [make_record(RecordType.PLATFORM_STATUS, time_ns=time_ns, orders=int(orders),
                        prices=int(ConnectionState.CONNECTED), text=text)]


def _hello(engine, shim) -> list:
    shim.hello()
    return pump(engine, shim, until=lambda r: of(r, RecordType.TRADING_STATE), timeout=2.0)


def test_hello_is_answered_with_the_trading_state(engine, shim):
    got = _hello(engine, shim)
    (told,) = of(got, RecordType.TRADING_STATE)
    assert int(told["state"]) == TradingState.ACTIVE and told["reason"] == b""


def test_orders_refused_while_the_order_connection_is_down(engine, shim, strategy,
                                                           audit_log):
    _hello(engine, shim)
    assert strategy.ctx.buy("ESZ6", 1, price=6000.0)  # no PlatformStatus yet: not refused
    shim.send(_status(ConnectionState.CONNECTION_LOST, 10, "Rithmic: order connection"))
    pump(engine, shim, until=lambda _: audit_log and audit_log[-1][0] == "platform_status")
    assert not strategy.ctx.buy("ESZ6", 1, price=6000.0)
    assert "order connection is CONNECTION_LOST (Rithmic: order connection)" in \
        strategy.ctx.last_refusal
    refusal = [p for k, p in audit_log if k == "risk_refusal"][-1]
    assert refusal["reason"] == "PLATFORM_NOT_CONNECTED"
    (session,) = engine.sessions.values()
    assert not session.armed_enabled  # the tick path's armed orders are off too
    shim.send(_status(ConnectionState.CONNECTED, 11))
    pump(engine, shim, until=lambda _: engine.platform_link.orders_allowed(session))
    assert strategy.ctx.buy("ESZ6", 1, price=6000.0)
    assert [(p["orders"], p["orders_refused"]) for k, p in audit_log
            if k == "platform_status"] == [("CONNECTION_LOST", True), ("CONNECTED", False)]


def test_an_older_status_resent_after_a_rehello_does_not_overwrite(engine, shim, strategy):
    _hello(engine, shim)
    shim.send(_status(ConnectionState.CONNECTED, 20))
    # A resend of an older frame (a lost connection reported before the hello's status).
    shim.send(_status(ConnectionState.CONNECTION_LOST, 19))
    pump(engine, shim, timeout=0.3)
    (session,) = engine.sessions.values()
    assert engine.platform_link.status(session)["orders"] == "CONNECTED"
    assert strategy.ctx.buy("ESZ6", 1, price=6000.0)


def test_a_change_of_the_accounts_state_is_told_once(engine, shim):
    _hello(engine, shim)
    engine.set_trading_state(TradingState.HALTED, "Sim101", source="a test")
    got = pump(engine, shim, until=lambda r: of(r, RecordType.TRADING_STATE))
    (told,) = of(got, RecordType.TRADING_STATE)
    assert (int(told["state"]), told["reason"]) == (TradingState.HALTED, b"HALTED by a test")
    # Another account's change does not concern this shim; its own unchanged state is
    # not told again.
    engine.set_trading_state(TradingState.HALTED, "Other", source="a test")
    assert not of(pump(engine, shim, timeout=0.3), RecordType.TRADING_STATE)
    engine.set_trading_state(TradingState.ACTIVE, "Sim101", source="a person")
    got = pump(engine, shim, until=lambda r: of(r, RecordType.TRADING_STATE))
    assert [(int(r["state"]), r["reason"]) for r in of(got, RecordType.TRADING_STATE)] == [
        (0, b"")]
