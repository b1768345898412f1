"""Every drift class, found from the two views, and handled by its policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tickbridge.reconcile import (
    Action,
    DriftClass,
    EngineView,
    FillView,
    OrderView,
    PlatformSnapshot,
    PositionView,
    ReconcilePolicy,
    reconcile,
)

ACCOUNT = "Sim101"


def order(coid: int, state: str = "WORKING", quantity: int = 2, filled: int = 0,
          platform_order_id: str = "") -> OrderView:
    return OrderView(coid, "ESZ6", state, quantity, filled, "BUY", platform_order_id)


def engine(*orders: OrderView, position: int = 0, executions: tuple[str, ...] = ()
           ) -> EngineView:
    positions = {"ESZ6": PositionView("ESZ6", position, 6000.0)} if position else {}
    return EngineView(ACCOUNT, {o.client_order_id: o for o in orders}, positions,
                      frozenset(executions))


def platform(*orders: OrderView, position: int | None = None,
             fills: tuple[FillView, ...] | None = None) -> PlatformSnapshot:
    positions = None if position is None else (PositionView("ESZ6", position, 6000.0),)
    return PlatformSnapshot(ACCOUNT, tuple(orders), positions, fills)


def classes(result) -> list[DriftClass]:
    return [d.drift_class for d in result.drifts]


def test_agreement_is_clean() -> None:
    result = reconcile(engine(order(1), position=1, executions=("X",)),
                       platform(order(1), position=1,
                                fills=(FillView("X", 1, "ESZ6", "BUY", 1, 6000.0),)))
    assert result.clean and result.actions == [] and result.trading_state is None


def test_missing_locally_is_adopted() -> None:
    result = reconcile(engine(), platform(order(7)))
    assert classes(result) == [DriftClass.MISSING_LOCALLY]
    assert result.actions[0].action is Action.ADOPT


def test_missing_at_platform_is_marked_canceled() -> None:
    result = reconcile(engine(order(3), order(4, state="FILLED")), platform())
    assert classes(result) == [DriftClass.MISSING_AT_PLATFORM]  # the filled one is fine
    assert result.drifts[0].client_order_id == 3
    assert result.actions[0].action is Action.MARK_CANCELED


@pytest.mark.parametrize("mine,theirs", [
    ("WORKING", "CANCELED"),         # the cancel's update was lost
    ("CANCELED", "WORKING"),         # the engine closed an order that is still live
    ("CANCELED", "EXPIRED"),         # both finished, differently
])
def test_state_differs_is_adopted(mine: str, theirs: str) -> None:
    result = reconcile(engine(order(5, mine)), platform(order(5, theirs)))
    assert classes(result) == [DriftClass.STATE_DIFFERS]
    assert result.actions[0].action is Action.ADOPT
    assert result.drifts[0].engine["state"] == mine
    assert result.drifts[0].platform["state"] == theirs


@pytest.mark.parametrize("mine", ["PENDING_CANCEL", "SUBMITTED", "PENDING_REPLACE"])
@pytest.mark.parametrize("theirs", ["WORKING", "CANCELED"])
def test_in_flight_is_not_a_drift(mine: str, theirs: str) -> None:
    # DESIGN: leave a pending order pending and ask; do not guess its outcome. Its answer
    # (the CANCELED that confirms a cancel) is applied as any update.
    assert reconcile(engine(order(5, mine)), platform(order(5, theirs))).clean
    assert reconcile(engine(order(5, "PENDING_REPLACE", quantity=3)),
                     platform(order(5, "WORKING", quantity=2))).clean


def test_quantity_differs_alerts() -> None:
    result = reconcile(engine(order(6, quantity=2)), platform(order(6, quantity=3)))
    assert classes(result) == [DriftClass.QUANTITY_DIFFERS]
    assert result.actions[0].action is Action.ALERT
    # A filled quantity moves with fills: a missing one is a missing fill, never also a
    # quantity difference (nor a state difference while the fill is on its way).
    fills = (FillView("E2", 6, "ESZ6", "BUY", 1, 6000.0),)
    filled = reconcile(engine(order(6, "PARTIALLY_FILLED", filled=1), executions=("E1",)),
                       platform(order(6, "FILLED", filled=2), fills=fills))
    assert classes(filled) == [DriftClass.MISSING_FILL]


def test_position_differs_halts_and_is_compared_directly() -> None:
    result = reconcile(engine(position=2), platform(position=3))
    assert classes(result) == [DriftClass.POSITION_DIFFERS]
    assert result.actions[0].action is Action.HALT and result.trading_state is Action.HALT
    # A position the engine does not have at all, and one the platform does not report.
    assert classes(reconcile(engine(), platform(position=-1))) == [DriftClass.POSITION_DIFFERS]
    assert classes(reconcile(engine(position=1), platform(position=0))) == \
        [DriftClass.POSITION_DIFFERS]


def test_position_drift_stays_even_when_missing_fills_explain_it() -> None:
    fills = (FillView("NEW", 9, "ESZ6", "BUY", 1, 6001.0),)
    result = reconcile(engine(position=2), platform(position=3, fills=fills))
    assert classes(result) == [DriftClass.POSITION_DIFFERS, DriftClass.MISSING_FILL]
    assert "unbooked fills account for" in result.drifts[0].note
    assert result.trading_state is Action.HALT  # no synthetic fill makes it go away


def test_unknown_external_order_alerts() -> None:
    external = order(0, platform_order_id="SC-991")
    foreign = order(555)
    result = reconcile(engine(), platform(external, foreign), is_ours=lambda c: c < 500)
    assert classes(result) == [DriftClass.UNKNOWN_EXTERNAL_ORDER] * 2
    assert {a.action for a in result.actions} == {Action.ALERT}
    assert result.drifts[0].platform["platform_order_id"] == "SC-991"


def test_an_external_orders_fill_is_not_a_missing_fill() -> None:
    fills = (FillView("M1", 0, "ESZ6", "SELL", 1, 6000.0),
             FillView("M2", 1 << 63 | 7, "ESZ6", "SELL", 1, 6000.0))
    assert reconcile(engine(), PlatformSnapshot(ACCOUNT, None, None, fills),
                     is_ours=lambda c: c != 0 and not c >> 63).clean


def test_missing_at_platform_ignores_orders_sent_after_the_request() -> None:
    view = EngineView(ACCOUNT, {3: order(3), 4: order(4)}, {}, frozenset(), frozenset({4}))
    assert [d.client_order_id for d in reconcile(view, platform()).drifts] == [3]


def test_missing_fill_is_adopted_once() -> None:
    fills = (FillView("E1", 1, "ESZ6", "BUY", 1, 6000.0),
             FillView("E2", 1, "ESZ6", "BUY", 1, 6000.0, ts_ns=5),
             FillView("E2", 1, "ESZ6", "BUY", 1, 6000.0, ts_ns=5))
    result = reconcile(engine(order(1, "PARTIALLY_FILLED", filled=1), executions=("E1",),
                              position=1),
                       PlatformSnapshot(ACCOUNT, None, None, fills))
    assert classes(result) == [DriftClass.MISSING_FILL]
    assert result.drifts[0].platform["execution_id"] == "E2"
    assert result.actions[0].action is Action.ADOPT


def test_parts_not_requested_prove_nothing() -> None:
    snapshot = PlatformSnapshot(ACCOUNT, orders=None, positions=None, fills=None)
    assert reconcile(engine(order(1), position=4), snapshot).clean


def test_policy_is_configurable_and_validated() -> None:
    policy = ReconcilePolicy.model_validate({"position_differs": "flatten",
                                             "unknown_external_order": "halt"})
    result = reconcile(engine(position=1), platform(order(0, platform_order_id="M"),
                                                    position=0), policy)
    assert [a.action for a in result.actions] == [Action.HALT, Action.FLATTEN]
    assert result.trading_state is Action.FLATTEN
    with pytest.raises(ValidationError, match="missing_locally = mark_canceled"):
        ReconcilePolicy(missing_locally=Action.MARK_CANCELED)
    with pytest.raises(ValidationError):
        ReconcilePolicy.model_validate({"positon_differs": "halt"})  # typo: refused


def test_average_price_tolerance() -> None:
    mine = EngineView(ACCOUNT, {}, {"ESZ6": PositionView("ESZ6", 2, 6000.0)})
    theirs = PlatformSnapshot(ACCOUNT, None, (PositionView("ESZ6", 2, 6000.5),))
    assert reconcile(mine, theirs).clean  # default: quantities only
    strict = ReconcilePolicy(average_price_tolerance=0.01)
    assert classes(reconcile(mine, theirs, strict)) == [DriftClass.POSITION_DIFFERS]
