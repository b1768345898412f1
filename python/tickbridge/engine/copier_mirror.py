"""mirror_orders: the leader's working orders placed, replaced and canceled at every
follower (docs/copier.md). The links survive a restart: they are the store's
``copier_order`` / ``copier_replace`` audit records, read back at start."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tickbridge.engine.copier_sizing import sized
from tickbridge.engine.copier_state import LeaderOrder
from tickbridge.protocol import OrderStatus, OrderType, Side

if TYPE_CHECKING:
    from tickbridge.engine.copier_state import CopierParts, Follower
    from tickbridge.engine.session import ShimSession

_OPEN = frozenset({OrderStatus.ACKNOWLEDGED, OrderStatus.WORKING,
                   OrderStatus.PARTIALLY_FILLED})
_ENDED = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})
_STATUSES = {int(s) for s in OrderStatus}


def leader_key(rec: Any) -> str:
    """A leader order's identity: the platform's order id (external orders carry no
    engine id), else its platform-made client order id."""
    return _text(rec["platform_order_id"]) or str(int(rec["client_order_id"]))


def _text(value: bytes) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", "replace")


def _nan_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def _same(a: float, b: float) -> bool:
    """Two prices equal (NaN: none, for an order type that has no such price)."""
    return (math.isnan(a) and math.isnan(b)) or a == b or \
        (math.isnan(b) and a == 0.0)


def working_price(rec: Any) -> float:
    """The price a replace moves: the limit, the stop of a stop order, none for market."""
    order_type = int(rec["order_type"])
    if order_type == int(OrderType.MARKET):
        return math.nan
    if order_type == int(OrderType.STOP):
        return float(rec["stop_price"])
    return float(rec["price"])


class Mirror:
    def __init__(self, copier: CopierParts) -> None:
        self._copier = copier
        self.orders: dict[str, LeaderOrder] = {}  # leader order key -> its mirrors
        self.coids: set[int] = set()  # follower orders that mirror a leader order
        self.working: dict[str, Any] = {}  # leader order key -> its last report, while open

    def on_leader_order(self, session: ShimSession, rec: Any, *, adopt: bool = False
                        ) -> None:
        """A leader order's report. ``adopt``: a report the engine may have mirrored
        before a restart (a snapshot's, held until the leader's link settled): a mirror
        whose link was lost is taken back, not placed twice (``_orphan``)."""
        if int(rec["status"]) not in _STATUSES:
            return
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is None:
            return
        key, status = leader_key(rec), OrderStatus(int(rec["status"]))
        quantity, price = int(rec["quantity"]), working_price(rec)
        known = self.orders.get(key)
        if status in _OPEN:
            self.working[key] = rec.copy()  # a view of the frame's buffer
        else:
            self.working.pop(key, None)
        active = [f for f in self._copier.followers.values() if f.config.enabled]
        if known is None and status in _OPEN:
            known = self.orders[key] = LeaderOrder(instrument.symbol, quantity, price)
            for follower in active:
                self._place(follower, known, key, rec, adopt=adopt)
        elif known is not None and status in _OPEN and \
                (quantity, price) != (known.quantity, known.price):
            known.quantity, known.price = quantity, price
            for follower in active:
                self._replace(follower, known, key)
        elif known is not None and status in _ENDED:
            del self.orders[key]
            for account, coid in known.followers.items():
                self._cancel(account, coid, key, status)

    def catch_up(self, follower: Follower) -> None:
        """Every leader order working now, mirrored at ``follower`` where its mirror is
        missing or ended (a follower back from a disconnection, or new to the engine
        after a restart: its mirrors were canceled with its link)."""
        book = self._copier.router.book
        for key, rec in list(self.working.items()):
            leader = self.orders.get(key)
            if leader is None or not follower.config.enabled:
                continue
            coid = leader.followers.get(follower.account)
            if coid is not None and coid in book and not book.order(coid).is_terminal:
                continue
            if not leader.symbol:  # restored from the store before its symbol was kept
                continue
            self._place(follower, leader, key, rec, adopt=True)

    def _place(self, follower: Follower, leader: LeaderOrder, key: str, rec: Any, *,
               adopt: bool = False) -> None:
        copier = self._copier
        mapped = copier.map(follower, leader.symbol)
        if mapped is None:
            return
        quantity = abs(sized(leader.quantity, follower.config, mapped.ratio))
        if quantity == 0:
            copier.audit("copier_skipped", account=follower.account, leader_order=key,
                         reason=f"{leader.quantity} sized to 0")
            return
        side = Side(int(rec["side"]))
        if follower.config.direction == "opposite":
            side = Side.SELL if side == Side.BUY else Side.BUY
        order_type = OrderType(int(rec["order_type"]))
        limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        price = float(rec["price"]) if limit else math.nan
        stop_price = float(rec["stop_price"]) if stop else math.nan
        orphan = self._orphan(follower, mapped.symbol, side, quantity, order_type, price,
                              stop_price) if adopt else None
        if orphan is not None:
            leader.followers[follower.account] = orphan
            self.coids.add(orphan)
            copier.audit("copier_order", client_order_id=orphan, account=follower.account,
                         leader=copier.leader, leader_order=key, purpose="mirror_adopted",
                         symbol=mapped.symbol, side=side.name, quantity=quantity,
                         leader_symbol=leader.symbol, leader_quantity=leader.quantity,
                         leader_price=_nan_none(leader.price))
            return
        coid = copier.submit(follower, mapped.symbol, side, quantity, order_type,
                             price, stop_price, purpose="mirror", leader_order=key,
                             leader_symbol=leader.symbol, leader_quantity=leader.quantity,
                             leader_price=_nan_none(leader.price))
        if coid is not None:
            leader.followers[follower.account] = coid
            self.coids.add(coid)

    def _orphan(self, follower: Follower, symbol: str, side: Side, quantity: int,
                order_type: OrderType, price: float, stop_price: float) -> int | None:
        """A working order of the engine at ``follower`` that no link names, with exactly
        the terms this mirror would have: a mirror placed before a crash whose link record
        was lost (links are audit records, written behind the order path), reported back
        by the follower's snapshot."""
        copier = self._copier
        for order in copier.router.book.orders():
            coid = int(order.client_order_id)
            if order.is_terminal or order.account != follower.account or \
                    order.instrument != symbol or coid in self.coids:
                continue
            if (int(order.side), int(order.qty), int(order.order_type)) == \
                    (int(side), quantity, int(order_type)) and \
                    _same(float(order.price), price) and \
                    _same(float(order.stop_price), stop_price):
                return coid
        return None

    def _replace(self, follower: Follower, leader: LeaderOrder, key: str) -> None:
        copier = self._copier
        coid = leader.followers.get(follower.account)
        mapped = copier.map(follower, leader.symbol)
        if coid is None or mapped is None:
            return
        quantity = abs(sized(leader.quantity, follower.config, mapped.ratio))
        error = copier.router.replace(coid, quantity, leader.price)
        copier.audit("copier_replace", client_order_id=coid, account=follower.account,
                     leader=copier.leader, leader_order=key, quantity=quantity,
                     leader_price=_nan_none(leader.price), leader_quantity=leader.quantity,
                     error=error)
        if error is not None:
            copier.refused(follower, error, leader_order=key)

    def _cancel(self, account: str, coid: int, key: str, why: OrderStatus) -> None:
        copier = self._copier
        book = copier.router.book
        if coid not in book or book.order(coid).is_terminal:
            return
        error = copier.router.cancel(coid)
        copier.audit("copier_cancel", client_order_id=coid, account=account,
                     leader=copier.leader, leader_order=key, leader_status=why.name,
                     error=error)

    def load(self, path: Path) -> None:
        """The mirrors recorded before a restart (a leader order seen again in a snapshot
        is then not placed twice)."""
        if not path.exists():
            return
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error:
            return
        try:
            rows = conn.execute(
                "SELECT kind, client_order_id, account, json_extract(payload, "
                "'$.leader_order'), json_extract(payload, '$.leader_quantity'), "
                "json_extract(payload, '$.leader_price'), json_extract(payload, "
                "'$.leader_symbol') FROM audit_log WHERE kind IN "
                "('copier_order', 'copier_replace') AND json_extract(payload, "
                "'$.purpose') IS NOT 'copy' AND json_extract(payload, '$.leader_quantity') "
                "IS NOT NULL ORDER BY id").fetchall()
        except sqlite3.Error:
            rows = []  # a store from before the copier: nothing to restore
        finally:
            conn.close()
        for kind, coid, account, key, quantity, price, symbol in rows:
            if account not in self._copier.followers or coid is None or key is None:
                continue
            terms = int(quantity or 0), float(price) if price is not None else math.nan
            if kind == "copier_order":
                leader = self.orders.setdefault(key, LeaderOrder(str(symbol or ""), *terms))
                leader.followers[account] = int(coid)
                self.coids.add(int(coid))
            elif key in self.orders:
                self.orders[key].quantity, self.orders[key].price = terms
