"""The trade copier: what the leader account does (by hand, or another tool: external
orders to the engine) becomes follower orders, each through that follower's own risk
gate (docs/copier.md).

- ``copy_fills``: each change of the leader's position (its fills, as the platform's
  Position record states them) brings every follower to its target, the leader's
  position through its sizing: the order is target - (position + working), so a fill
  seen twice (a resend, a snapshot) or a copy already made (before a restart) is never
  copied again (copier_sync.py).
- ``mirror_orders``: the leader's working orders are placed, replaced and canceled at
  every follower; fills follow by themselves (copier_mirror.py). A leader position back
  to flat flattens the followers in that instrument in both modes.

No follower waits for another: a submit is a non-blocking send, and a refusal (its gate,
its link) is audited, counted in ``copier status`` and left to the sync that runs when
the follower's link is confirmed again, on a timer and on demand. Every follower order
has a ``copier_order`` audit record naming the leader's order and fill: the link, in the
state store, that ``tickbridge audit show`` follows both ways.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tickbridge.config.copier import CopierConfig
from tickbridge.engine.bus import ExternalFill
from tickbridge.engine.copier_mirror import Mirror, leader_key
from tickbridge.engine.copier_sizing import Mapped, follower_symbol
from tickbridge.engine.copier_state import Follower
from tickbridge.engine.copier_sync import CopierSync
from tickbridge.engine.reconciliation import ExternalHooks
from tickbridge.protocol import OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from tickbridge.engine.orders import OrderRouter
    from tickbridge.engine.session import ShimSession

log = logging.getLogger("tickbridge.copier")

STRATEGY = "copier"  # the owner name of every follower order in the order book


def _text(value: bytes) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", "replace")


class Copier:
    def __init__(self, config: CopierConfig, *, router: OrderRouter,
                 audit: Callable[..., None], trading_state: Callable[[str], Any],
                 halt: Callable[[str, str], None],
                 market: Callable[[int], dict[str, float]],
                 request_snapshot: Callable[[ShimSession], None],
                 store_path: Path | None = None) -> None:
        self.config = config
        self.router = router
        self.audit = audit
        self._trading_state = trading_state
        self.halt = halt  # (account, why): that follower's trading state to halted
        self.market = market  # a MarketCore slot's state (last trade, quotes)
        self.leader = config.leader.account
        self.followers = {f.account: Follower(f) for f in config.followers}
        # The leader's position per symbol as its platform last stated it.
        self.leader_positions: dict[str, int] = {}
        # The leader fill (and order) each symbol's last position change came from.
        self._cause: dict[str, tuple[str, str]] = {}
        # Links whose platform has settled since their hello: a second snapshot compared
        # after the first. Frames a shim resends after a reconnect (unacknowledged before
        # an engine restart: an order of the dead engine, an old position) can arrive
        # after the first snapshot; they are in before the second one's answer.
        self._request_snapshot = request_snapshot
        self._settling: set[tuple[bytes, int]] = set()
        self._settled: set[tuple[bytes, int]] = set()
        # The leader's orders reported before its link settled (its snapshots): mirrored
        # once it has (an order placed while the engine was down is not missed).
        self._unsettled_orders: dict[str, Any] = {}
        self.mirror = Mirror(self)
        self.sync = CopierSync(self)
        self._last_sync = 0.0
        if store_path is not None:
            self.mirror.load(store_path)

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

    def session(self, account: str) -> ShimSession | None:
        """The session that holds ``account`` now (None: none has said hello)."""
        return self.router.accounts.session(account)

    def settled(self, session: ShimSession) -> bool:
        return session.confirmed and (session.identity, session.peer_session_id) in self._settled

    def leader_ready(self) -> bool:
        session = self.session(self.leader)
        return session is not None and self.settled(session) and not session.lost

    # -- what the platforms report ----------------------------------------------------
    def on_external_fill(self, event: ExternalFill) -> None:
        session, rec = event.session, event.record
        if session.account != self.leader:
            return
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is not None:
            self._cause[instrument.symbol] = (leader_key(rec), _text(rec["execution_id"]))

    def cause(self, symbol: str) -> tuple[str, str]:
        """The leader order and fill the last change of its ``symbol`` position came from."""
        return self._cause.get(symbol, ("", ""))

    def on_position(self, session: ShimSession, symbol: str, quantity: int) -> None:
        if session.account != self.leader:
            return
        before = self.leader_positions.get(symbol)
        self.leader_positions[symbol] = quantity
        if before is None or before == quantity or not self.settled(session):
            return  # first sight, unchanged, or before the link settled: the sync
        if self.config.mode == "copy_fills" or quantity == 0:
            order, fill = self.cause(symbol)
            self.sync.run(symbol=symbol, purpose="copy" if quantity else "flatten",
                          policy="resync", leader_order=order, leader_fill=fill)

    def on_external_order(self, session: ShimSession, rec: Any) -> None:
        if session.account != self.leader or self.config.mode != "mirror_orders":
            return
        if self.settled(session):
            self.mirror.on_leader_order(session, rec)
        else:
            self._unsettled_orders[leader_key(rec)] = rec.copy()  # a view of the frame

    def on_confirmed(self, session: ShimSession) -> None:
        """A link's positions were compared with the platform's (a connect, a reconnect,
        an engine restart), and again once settled: the leader's brings every follower to
        target, a follower's that follower."""
        if session.account != self.leader and session.account not in self.followers:
            return
        key = (session.identity, session.peer_session_id)
        if key not in self._settled:
            if key not in self._settling:
                self._settling.add(key)
                self._request_snapshot(session)  # the settling snapshot
                return
            self._settling.discard(key)
            self._settled.add(key)
        if session.account == self.leader:
            held, self._unsettled_orders = self._unsettled_orders, {}
            for rec in held.values():
                self.mirror.on_leader_order(session, rec, adopt=True)
            for follower in self.followers.values():
                self.mirror.catch_up(follower)
            self.sync.run(policy=self.config.policy, source="leader confirmed")
        elif session.account in self.followers and self.leader_ready():
            self.mirror.catch_up(self.followers[session.account])
            self.sync.run(account=session.account, policy=self.config.policy,
                          source="follower confirmed")

    def tick(self, now: float) -> None:
        interval = self.config.sync_interval_s
        if interval and now - self._last_sync >= interval:
            self._last_sync = now
            if self.leader_ready():
                self.sync.run(policy=self.config.policy, source="timer")

    # -- follower orders ------------------------------------------------------------------
    def is_mirror(self, coid: int) -> bool:
        return coid in self.mirror.coids

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
        if purpose != "mirror":
            self.sync.sent(follower.account, result)
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

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        leader = self.session(self.leader)
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
                "orders": follower.orders, "compiled": follower.compiled,
                "refusals": follower.refusals,
                "last_refusal": follower.last_refusal, "unmapped": follower.unmapped,
            })
        return {"mode": self.config.mode, "policy": self.config.policy,
                "leader": {"account": self.leader, "platform": _platform(leader),
                           "connected": _connected(leader),
                           "positions": dict(sorted(self.leader_positions.items()))},
                "mirrored": {key: order.followers for key, order in self.mirror.orders.items()},
                "followers": followers}


def build_copier(config: Any, *, router: OrderRouter, audit: Callable[..., None],
                 trading: Any, store: Any, market: Callable[[int], dict[str, float]],
                 request_snapshot: Callable[[ShimSession], None]) -> Copier | None:
    """The engine's copier when the config has a ``[copier]`` section."""
    if config is None or config.copier is None:
        return None
    return Copier(config.copier, router=router, audit=audit, trading_state=trading.state,
                  halt=trading.halt, market=market, request_snapshot=request_snapshot,
                  store_path=store.path if store is not None else None)


def _platform(session: ShimSession | None) -> str:
    if session is None or session.platform is None:
        return "-"
    return session.platform.name.lower()


def _connected(session: ShimSession | None) -> bool:
    return session is not None and session.accepted and not session.lost
