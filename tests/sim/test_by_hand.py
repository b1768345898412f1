"""The simulated platform as a trader uses it by hand (external orders for the engine),
and as either platform in its Hello."""

from __future__ import annotations

import pytest

from tickbridge.protocol import OrderStatus, OrderType, Platform, RecordType, Side
from tickbridge.sim.generator import ES
from tickbridge.sim.platform import HAND_ORDER_ID_BITS, PlatformConfig, SimulatedPlatform

HAND = HAND_ORDER_ID_BITS | 1


def kinds(records) -> list[str]:
    return [RecordType(int(r["type"][0])).name for r in records]


def test_hello_reports_the_platform_it_stands_for() -> None:
    for platform in (Platform.SIERRA_CHART, Platform.NINJATRADER):
        hello = SimulatedPlatform([ES], PlatformConfig(platform=platform)).hello(500)[0]
        assert int(hello["platform"][0]) == int(platform)


def test_an_order_by_hand_is_reported_without_an_engine_id_and_fills_partly() -> None:
    platform = SimulatedPlatform([ES], PlatformConfig(latency_ns=0))
    placed = platform.by_hand("submit", HAND, 1_000, instrument_id=1, side=Side.BUY,
                              quantity=3, order_type=OrderType.LIMIT, price=6000.0)
    assert set(kinds(placed)) == {"ORDER_UPDATE"}  # no CommandAck: no engine command
    # Id 0 on the wire, as the shims report an order the engine did not make (a
    # platform-made id would pass for a flatten's closing order: engine/flatten_orders.py).
    assert int(placed[0]["client_order_id"][0]) == 0
    assert placed[0]["platform_order_id"][0]  # the platform's own id names it
    moved = platform.by_hand("replace", HAND, 2_000, price=6001.0, quantity=4)
    assert kinds(moved)[-1] == "ORDER_UPDATE"
    platform.advance(3_000)
    filled = platform.by_hand("fill", HAND, 4_000, quantity=1)
    assert kinds(filled)[-3:] == ["FILL", "POSITION", "ORDER_UPDATE"]
    assert platform.positions[1].quantity == 1
    order = platform.matching.orders[HAND]
    assert (order.quantity, order.price, order.status) == \
        (4, 6001.0, OrderStatus.PARTIALLY_FILLED)
    canceled = platform.by_hand("cancel", HAND, 5_000)
    assert set(kinds(canceled)) == {"ORDER_UPDATE"}
    with pytest.raises(ValueError, match="unknown action"):
        platform.by_hand("buy", HAND, 6_000)
