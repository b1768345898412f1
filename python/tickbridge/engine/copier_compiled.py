"""The copier's compiled path: in ``copy_fills``, the core sends each follower's copy as
it ingests the leader's Position record (cpp/include/tickbridge/engine/copy_orders.hpp),
before any Python runs. This module keeps the core's picture right and books what it sent.

- ``refresh()``, after every frame Python handles and every pass of the engine's loop:
  each (follower, leader instrument) rule's routing, gate ids and session window, and the
  follower's target for every leader position from -TABLE to TABLE, sized here by
  ``copier_sizing.sized`` (the core reads the table; the sizing is never written twice);
  then its state: ready, the leader position last sized, what the follower holds
  (``CopierSync.actual``: its platform position plus its working position orders).
- ``on_fired()``: a compiled copy is booked as an armed order's fire is (pending
  command, owner, transition, audit) and counted among the copier's own orders, before
  the frame's records are read: the Python copier, which runs on the same Position record
  right after, then finds the follower on target and sends nothing twice.
- ``after_frame()``: each copy's ``copier_order`` link is audited with the leader's fill
  of the same frame (read with the frame's records), then ``refresh()``.

What the core leaves unsent (a follower not ready or its link not settled, a leader
position beyond the table, two leader instruments sized into one follower instrument,
the follower's gate refusing, its session window passed) the Python copier does on the
same Position record, and says why.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tickbridge.engine.armed import SENT, gate_ids
from tickbridge.engine.bus import EventBus, TransitionApplied
from tickbridge.engine.copier_sizing import Mapped, follower_symbol, sized
from tickbridge.engine.session import PendingCommand
from tickbridge.protocol import RecordType, Side

if TYPE_CHECKING:
    from tickbridge.engine.copier import Copier
    from tickbridge.engine.copier_state import Follower
    from tickbridge.engine.session import ShimSession

TABLE = 500  # leader positions sized in the core: -TABLE..TABLE contracts
WINDOW_S = 1.0  # an open session window is looked up again this often


@dataclass(frozen=True)
class _Spec:
    """What add_copy takes, apart from the table: a change re-adds the rule."""

    leader_session: int
    leader_slot: int
    follower_slot: int
    session: int
    instrument_id: int
    account: str
    symbol: str
    limit_offset: float
    tick_size: float
    checked: bool
    risk_account: int
    risk_instrument: int
    open_from_ns: int
    open_until_ns: int
    market_clock: bool


@dataclass
class _Rule:
    id: int
    spec: _Spec
    follower: Follower
    leader_symbol: str
    ratio: float
    state: tuple[bool, int, int] = (False, 0, 0)
    looked_up: float = 0.0  # when its window was


@dataclass
class _Copied:
    """A compiled copy booked, its link to audit once the frame's records are read."""

    rule: _Rule
    client_order_id: int
    side: Side
    quantity: int
    leader_position: int
    target: int


def compiled_copies(copier: Copier | None, **parts: Any) -> CompiledCopies | None:
    """The engine's compiled copies: a copier in copy_fills (mirror_orders stays in
    Python)."""
    if copier is None or copier.config.mode != "copy_fills":
        return None
    return CompiledCopies(copier, **parts)


class CompiledCopies:
    def __init__(self, copier: Copier, *, core: Any, risk: Any, bus: EventBus,
                 audit: Callable[..., None],
                 session_by_slot: Callable[[int], ShimSession]) -> None:
        self._copier = copier
        self._core = core
        self._risk = risk
        self._bus = bus
        self._audit = audit
        self._session_by_slot = session_by_slot
        self._rules: dict[tuple[str, str], _Rule] = {}  # (follower, leader symbol)
        self._by_id: dict[int, _Rule] = {}
        self._tables: dict[tuple[str, float], list[int]] = {}
        self._copied: list[_Copied] = []
        self.sent = 0  # copies the core sent

    @property
    def enabled(self) -> bool:
        return self._copier.config.mode == "copy_fills"

    # -- the core's picture ------------------------------------------------------------
    def refresh(self) -> None:
        if not self.enabled:
            return
        copier = self._copier
        leader = copier.session(copier.leader)
        seen: set[tuple[str, str]] = set()
        if leader is not None:
            ready = copier.leader_ready()
            routes = copier.router.accounts
            leader_symbols = routes.symbols(copier.leader)
            for follower in copier.followers.values():
                if follower.config.enabled:
                    self._refresh_follower(follower, leader, leader_symbols, ready, seen)
        for key in self._rules.keys() - seen:
            self._remove(key)

    def _refresh_follower(self, follower: Follower, leader: ShimSession,
                          leader_symbols: list[str], ready: bool,
                          seen: set[tuple[str, str]]) -> None:
        copier = self._copier
        symbols = copier.router.accounts.symbols(follower.account)
        mapped = {s: follower_symbol(s, follower.config, symbols) for s in leader_symbols}
        into = Counter(m.symbol for m in mapped.values() if isinstance(m, Mapped))
        for leader_symbol, m in mapped.items():
            if isinstance(m, str) or into[m.symbol] > 1:
                continue  # unmapped, or summed with another leader instrument: Python's
            key = (follower.account, leader_symbol)
            rule = self._rule(key, follower, leader, leader_symbol, m)
            if rule is None:
                continue
            seen.add(key)
            position = copier.leader_positions.get(leader_symbol)
            held = copier.sync.actual(follower, m.symbol)
            state = (ready and position is not None and held is not None,
                     position or 0, held or 0)
            if state != rule.state:
                self._core.set_copy_state(rule.id, *state)
                rule.state = state

    def _rule(self, key: tuple[str, str], follower: Follower, leader: ShimSession,
              leader_symbol: str, mapped: Mapped) -> _Rule | None:
        copier = self._copier
        routes = copier.router.accounts
        leader_route = routes.route(copier.leader, leader_symbol)
        follower_route = routes.route(follower.account, mapped.symbol)
        if leader_route is None or follower_route is None:
            return None
        rule = self._rules.get(key)
        now = time.monotonic()
        # The window is looked up again once a second, and whenever the gate's clock is
        # outside it (closed, or found before the first trade on the market clock, with
        # the wall clock's day).
        if rule is not None and rule.ratio == mapped.ratio and now - rule.looked_up < WINDOW_S \
                and self._in_window(rule.spec) \
                and rule.spec.symbol == mapped.symbol \
                and rule.spec.session == follower_route[0].slot \
                and rule.spec.leader_session == leader.slot \
                and rule.spec.instrument_id == follower_route[1].instrument_id:
            return rule
        spec = self._spec(leader, leader_route[1].slot, follower, *follower_route)
        if rule is not None and rule.spec == spec and rule.ratio == mapped.ratio:
            rule.looked_up = now
            return rule
        if rule is not None:
            self._remove(key)
        table = self._table(follower, mapped.ratio)
        rule_id = self._core.add_copy(
            spec.leader_session, spec.leader_slot, spec.follower_slot, spec.session,
            spec.instrument_id, spec.account, spec.symbol, table, spec.limit_offset,
            spec.tick_size, spec.checked, spec.risk_account, spec.risk_instrument,
            spec.open_from_ns, spec.open_until_ns, spec.market_clock)
        rule = _Rule(rule_id, spec, follower, key[1], mapped.ratio, looked_up=now)
        self._rules[key] = self._by_id[rule_id] = rule
        return rule

    def _spec(self, leader: ShimSession, leader_slot: int, follower: Follower,
              session: ShimSession, instrument: Any) -> _Spec:
        config = self._copier.config
        ids, window = gate_ids(self._risk, self._core, instrument.symbol, follower.account,
                               instrument.slot)
        limit = config.order_type != "market"
        return _Spec(
            leader_session=leader.slot, leader_slot=leader_slot,
            follower_slot=instrument.slot, session=session.slot,
            instrument_id=instrument.instrument_id, account=follower.account,
            symbol=instrument.symbol,
            limit_offset=config.limit_offset_ticks * instrument.tick_size if limit else math.nan,
            tick_size=instrument.tick_size, checked=ids is not None,
            risk_account=ids[0] if ids else 0, risk_instrument=ids[1] if ids else 0,
            open_from_ns=window[0], open_until_ns=window[1],
            market_clock=self._risk is not None and self._risk.clock == "market")

    def _in_window(self, spec: _Spec) -> bool:
        """The gate's clock now (the last trade's time on the market clock) is inside the
        rule's session window, as the core will see it."""
        if self._risk is None:
            return True
        now = self._risk.now(self._core.state(spec.follower_slot))
        return spec.open_from_ns <= now < spec.open_until_ns

    def _table(self, follower: Follower, ratio: float) -> list[int]:
        key = (follower.account, ratio)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = [sized(p, follower.config, ratio)
                                         for p in range(-TABLE, TABLE + 1)]
        return table

    def _remove(self, key: tuple[str, str]) -> None:
        rule = self._rules.pop(key)
        del self._by_id[rule.id]
        self._core.remove_copy(rule.id)

    # -- what the core sent ------------------------------------------------------------
    def fired_with(self, armed: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        """What the core sent (or left) from the tick path: armed orders, then copies."""
        def on_fired(fired: list[Any]) -> None:
            armed(fired)
            self.on_fired(fired)
        return on_fired

    def on_fired(self, fired: list[Any]) -> None:
        """Books the copies of one frame (engine.FiredOrder with ``copy``), after their
        Submits have gone out; only sent ones are reported."""
        copier = self._copier
        book = copier.router.book
        for f in fired:
            rule = self._by_id.get(f.copy) if f.copy else None
            if rule is None or f.outcome != SENT:
                continue
            coid = int(f.client_order_id)
            order = book.order(coid)
            side, quantity = Side(int(order.side)), int(order.qty)
            self._session_by_slot(f.session).pending[f.request_id] = PendingCommand(
                f.request_id, RecordType.SUBMIT, coid, time.monotonic())
            copier.router.own(coid, "copier")
            self._bus.publish(TransitionApplied(coid, "SUBMIT_SENT", "NEW_REQUESTED", f.ts))
            self._audit("order_submit", client_order_id=coid, strategy="copier",
                        symbol=rule.spec.symbol, side=side.name, quantity=quantity,
                        order_type=order.order_type.name,
                        price=None if math.isnan(f.price) else f.price, stop_price=None,
                        compiled=True)
            follower = rule.follower
            follower.orders += 1
            follower.compiled += 1
            copier.sync.sent(follower.account, coid)
            signed = quantity if side == Side.BUY else -quantity
            target = rule.state[2] + signed
            follower.compared[rule.spec.symbol] = (target, target)
            rule.state = (rule.state[0], int(f.trade_price), target)
            self.sent += 1
            self._copied.append(_Copied(rule, coid, side, quantity, int(f.trade_price),
                                        target))

    def after_frame(self) -> None:
        """The copies' links, with the leader fill the frame's records named; then the
        core's picture brought up to date. A fault is the copier's (logged, audited),
        never the engine's."""
        self._copier.guarded(self._after_frame)()

    def _after_frame(self) -> None:
        if self._copied:
            copied, self._copied = self._copied, []
            copier = self._copier
            for c in copied:
                order, fill = copier.cause(c.rule.leader_symbol)
                copier.audit(
                    "copier_order", client_order_id=c.client_order_id,
                    account=c.rule.follower.account, leader=copier.leader,
                    leader_order=order or None, leader_fill=fill or None,
                    purpose="copy" if c.leader_position else "flatten",
                    symbol=c.rule.spec.symbol, side=c.side.name, quantity=c.quantity,
                    target=c.target, compiled=True)
        self.refresh()
