"""The trade copier: what the leader account does (by hand, or another tool: external
orders to the engine) becomes follower orders, each through that follower's own risk
gate (docs/copier.md).

- ``copy_fills``: each change of the leader's position (its fills, as the platform's
  Position record states them) brings every follower to its target, the leader's
  position through its sizing: the order is target - (position + working), so a fill
  seen twice (a resend, a snapshot) or a copy already made (before a restart) is never
  copied again.
- ``mirror_orders``: the leader's working orders are placed, replaced and canceled at
  every follower; fills follow by themselves. A leader position back to flat flattens
  the followers in that instrument in both modes.

No follower waits for another: a submit is a non-blocking send, and a refusal (its gate,
its link) is audited, counted in ``copier status`` and left to the sync (copier_sync.py)
that runs when the follower's link is confirmed again, on a timer and on demand.
The leader->follower links are audit records in the state store (``copier_order``),
read back at start: they survive a restart, and ``tickbridge audit show`` follows them.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tickbridge.config.copier import CopierConfig, FollowerConfig
from tickbridge.engine.bus import ExternalFill
from tickbridge.engine.copier_sizing import Mapped, follower_symbol, sized
from tickbridge.engine.copier_sync import CopierSync
from tickbridge.engine.reconciliation import ExternalHooks
from tickbridge.protocol import OrderStatus, OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from tickbridge.engine.orders import OrderRouter
    from tickbridge.engine.session import ShimSession

log = logging.getLogger("tickbridge.copier")

STRATEGY = "copier"  # the owner name of every follower order in the order book
_OPEN = frozenset({OrderStatus.ACKNOWLEDGED, OrderStatus.WORKING,
                   OrderStatus.PARTIALLY_FILLED})
_ENDED = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})
_STATUSES = {int(s) for s in OrderStatus}


def _text(value: bytes) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", "replace")


@dataclass
class Follower:
    config: FollowerConfig
    orders: int = 0
    refusals: int = 0
    last_refusal: str = ""
    # Each instrument's last comparison: symbol -> (target, position + working).
    compared: dict[str, tuple[int, int]] = field(default_factory=dict)
    unmapped: str = ""  # why a leader instrument has no follower instrument

    @property
    def account(self) -> str:
        return self.config.account


@dataclass
class LeaderOrder:
    """A leader order being mirrored: its last terms, and each follower's order."""

    symbol: str
    quantity: int
    price: float
    followers: dict[str, int] = field(default_factory=dict)  # account -> client order id


class Copier:
    def __init__(self, config: CopierConfig, *, router: OrderRouter,
                 audit: Callable[..., None], trading_state: Callable[[str], Any],
                 halt: Callable[[str, str], None], store_path: Path | None = None) -> None:
        self.config = config
        self.router = router
        self.audit = audit
        self._trading_state = trading_state
        self.halt = halt  # (account, why): that follower's trading state to halted
        self.leader = config.leader.account
        self.followers = {f.account: Follower(f) for f in config.followers}
        # The leader's position per symbol as its platform last stated it.
        self.leader_positions: dict[str, int] = {}
        # The leader fill (and order) each symbol's last position change came from.
        self._cause: dict[str, tuple[str, str]] = {}
        self.mirrored: dict[str, LeaderOrder] = {}  # leader order key -> mirror
        self._mirror_coids: set[int] = set()  # follower orders that mirror leader orders
        self.sync = CopierSync(self)
        self._last_sync = 0.0
        if store_path is not None:
            self._load_links(store_path)

    # -- wiring ----------------------------------------------------------------------
    def hooks(self) -> ExternalHooks:
        accounts = {self.leader, *self.followers}
        return ExternalHooks(owned=accounts.__contains__,
                             order=self.guarded(self.on_external_order),
                             position=self.guarded(self.on_position))

    def guarded(self, handler: Callable[..., None]) -> Callable[..., None]:
        """A copier fault is logged and audited; it never takes the engine down (the
        sync brings the followers back once the fault is fixed)."""
        def call(*args: Any) -> None:
            try:
                handler(*args)
            except Exception as e:
                log.exception("copier: %s failed", handler.__name__)
                self.audit("copier_error", handler=handler.__name__, error=repr(e))
        return call

    def leader_session(self) -> ShimSession | None:
        return self.router.accounts.session(self.leader)

    def session(self, account: str) -> ShimSession | None:
        return self.router.accounts.session(account)

    # -- what the platforms report ----------------------------------------------------
    def on_external_fill(self, event: ExternalFill) -> None:
        session, rec = event.session, event.record
        if session.account != self.leader:
            return
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is not None:
            self._cause[instrument.symbol] = (_leader_key(rec), _text(rec["execution_id"]))

    def on_position(self, session: ShimSession, symbol: str, quantity: int) -> None:
        if session.account != self.leader:
            return
        before = self.leader_positions.get(symbol)
        self.leader_positions[symbol] = quantity
        if before is None or before == quantity or not session.confirmed:
            return  # first sight, unchanged, or before the link is confirmed: the sync
        if self.config.mode == "copy_fills" or quantity == 0:
            order, fill = self._cause.get(symbol, ("", ""))
            self.sync.run(symbol=symbol, purpose="copy" if quantity else "flatten",
                          policy="resync", leader_order=order, leader_fill=fill)

    def on_external_order(self, session: ShimSession, rec: Any) -> None:
        if session.account != self.leader or self.config.mode != "mirror_orders":
            return
        if int(rec["status"]) not in _STATUSES or not session.confirmed:
            return
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is None:
            return
        key, status = _leader_key(rec), OrderStatus(int(rec["status"]))
        quantity, price = int(rec["quantity"]), _price(rec)
        known = self.mirrored.get(key)
        if known is None and status in _OPEN:
            known = self.mirrored[key] = LeaderOrder(instrument.symbol, quantity, price)
            for follower in self._active():
                self._place_mirror(follower, known, key, rec)
        elif known is not None and status in _OPEN and \
                (quantity, price) != (known.quantity, known.price):
            known.quantity, known.price = quantity, price
            for follower in self._active():
                self._replace_mirror(follower, known, key)
        elif known is not None and status in _ENDED:
            del self.mirrored[key]
            for account, coid in known.followers.items():
                self._cancel_mirror(account, coid, key, status)

    def on_confirmed(self, session: ShimSession) -> None:
        """A link's positions were compared with the platform's (a connect, a reconnect,
        an engine restart): the leader's brings every follower to target, a follower's
        that follower."""
        if session.account == self.leader:
            self.sync.run(policy=self.config.policy, source="leader confirmed")
        elif session.account in self.followers and self.leader_ready():
            self.sync.run(account=session.account, policy=self.config.policy,
                          source="follower confirmed")

    def tick(self, now: float) -> None:
        interval = self.config.sync_interval_s
        if interval and now - self._last_sync >= interval:
            self._last_sync = now
            if self.leader_ready():
                self.sync.run(policy=self.config.policy, source="timer")

    def leader_ready(self) -> bool:
        session = self.leader_session()
        return session is not None and session.confirmed and not session.lost

    # -- mirrored orders ----------------------------------------------------------------
    def _active(self) -> list[Follower]:
        return [f for f in self.followers.values() if f.config.enabled]

    def _place_mirror(self, follower: Follower, leader: LeaderOrder, key: str,
                      rec: Any) -> None:
        mapped = self.map(follower, leader.symbol)
        if mapped is None:
            return
        quantity = abs(sized(leader.quantity, follower.config, mapped.ratio))
        if quantity == 0:
            self.audit("copier_skipped", account=follower.account, leader_order=key,
                        reason=f"{leader.quantity} sized to 0")
            return
        side = Side(int(rec["side"]))
        if follower.config.direction == "opposite":
            side = Side.SELL if side == Side.BUY else Side.BUY
        order_type = OrderType(int(rec["order_type"]))
        limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        coid = self.submit(follower, mapped.symbol, side, quantity, order_type,
                           float(rec["price"]) if limit else math.nan,
                           float(rec["stop_price"]) if stop else math.nan, purpose="mirror",
                           leader_order=key, leader_quantity=leader.quantity,
                           leader_price=None if math.isnan(leader.price) else leader.price)
        if coid is not None:
            leader.followers[follower.account] = coid
            self._mirror_coids.add(coid)

    def _replace_mirror(self, follower: Follower, leader: LeaderOrder, key: str) -> None:
        coid = leader.followers.get(follower.account)
        mapped = self.map(follower, leader.symbol)
        if coid is None or mapped is None:
            return
        quantity = abs(sized(leader.quantity, follower.config, mapped.ratio))
        error = self.router.replace(coid, quantity, leader.price)
        self.audit("copier_replace", client_order_id=coid, account=follower.account,
                    leader=self.leader, leader_order=key, quantity=quantity,
                    leader_price=None if math.isnan(leader.price) else leader.price,
                    leader_quantity=leader.quantity, error=error)
        if error is not None:
            self.refused(follower, error, leader_order=key)

    def _cancel_mirror(self, account: str, coid: int, key: str, why: OrderStatus) -> None:
        if coid not in self.router.book or self.router.book.order(coid).is_terminal:
            return
        error = self.router.cancel(coid)
        self.audit("copier_cancel", client_order_id=coid, account=account,
                    leader=self.leader, leader_order=key, leader_status=why.name, error=error)

    def is_mirror(self, coid: int) -> bool:
        return coid in self._mirror_coids

    # -- follower orders ------------------------------------------------------------------
    def map(self, follower: Follower, leader_symbol: str) -> Mapped | None:
        mapped = follower_symbol(leader_symbol, follower.config,
                                 self.router.accounts.symbols(follower.account))
        if isinstance(mapped, str):
            if follower.unmapped != mapped:
                follower.unmapped = mapped
                self.audit("copier_unmapped", account=follower.account, text=mapped)
            return None
        follower.unmapped = ""
        return mapped

    def submit(self, follower: Follower, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float, *, purpose: str,
               leader_order: str = "", leader_fill: str = "", **detail: Any) -> int | None:
        """One follower order through its own gate; refused: audited and counted."""
        result = self.router.submit(
            strategy=STRATEGY, symbol=symbol, side=side, quantity=quantity,
            order_type=order_type, price=price, stop_price=stop_price, tif=TimeInForce.DAY,
            account=follower.account)
        if isinstance(result, str):
            self.refused(follower, result, leader_order=leader_order,
                          leader_fill=leader_fill, symbol=symbol, side=side.name,
                          quantity=quantity)
            return None
        follower.orders += 1
        # The link, both ways: this record carries the follower's order id (audit show
        # --order) and the leader's order and fill (audit show --leader).
        self.audit("copier_order", client_order_id=result, account=follower.account,
                    leader=self.leader, leader_order=leader_order or None,
                    leader_fill=leader_fill or None, purpose=purpose, symbol=symbol,
                    side=side.name, quantity=quantity, **detail)
        return result

    def refused(self, follower: Follower, reason: str, **detail: Any) -> None:
        follower.refusals += 1
        follower.last_refusal = reason
        log.warning("copier: %s refused: %s", follower.account, reason)
        self.audit("copier_refused", account=follower.account, leader=self.leader,
                    reason=reason, **{k: v for k, v in detail.items() if v})

    # -- restart -----------------------------------------------------------------------
    def _load_links(self, path: Path) -> None:
        """The mirrors still open before a restart, from the store's copier records (a
        leader order seen again in a snapshot is then not placed twice)."""
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
                "json_extract(payload, '$.leader_price'), json_extract(payload, '$.symbol') "
                "FROM audit_log WHERE kind IN ('copier_order', 'copier_replace') "
                "AND json_extract(payload, '$.leader_order') IS NOT NULL ORDER BY id"
            ).fetchall()
        except sqlite3.Error:
            rows = []  # a store from before the copier: nothing to restore
        finally:
            conn.close()
        for kind, coid, account, key, quantity, price, symbol in rows:
            if account not in self.followers or coid is None:
                continue
            if kind == "copier_order" and symbol is not None:
                leader = self.mirrored.setdefault(key, LeaderOrder(
                    "", int(quantity or 0), float(price) if price is not None else math.nan))
                leader.followers[account] = int(coid)
                self._mirror_coids.add(int(coid))
            elif key in self.mirrored:
                self.mirrored[key].quantity = int(quantity or 0)
                self.mirrored[key].price = float(price) if price is not None else math.nan

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        leader = self.leader_session()
        followers = []
        for follower in self.followers.values():
            session = self.session(follower.account)
            followers.append({
                "account": follower.account, "enabled": follower.config.enabled,
                "platform": _platform(session), "connected": _connected(session),
                "trading_state": self._trading_state(follower.account).name,
                "positions": {s: {"target": t, "actual": a}
                              for s, (t, a) in sorted(follower.compared.items())},
                "on_target": all(t == a for t, a in follower.compared.values()),
                "orders": follower.orders, "refusals": follower.refusals,
                "last_refusal": follower.last_refusal, "unmapped": follower.unmapped,
            })
        return {"mode": self.config.mode, "policy": self.config.policy,
                "leader": {"account": self.leader, "platform": _platform(leader),
                           "connected": _connected(leader),
                           "positions": dict(sorted(self.leader_positions.items()))},
                "followers": followers}


def build_copier(config: Any, *, router: OrderRouter, audit: Callable[..., None],
                 trading: Any, store: Any) -> Copier | None:
    """The engine's copier when the config has a ``[copier]`` section."""
    if config is None or config.copier is None:
        return None
    return Copier(config.copier, router=router, audit=audit, trading_state=trading.state,
                  halt=trading.halt, store_path=store.path if store is not None else None)


def _leader_key(rec: Any) -> str:
    """A leader order's identity: the platform's order id (external orders carry no
    engine id), else its platform-made client order id."""
    return _text(rec["platform_order_id"]) or str(int(rec["client_order_id"]))


def _price(rec: Any) -> float:
    order_type = int(rec["order_type"])
    if order_type == int(OrderType.MARKET):
        return math.nan
    if order_type == int(OrderType.STOP):
        return float(rec["stop_price"])
    return float(rec["price"])


def _platform(session: ShimSession | None) -> str:
    if session is None or session.platform is None:
        return "-"
    return session.platform.name.lower()


def _connected(session: ShimSession | None) -> bool:
    return session is not None and session.accepted and not session.lost
