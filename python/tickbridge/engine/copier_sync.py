"""Each follower against its target: the leader's position through the follower's
sizing and instrument map, compared with the follower's position at its platform plus
what its own working orders will still add (the copier's mirrored orders apart: they
copy the leader's working orders, not its position).

The same comparison serves the live copy (copy_fills: each leader position change) and
the sync (on a timer, when a link is confirmed, on demand with ``tickbridge copier
sync``); what is done about a difference is the policy's: ``resync`` sends the
difference through the follower's gate, ``alert`` audits it, ``halt`` halts that
follower. Every difference found is audited.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tickbridge.engine.copier_sizing import sized
from tickbridge.protocol import OrderType, Side

if TYPE_CHECKING:
    from tickbridge.engine.copier_state import CopierParts, Follower


class CopierSync:
    def __init__(self, copier: CopierParts) -> None:
        self._copier = copier
        # Per follower, its position orders that may still be working: kept as they are
        # sent, so a live copy never scans the whole order book (it grows all day);
        # rebuilt from the book by every sync (orders adopted after a restart).
        self._working: dict[str, set[int]] = {}

    def sent(self, account: str, coid: int) -> None:
        self._working.setdefault(account, set()).add(coid)

    def _rescan(self, account: str) -> None:
        copier = self._copier
        self._working[account] = {
            int(o.client_order_id) for o in copier.router.book.orders()
            if not o.is_terminal and o.account == account
            and not copier.is_mirror(int(o.client_order_id))}

    def run(self, *, policy: str, account: str | None = None, symbol: str | None = None,
            source: str = "", purpose: str = "sync", leader_order: str = "",
            leader_fill: str = "") -> dict[str, Any]:
        """Compares (and acts on) every enabled follower, or ``account`` only; ``symbol``:
        the follower instruments the leader's ``symbol`` maps to only. One follower's
        refusal never stops the next: each is a non-blocking send or an audit record."""
        copier = self._copier
        if not copier.leader_ready():
            return {"ok": False, "error": f"leader {copier.leader} is not connected (or its "
                                          "positions are not yet confirmed)"}
        results = []
        for follower in copier.followers.values():
            if (account is not None and follower.account != account) or \
                    not follower.config.enabled:
                continue
            if purpose == "sync":
                self._rescan(follower.account)
            results.append(self._follower(follower, symbol, policy, source, purpose,
                                          leader_order, leader_fill))
        return {"ok": True, "policy": policy, "followers": results}

    def targets(self, follower: Follower, symbol: str | None = None) -> dict[str, int]:
        """Follower symbol -> target position (leader symbols mapped to the same follower
        symbol add up: ES and MES both copied as MES)."""
        copier = self._copier
        targets: dict[str, int] = {}
        wanted = None
        for leader_symbol, position in sorted(copier.leader_positions.items()):
            mapped = copier.map(follower, leader_symbol)
            if mapped is None:
                continue
            targets[mapped.symbol] = targets.get(mapped.symbol, 0) + sized(
                position, follower.config, mapped.ratio)
            if leader_symbol == symbol:
                wanted = mapped.symbol
        if symbol is not None:
            return {wanted: targets[wanted]} if wanted is not None else {}
        return targets

    def actual(self, follower: Follower, symbol: str) -> int | None:
        """Position at the platform plus the working quantity of the follower's own
        position orders; None when its link has not settled (nothing known to compare)."""
        copier = self._copier
        session = copier.session(follower.account)
        if session is None or not copier.settled(session) or session.lost:
            return None
        book, working = copier.router.book, 0
        coids = self._working.setdefault(follower.account, set())
        for coid in list(coids):
            order = book.order(coid) if coid in book else None
            if order is None or order.is_terminal:
                coids.discard(coid)
            elif order.instrument == symbol:
                leaves = int(order.leaves_qty)
                working += leaves if int(order.side) == int(Side.BUY) else -leaves
        return session.platform_positions.get(symbol, 0) + working

    def _follower(self, follower: Follower, symbol: str | None, policy: str, source: str,
                  purpose: str, leader_order: str, leader_fill: str) -> dict[str, Any]:
        copier = self._copier
        out: dict[str, Any] = {"account": follower.account, "instruments": []}
        for follower_symbol, target in self.targets(follower, symbol).items():
            actual = self.actual(follower, follower_symbol)
            entry: dict[str, Any] = {"symbol": follower_symbol, "target": target,
                                     "actual": actual}
            out["instruments"].append(entry)
            if actual is None:
                # Not connected: a copy is refused (audited, shown), the sync at its
                # reconnect brings it to target.
                if purpose != "sync":
                    copier.refused(follower, f"{follower.account} is not connected",
                                    leader_order=leader_order, leader_fill=leader_fill,
                                    symbol=follower_symbol)
                entry["action"] = "not connected"
                continue
            follower.compared[follower_symbol] = (target, actual)
            difference = target - actual
            if difference == 0:
                entry["action"] = "on target"
                continue
            if purpose == "sync":
                copier.audit("copier_off_target", account=follower.account,
                              symbol=follower_symbol, target=target, actual=actual,
                              policy=policy, source=source)
            entry["action"] = self._act(follower, follower_symbol, difference, policy,
                                        purpose, leader_order, leader_fill, target)
        return out

    def _act(self, follower: Follower, symbol: str, difference: int, policy: str,
             purpose: str, leader_order: str, leader_fill: str, target: int) -> str:
        copier = self._copier
        if policy == "alert":
            return "alerted"
        if policy == "halt":
            copier.halt(follower.account, f"copier: {symbol} off target "
                                          f"({difference:+d} to {target})")
            return "halted"
        side = Side.BUY if difference > 0 else Side.SELL
        order_type, price = self._order_terms(follower, symbol, side)
        coid = copier.submit(follower, symbol, side, abs(difference), order_type, price,
                             math.nan, purpose=purpose, leader_order=leader_order,
                             leader_fill=leader_fill, target=target)
        if coid is not None:
            follower.compared[symbol] = (target, target)
        return "refused" if coid is None else f"{side.name} {abs(difference)} sent"

    def _order_terms(self, follower: Follower, symbol: str, side: Side
                     ) -> tuple[OrderType, float]:
        """A market order, or a limit ``limit_offset_ticks`` through the last trade."""
        copier = self._copier
        config = copier.config
        route = copier.router.accounts.route(follower.account, symbol)
        if config.order_type == "market" or route is None:
            return OrderType.MARKET, math.nan
        instrument = route[1]
        last = copier.market(instrument.slot)["last_price"]
        if math.isnan(last):
            return OrderType.MARKET, math.nan
        tick = instrument.tick_size
        offset = config.limit_offset_ticks * tick * (1 if side == Side.BUY else -1)
        return OrderType.LIMIT, round((last + offset) / tick) * tick
