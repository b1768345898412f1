"""The copier's comparison and policies against stand-in engine parts: what each policy
does with a follower off target, and the terms of the orders it sends."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from tickbridge.config.copier import CopierConfig
from tickbridge.engine.copier_sizing import follower_symbol
from tickbridge.engine.copier_state import Follower
from tickbridge.engine.copier_sync import CopierSync
from tickbridge.protocol import OrderType, Side


class Parts:
    """The copier as CopierSync sees it, with one confirmed follower session."""

    def __init__(self, **config: Any) -> None:
        self.config = CopierConfig.model_validate({
            "leader": {"account": "L1"}, "sync_interval_s": 0,
            "followers": [{"account": "F1", "sizing": {"kind": "ratio", "ratio": 0.5,
                                                       "max": 10}}], **config})
        self.leader = "L1"
        self.followers = {f.account: Follower(f) for f in self.config.followers}
        self.leader_positions = {"ESZ6": 3}
        instrument = SimpleNamespace(symbol="ESZ6", slot=7, tick_size=0.25)
        self.session_f1 = SimpleNamespace(lost=False, platform_positions={"ESZ6": 0})
        self.router = SimpleNamespace(
            book=SimpleNamespace(orders=lambda: [], order=None, __contains__=None),
            accounts=SimpleNamespace(route=lambda account, symbol: (self.session_f1,
                                                                   instrument)))
        self.audits: list[tuple[str, dict]] = []
        self.halts: list[tuple[str, str]] = []
        self.sent: list[tuple] = []

    def audit(self, kind: str, **payload: Any) -> None:
        self.audits.append((kind, payload))

    def halt(self, account: str, why: str) -> None:
        self.halts.append((account, why))

    def market(self, slot: int) -> dict[str, float]:
        assert slot == 7
        return {"last_price": 6000.0}

    def leader_ready(self) -> bool:
        return True

    def settled(self, session: Any) -> bool:
        return True

    def session(self, account: str) -> Any:
        return self.session_f1

    def map(self, follower: Follower, leader_symbol: str) -> Any:
        return follower_symbol(leader_symbol, follower.config, ["ESZ6"])

    def is_mirror(self, coid: int) -> bool:
        return False

    def refused(self, follower: Follower, reason: str, **detail: Any) -> None:
        raise AssertionError(reason)

    def submit(self, follower: Follower, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float, **detail: Any) -> int:
        self.sent.append((follower.account, symbol, side, quantity, order_type, price))
        return 1


def test_resync_sends_the_difference_as_a_market_order() -> None:
    parts = Parts()
    result = CopierSync(parts).run(policy="resync", source="test")
    # Leader 3 x 0.5 = 1.5 -> 2 (half away from zero); the follower holds 0.
    assert parts.sent == [("F1", "ESZ6", Side.BUY, 2, OrderType.MARKET, parts.sent[0][5])]
    assert math.isnan(parts.sent[0][5])
    (entry,) = result["followers"][0]["instruments"]
    assert (entry["target"], entry["actual"], entry["action"]) == (2, 0, "BUY 2 sent")
    assert parts.audits[0] == ("copier_off_target", {"account": "F1", "symbol": "ESZ6",
                                                     "target": 2, "actual": 0,
                                                     "policy": "resync", "source": "test"})


def test_a_marketable_limit_goes_through_the_last_trade_by_the_offset() -> None:
    parts = Parts(order_type="marketable_limit", limit_offset_ticks=4)
    parts.session_f1.platform_positions["ESZ6"] = 5  # above target: sell 3
    CopierSync(parts).run(policy="resync")
    assert parts.sent == [("F1", "ESZ6", Side.SELL, 3, OrderType.LIMIT, 5999.0)]


def test_alert_only_audits_and_halt_halts_that_follower() -> None:
    alert = Parts()
    result = CopierSync(alert).run(policy="alert")
    assert alert.sent == [] and alert.halts == []
    assert result["followers"][0]["instruments"][0]["action"] == "alerted"
    assert alert.audits[0][0] == "copier_off_target"
    halt = Parts()
    CopierSync(halt).run(policy="halt")
    assert halt.sent == [] and halt.halts == [("F1", "copier: ESZ6 off target (+2 to 2)")]


def test_on_target_does_nothing_and_says_so() -> None:
    parts = Parts()
    parts.session_f1.platform_positions["ESZ6"] = 2
    result = CopierSync(parts).run(policy="resync")
    assert parts.sent == [] and parts.audits == []
    assert result["followers"][0]["instruments"][0]["action"] == "on target"
