"""mirror_orders after a crash that lost a mirror's link record (links are audit records,
written behind the order path): the follower's snapshot brings the order back into the
book, and the mirror takes it back instead of placing a second one."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import tickbridge.orders as ob
from tickbridge.config.copier import CopierConfig
from tickbridge.engine.copier_mirror import Mirror
from tickbridge.engine.copier_sizing import follower_symbol
from tickbridge.engine.copier_state import Follower
from tickbridge.protocol import OrderStatus, OrderType, RecordType, Side, make_record


class Parts:
    """The copier as Mirror sees it: one follower F1 at ratio 1, a real order book."""

    def __init__(self) -> None:
        self.config = CopierConfig.model_validate({
            "leader": {"account": "L1"}, "mode": "mirror_orders", "sync_interval_s": 0,
            "followers": [{"account": "F1", "sizing": {"kind": "ratio", "ratio": 1.0,
                                                                 "max": 10}}]})
        self.leader = "L1"
        self.followers = {f.account: Follower(f) for f in self.config.followers}
        self.book = ob.OrderBook(7)
        self.book.register_instrument("ESZ6", 50.0, 0.25)
        self.router = SimpleNamespace(book=self.book)
        self.audits: list[tuple[str, dict]] = []
        self.submitted: list[tuple] = []

    def audit(self, kind: str, **payload: Any) -> None:
        self.audits.append((kind, payload))

    def map(self, follower: Follower, leader_symbol: str) -> Any:
        return follower_symbol(leader_symbol, follower.config, ["ESZ6"])

    def submit(self, follower: Follower, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float, **detail: Any) -> int:
        order = self.book.new_order(follower.account, symbol, side, quantity, price)
        self.submitted.append((follower.account, side, quantity, price))
        return int(order.client_order_id)


SESSION = SimpleNamespace(instruments={1: SimpleNamespace(symbol="ESZ6")})


def leader_order(price: float = 5990.0, quantity: int = 2) -> Any:
    return make_record(RecordType.ORDER_UPDATE, instrument_id=1, client_order_id=0,
                       price=price, quantity=quantity, status=int(OrderStatus.WORKING),
                       side=int(Side.BUY), order_type=int(OrderType.LIMIT),
                       platform_order_id="P77")[0]


def test_a_mirror_whose_link_was_lost_is_taken_back_not_placed_twice() -> None:
    parts = Parts()
    # Before the crash: F1's mirror of P77 (BUY 2 @ 5990), its link record lost.
    before = int(parts.book.new_order("F1", "ESZ6", Side.BUY, 2, 5990.0).client_order_id)
    mirror = Mirror(parts)
    mirror.on_leader_order(SESSION, leader_order(), adopt=True)  # the leader's snapshot
    assert parts.submitted == []
    assert mirror.orders["P77"].followers == {"F1": before}
    assert before in mirror.coids
    (kind, link), = parts.audits
    assert (kind, link["purpose"], link["client_order_id"]) == (
        "copier_order", "mirror_adopted", before)


def test_an_order_with_other_terms_or_a_live_report_is_not_taken() -> None:
    parts = Parts()
    parts.book.new_order("F1", "ESZ6", Side.BUY, 2, 5989.75)  # another price: not it
    mirror = Mirror(parts)
    mirror.on_leader_order(SESSION, leader_order(), adopt=True)
    assert parts.submitted == [("F1", Side.BUY, 2, 5990.0)]
    # A leader order placed live (no restart between): no search, a new mirror.
    parts.book.new_order("F1", "ESZ6", Side.BUY, 1, 5980.0)
    rec = leader_order(price=5980.0, quantity=1)
    rec["platform_order_id"] = "P78"
    mirror.on_leader_order(SESSION, rec)
    assert parts.submitted[-1] == ("F1", Side.BUY, 1, 5980.0)
    assert not math.isnan(parts.submitted[-1][3])
