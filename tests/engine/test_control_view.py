"""The ``dashboard`` control request (engine/control_view.py) on an engine over the
in-memory transport: what it shows after orders, fills, refusals and a platform's
position report, who may read it, and how often a reader is audited."""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import pytest
import tomllib

from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.control_auth import Caller, Role
from tickbridge.engine.control_view import AUDIT_EVERY_S, ControlView
from tickbridge.engine.risk import RiskAdapter
from tickbridge.protocol import OrderStatus, RecordType, make_record

from .memory_transport import MemoryShim, MemoryTransport

OWNER = Caller("owner", Role.RISK)
WATCHER = Caller("watcher", Role.READ)


def _engine(audit: list[tuple[str, dict]], *, risk: bool) -> tuple[Engine, MemoryShim]:
    config = None
    adapter = None
    if risk:
        data = tomllib.loads(resources.files("tickbridge.config").joinpath("default.toml")
                             .read_text())
        data["strategies"] = []
        config = TickbridgeConfig.model_validate(data)
        adapter = RiskAdapter(config, clock="market")
    transport = MemoryTransport()
    engine = Engine(EngineSettings(), transport=transport, config=config, risk=adapter,
                    audit=lambda kind, **p: audit.append((kind, p)))
    engine.start()
    shim = MemoryShim(transport)
    shim.hello()
    engine.poll()
    (request,) = shim.received(RecordType.SNAPSHOT_REQUEST)
    shim.answer_snapshot(int(request["request_id"]))
    engine.poll()
    return engine, shim


@pytest.fixture
def audit() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def plain(audit):
    engine, shim = _engine(audit, risk=False)
    yield engine, shim
    engine.close()


@pytest.fixture
def gated(audit):
    engine, shim = _engine(audit, risk=True)
    yield engine, shim
    engine.close()


def _dashboard(engine: Engine, caller: Caller = WATCHER) -> dict[str, Any]:
    reply = engine.handle_control({"cmd": "dashboard", "token": "x"}, caller)
    assert reply["ok"], reply
    return reply


def _submit(engine: Engine, **fields: Any) -> dict[str, Any]:
    return engine.handle_control({"cmd": "submit", "token": "x", "source": "test",
                                  "symbol": "ESZ6", **fields}, OWNER)


def test_working_order_then_fill_show_as_order_then_position(plain):
    engine, shim = plain
    before = time.time_ns()
    reply = _submit(engine, side="BUY", quantity=2, order_type="LIMIT", price=6000.25)
    assert reply["ok"], reply
    coid = reply["client_order_id"]
    shim.send([make_record(RecordType.ORDER_UPDATE, instrument_id=1, client_order_id=coid,
                           status=int(OrderStatus.WORKING), quantity=2, filled_quantity=0,
                           price=6000.25, side=1, order_type=2, platform_order_id="P1")])
    engine.poll()
    (order,) = _dashboard(engine)["orders"]
    assert (order["client_order_id"], order["side"], order["status"], order["qty"],
            order["leaves"], order["price"]) == (f"TB{coid:016X}", "BUY", "WORKING", 2, 2,
                                                 6000.25)
    # The engine's wall clock, not the platform's (its records say time_ns=1 below).
    assert order["created_ns"] >= before
    shim.send([make_record(RecordType.FILL, instrument_id=1, client_order_id=coid,
                           price=6000.25, quantity=2, side=1, execution_id="E1", time_ns=1)])
    engine.poll()
    view = _dashboard(engine)
    assert view["orders"] == []
    (fill,) = view["fills"]
    assert (fill["qty"], fill["price"], fill["side"], fill["execution_id"]) == \
        (2, 6000.25, "BUY", "E1")
    assert fill["time_ns"] >= before  # booked by the engine's clock
    (position,) = view["positions"]
    assert (position["account"], position["symbol"], position["engine"],
            position["avg_price"]) == ("Sim101", "ESZ6", 2, 6000.25)
    assert view["now_ns"] >= before and view["trading_state"] == "ACTIVE"
    (link,) = view["links"]
    assert (link["account"], link["platform"], link["state"], link["mode"]) == \
        ("Sim101", "SIMULATOR", "CONFIRMED", "paper")


def test_a_refused_order_shows_its_reason(plain):
    engine, _ = plain
    engine.set_trading_state(engine.trading_state().HALTED, source="test")
    reply = _submit(engine, side="BUY", quantity=1, order_type="MARKET")
    assert not reply["ok"]
    (refusal,) = _dashboard(engine)["refusals"]
    assert (refusal["code"], refusal["text"], refusal["strategy"], refusal["symbol"]) == \
        ("TRADING_HALTED", reply["error"], "test", "ESZ6")
    assert _dashboard(engine)["risk"]["refusals_by_reason"] == {"TRADING_HALTED": 1}


def test_risk_use_against_the_limits_and_platform_drift(gated):
    engine, shim = gated
    # The platform reports a position the engine never traded: drift, highlighted.
    shim.send([make_record(RecordType.POSITION, instrument_id=1, quantity=3,
                           average_price=6000.0)])
    engine.poll()
    view = _dashboard(engine)
    (position,) = view["positions"]
    assert (position["engine"], position["platform"], position["drift"]) == (0, 3, True)
    (instrument,) = view["risk"]["instruments"]
    assert (instrument["symbol"], instrument["configured"], instrument["max_position"],
            instrument["max_order_qty"]) == ("ESZ6", "ES", 10, 5)
    (account,) = view["risk"]["accounts"]
    assert (account["account"], account["max_position"], account["daily_loss_limit"],
            account["max_orders"]["second"], account["trading_state"]) == \
        ("Sim101", 12, 2500.0, 5, "ACTIVE")
    assert account["orders"] == {"second": 0, "minute": 0, "hour": 0}
    assert "PAPER" in view["mode"] and view["live"] is False


def test_the_read_role_may_read_and_no_token_may_not(plain, audit):
    engine, _ = plain
    assert engine.handle_control({"cmd": "dashboard", "token": "x"}, WATCHER)["ok"]
    refused = engine.handle_control({"cmd": "dashboard"}, None)
    assert not refused["ok"] and "not authenticated" in refused["error"]
    assert audit[-1][0] == "control_refused"


def test_polling_is_audited_once_per_caller(plain, audit):
    engine, _ = plain
    for _ in range(5):
        _dashboard(engine, WATCHER)
    _dashboard(engine, OWNER)
    reads = [p["caller"] for kind, p in audit
             if kind == "control_request" and p["request"]["cmd"] == "dashboard"]
    assert reads == ["watcher", "owner"]


def test_a_reader_is_audited_again_after_the_interval():
    now = [100.0]
    view = ControlView(None, monotonic=lambda: now[0])
    assert view.audit_due("a") and not view.audit_due("a") and view.audit_due("b")
    now[0] += AUDIT_EVERY_S - 1
    assert not view.audit_due("a")
    now[0] += 1
    assert view.audit_due("a") and not view.audit_due("a")


def test_order_rates_count_each_window_and_forget_after_an_hour():
    from types import SimpleNamespace

    from tickbridge.engine.bus import TransitionApplied

    now = [0.0]
    book = SimpleNamespace(order=lambda coid: SimpleNamespace(
        account="A" if coid < 100 else "B"))
    view = ControlView(SimpleNamespace(router=SimpleNamespace(book=book)),
                       monotonic=lambda: now[0])
    for t, coid in ((0.0, 1), (3000.0, 2), (3599.5, 3), (3600.0, 4), (3600.0, 100)):
        now[0] = t
        view.on_transition(TransitionApplied(coid, "SUBMIT_SENT", "NEW_REQUESTED", 0))
    view.on_transition(TransitionApplied(5, "CANCEL_SENT", "WORKING", 0))  # not a send
    now[0] = 3600.2
    assert view._orders_sent("A", now[0]) == {"second": 2, "minute": 2, "hour": 3}
    assert view._orders_sent("B", now[0]) == {"second": 1, "minute": 1, "hour": 1}
    assert view._orders_sent("C", now[0]) == {"second": 0, "minute": 0, "hour": 0}
