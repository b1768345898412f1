"""Every value of every [reconcile] option, end to end: a real engine with the policy in
its configuration, a scripted shim over real sockets making the drift in a snapshot, and
the engine's action, its audit record and its status checked."""

from __future__ import annotations

import math
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import tomllib

from tests.fake_shim import ScriptedShim, confirm, of, pump
from tickbridge.config import TickbridgeConfig
from tickbridge.config.loader import ConfigError, parse_config
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.control_auth import Caller, Role
from tickbridge.protocol import OrderStatus, OrderType, RecordType, Side, TimeInForce, make_record

S = OrderStatus
OURS_UNKNOWN = 0x0000_0001_0000_0999  # an engine-made id (any run's) the book never had
EXTERNAL = 1 << 63 | 77  # a platform-made id (the simulator's flatten orders)


class Setup:
    def __init__(self, engine: Engine, shim: ScriptedShim, audit: list) -> None:
        self.engine, self.shim, self.audit = engine, shim, audit

    def status(self) -> dict[str, Any]:
        return self.engine.handle_control({"cmd": "status"}, Caller("test", Role.READ))

    def account_state(self) -> str:
        return self.status()["accounts"]["Sim101"]

    def drifts(self) -> list[dict[str, Any]]:
        return [p for k, p in self.audit if k == "reconcile_drift"]

    def working(self, quantity: int = 1) -> int:
        """An engine order, submitted and acknowledged WORKING by the shim."""
        coid = self.engine.router.submit(
            strategy="manual", symbol="ESZ6", side=Side.BUY, quantity=quantity,
            order_type=OrderType.LIMIT, price=6000.0, stop_price=math.nan, tif=TimeInForce.DAY)
        assert isinstance(coid, int), coid
        got = pump(self.engine, self.shim, until=lambda r: of(r, RecordType.SUBMIT))
        (submit,) = of(got, RecordType.SUBMIT)
        self.shim.send([make_record(RecordType.COMMAND_ACK, request_id=int(submit["request_id"]),
                                    client_order_id=coid, command_type=int(RecordType.SUBMIT)),
                        update(coid, S.WORKING, quantity)])
        pump(self.engine, self.shim,
             until=lambda _: self.engine.router.book.order(coid).status.name == "WORKING")
        return coid

    def snapshot(self, *records: Any) -> list:
        """Asks for a snapshot and answers it with ``records``; returns what the shim
        received until the engine compared it."""
        (session,) = self.engine.sessions.values()
        session.snapshot_requested = 0.0  # not rate-limited: this test asks now
        self.engine.outbound.request_snapshot(session)
        got = pump(self.engine, self.shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST))
        (request,) = of(got, RecordType.SNAPSHOT_REQUEST)
        self.shim.answer_snapshot(int(request["request_id"]), list(records))
        # Taken when the engine acknowledges the frame (its heartbeat's ack_sequence).
        got += pump(self.engine, self.shim,
                    until=lambda _: self.shim.last_ack >= self.shim.sequence, timeout=5)
        assert self.shim.last_ack >= self.shim.sequence
        got += pump(self.engine, self.shim, timeout=0.2)  # what the actions sent
        return got

    def order(self, coid: int) -> Any:
        return self.engine.router.book.order(coid)


def update(coid: int, status: OrderStatus, quantity: int = 1, filled: int = 0,
           platform_order_id: str = "P1") -> Any:
    return make_record(RecordType.ORDER_UPDATE, instrument_id=1, client_order_id=coid,
                       status=int(status), quantity=quantity, filled_quantity=filled,
                       price=6000.0, side=1, order_type=2, time_in_force=1, time_ns=1,
                       platform_order_id=platform_order_id)


def fill(coid: int, execution_id: str, quantity: int = 1, price: float = 6000.0) -> Any:
    return make_record(RecordType.FILL, instrument_id=1, client_order_id=coid, side=1,
                       quantity=quantity, price=price, execution_id=execution_id, time_ns=2)


def position(quantity: int, average_price: float = 6000.0) -> Any:
    return make_record(RecordType.POSITION, instrument_id=1, quantity=quantity,
                       average_price=average_price)


def _config(policy: dict[str, Any]) -> TickbridgeConfig:
    data = tomllib.loads(resources.files("tickbridge.config").joinpath("default.toml")
                         .read_text())
    data["engine"]["kill_on_shim_lost"] = False  # the scripted shim sends no heartbeats
    data["reconcile"] = policy
    return TickbridgeConfig.model_validate(data)


@pytest.fixture
def setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    audit: list[tuple[str, dict]] = []
    settings = EngineSettings(endpoint="tcp://127.0.0.1:*", heartbeat_ms=100,
                              bar_interval_s=60.0, command_timeout_ms=2000)
    engine = Engine(settings, config=_config(request.param),
                    audit=lambda kind, **p: audit.append((kind, p)))
    engine.start()
    shim = ScriptedShim(engine.endpoint)
    try:
        shim.hello()
        confirm(engine, shim)
        yield Setup(engine, shim, audit)
    finally:
        shim.close()
        engine.close()


def _account_action(s: Setup, got: list, action: str, drift: str) -> None:
    """The account-wide part of ``action``: the state, the audit and what the shim got."""
    flattened = bool(of(got, RecordType.CANCEL_ALL)) and bool(of(got, RecordType.FLATTEN))
    kills = [p for k, p in s.audit if k == "kill"]
    assert s.account_state() == ("HALTED" if action in ("halt", "flatten") else "ACTIVE")
    assert flattened == (action == "flatten")
    assert [p["source"] for p in kills] == \
        ([f"reconciliation: {drift.replace('_', ' ')}"] if action == "flatten" else [])
    if action in ("halt", "flatten"):
        states = [p for k, p in s.audit if k == "trading_state"]
        assert states[0]["after"] == "HALTED" and states[0]["account"] == "Sim101"


def _the_drift(s: Setup, drift: str, action: str) -> dict[str, Any]:
    (record,) = [d for d in s.drifts() if d["drift"] == drift]
    assert record["action"] == action and record["account"] == "Sim101"
    return record


def _policy(option: str, values: list[str], **others: str) -> Any:
    return pytest.mark.parametrize("setup", [{option: v, **others} for v in values],
                                   indirect=True, ids=values)


@_policy("missing_locally", ["adopt", "alert", "halt", "flatten"])
def test_missing_locally(setup: Setup) -> None:
    action = setup.engine.config.reconcile.missing_locally.value
    got = setup.snapshot(update(OURS_UNKNOWN, S.WORKING, quantity=2))
    record = _the_drift(setup, "missing_locally", action)
    assert (record["client_order_id"], record["platform"]) == (OURS_UNKNOWN, "WORKING")
    adopted = OURS_UNKNOWN in setup.engine.router.book
    assert adopted == (action == "adopt")
    if adopted:
        assert (setup.order(OURS_UNKNOWN).status.name, int(setup.order(OURS_UNKNOWN).qty)) == \
            ("WORKING", 2)
        assert any(k == "order_adopted" for k, _ in setup.audit)
        assert [o["status"] for o in setup.status()["working_orders"]] == ["WORKING"]
    _account_action(setup, got, action, "missing_locally")


@_policy("missing_at_platform", ["mark_canceled", "alert", "halt", "flatten"])
def test_missing_at_platform(setup: Setup) -> None:
    action = setup.engine.config.reconcile.missing_at_platform.value
    coid = setup.working()
    got = setup.snapshot()  # the platform has no order at all
    record = _the_drift(setup, "missing_at_platform", action)
    assert (record["client_order_id"], record["engine"]) == (coid, "WORKING")
    assert setup.order(coid).status.name == ("CANCELED" if action == "mark_canceled"
                                             else "WORKING")
    (summary,) = [p for k, p in setup.audit if k == "reconciliation"][-1:]
    assert (summary["drifts"], summary["reported"], summary["actions"]) == (1, 1, [action])
    _account_action(setup, got, action, "missing_at_platform")


@_policy("state_differs", ["adopt", "alert", "mark_canceled", "halt", "flatten"])
def test_state_differs(setup: Setup) -> None:
    action = setup.engine.config.reconcile.state_differs.value
    coid = setup.working()
    got = setup.snapshot(update(coid, S.EXPIRED))  # its update never reached the engine
    record = _the_drift(setup, "state_differs", action)
    assert (record["client_order_id"], record["engine"], record["platform"]) == \
        (coid, "WORKING", "EXPIRED")
    expected = {"adopt": "EXPIRED", "mark_canceled": "CANCELED"}.get(action, "WORKING")
    assert setup.order(coid).status.name == expected
    _account_action(setup, got, action, "state_differs")


@_policy("quantity_differs", ["alert", "adopt", "halt", "flatten"])
def test_quantity_differs(setup: Setup) -> None:
    action = setup.engine.config.reconcile.quantity_differs.value
    coid = setup.working(quantity=1)
    got = setup.snapshot(update(coid, S.WORKING, quantity=3))  # modified at the platform
    record = _the_drift(setup, "quantity_differs", action)
    assert (record["client_order_id"], record["engine"], record["platform"]) == (coid, 1, 3)
    assert int(setup.order(coid).qty) == (3 if action == "adopt" else 1)
    assert setup.order(coid).status.name == "WORKING"
    _account_action(setup, got, action, "quantity_differs")


@_policy("position_differs", ["halt", "alert", "flatten"])
def test_position_differs(setup: Setup) -> None:
    action = setup.engine.config.reconcile.position_differs.value
    got = setup.snapshot(position(2))  # a manual trade the engine never heard of
    record = _the_drift(setup, "position_differs", action)
    assert (record["symbol"], record["engine"], record["platform"]) == ("ESZ6", 0, 2)
    assert setup.status()["positions"]["ESZ6"] == 0  # never explained away by fills
    _account_action(setup, got, action, "position_differs")
    # The same difference in the next snapshot is known: not reported or acted on again.
    setup.snapshot(position(2))
    assert len([d for d in setup.drifts() if d["drift"] == "position_differs"]) == 1
    # Once it cleared, the same difference coming back is reported again.
    setup.snapshot()
    setup.snapshot(position(2))
    assert len([d for d in setup.drifts() if d["drift"] == "position_differs"]) == 2


@_policy("unknown_external_order", ["alert", "halt", "flatten"])
def test_unknown_external_order(setup: Setup) -> None:
    action = setup.engine.config.reconcile.unknown_external_order.value
    got = setup.snapshot(update(EXTERNAL, S.WORKING, platform_order_id="M-1"),
                         update(0, S.WORKING, platform_order_id="M-2"))
    records = [d for d in setup.drifts() if d["drift"] == "unknown_external_order"]
    # Id 0: placed by hand or by another tool. A platform-made id is a flatten's closing
    # order, booked as the engine's (engine/flatten_orders.py), no drift.
    assert {(d["client_order_id"], d["platform_order_id"], d["action"]) for d in records} \
        == {(None, "M-2", action)}
    assert [p["client_order_id"] for k, p in setup.audit if k == "flatten_order"] == [EXTERNAL]
    assert EXTERNAL not in setup.engine.router.book
    assert setup.status()["working_orders"] == []
    _account_action(setup, got, action, "unknown_external_order")


@_policy("missing_fill", ["adopt", "alert", "halt", "flatten"], position_differs="alert")
def test_missing_fill(setup: Setup) -> None:
    action = setup.engine.config.reconcile.missing_fill.value
    coid = setup.working()
    got = setup.snapshot(update(coid, S.FILLED, filled=1), fill(coid, "EX-LOST"), position(1))
    record = _the_drift(setup, "missing_fill", action)
    assert (record["client_order_id"], record["execution_id"], record["platform"]) == \
        (coid, "EX-LOST", 1)
    booked = action == "adopt"
    assert setup.status()["positions"]["ESZ6"] == (1 if booked else 0)
    assert setup.order(coid).status.name == ("FILLED" if booked else "WORKING")
    assert [p["execution_id"] for k, p in setup.audit if k == "fill"] == \
        (["EX-LOST"] if booked else [])
    # Not booked: the position then differs too (reported by its own policy, alert here).
    assert [d["drift"] for d in setup.drifts() if d["drift"] == "position_differs"] == \
        ([] if booked else ["position_differs"])
    _account_action(setup, got, action, "missing_fill")


@pytest.mark.parametrize("setup", [{}, {"average_price_tolerance": 0.5}], indirect=True,
                         ids=["quantities_only", "tolerance_0.5"])
def test_average_price_tolerance(setup: Setup) -> None:
    tolerance = setup.engine.config.reconcile.average_price_tolerance
    coid = setup.working()
    setup.shim.send([update(coid, S.FILLED, filled=1), fill(coid, "EX-1", price=6000.0)])
    pump(setup.engine, setup.shim, until=lambda _: setup.order(coid).status.name == "FILLED")
    # Same quantity, an average price one point apart (platforms average differently).
    got = setup.snapshot(update(coid, S.FILLED, filled=1), fill(coid, "EX-1"),
                         position(1, average_price=6001.0))
    drifts = [d for d in setup.drifts() if d["drift"] == "position_differs"]
    if tolerance is None:
        assert drifts == []
        _account_action(setup, got, "alert", "position_differs")
    else:
        (record,) = drifts
        assert (record["engine"], record["platform"], record["action"]) == (1, 1, "halt")
        assert (record["detail"]["engine"]["average_price"],
                record["detail"]["platform"]["average_price"]) == (6000.0, 6001.0)
        _account_action(setup, got, "halt", "position_differs")


@pytest.mark.parametrize("option", ["position_differs", "unknown_external_order"])
def test_adopt_where_it_has_no_meaning_is_a_config_error_naming_the_option(option: str
                                                                            ) -> None:
    data = tomllib.loads(resources.files("tickbridge.config").joinpath("default.toml")
                         .read_text())
    data["reconcile"] = {option: "adopt"}
    with pytest.raises(ConfigError, match=f"{option} = adopt has no meaning"):
        parse_config(data, environ={})


@pytest.mark.parametrize("setup", [{}], indirect=True, ids=["defaults"])
def test_a_snapshot_past_its_bound_is_given_up_and_nothing_in_it_lost(setup: Setup) -> None:
    setup.engine.reconciler.max_records = 2  # a peer is bounded (200,000 by default)
    coid = setup.working()
    compared = len([k for k, _ in setup.audit if k == "reconciliation"])
    setup.snapshot(update(coid, S.EXPIRED), update(OURS_UNKNOWN, S.WORKING),
                   fill(OURS_UNKNOWN, "EX-9"), position(1))
    (too_large,) = [p for k, p in setup.audit if k == "snapshot_too_large"]
    assert too_large["max_records"] == 2
    assert len([k for k, _ in setup.audit if k == "reconciliation"]) == compared
    # Applied as live events: the update, the order of ours (adopted by the default
    # policy, as a one-order reconciliation) and its fill.
    assert setup.order(coid).status.name == "EXPIRED"
    assert setup.order(OURS_UNKNOWN).filled_qty == 1
    assert setup.status()["positions"]["ESZ6"] == 1


@_policy("missing_fill", ["halt"])
def test_a_booked_fill_in_a_snapshot_is_not_missing(setup: Setup) -> None:
    """The book keeps execution ids as 64-bit keys: compared as text, every fill a
    snapshot restated was reported missing_fill (and a halt policy halted on it)."""
    coid = setup.working()
    setup.shim.send([fill(coid, "EX-BOOKED"), update(coid, S.FILLED, filled=1)])
    pump(setup.engine, setup.shim,
         until=lambda _: setup.order(coid).status.name == "FILLED")
    setup.snapshot(update(coid, S.FILLED, filled=1), fill(coid, "EX-BOOKED"), position(1))
    assert [d["drift"] for d in setup.drifts()] == []
    assert setup.account_state() == "ACTIVE"
