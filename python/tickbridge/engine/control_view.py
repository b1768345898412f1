"""The ``dashboard`` control request: everything the live dashboard shows, in one read.

Links, positions (the engine's beside the platform's last report), working orders, risk
use against the limits, trading states and the last refusals. A read: the READ role is
enough, and it changes nothing. A dashboard polls it several times a second, so it is
audited once per caller per ``AUDIT_EVERY_S`` (who is watching), not at every poll.

One clock: every time in the answer is the engine's wall clock, UTC nanoseconds
(``now_ns`` says what it was when the answer was made). The platforms' own timestamps
(a simulator replays old data) never appear here.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from typing import Any

from tickbridge.engine.bus import FillBooked, OrderRefused, TransitionApplied

AUDIT_EVERY_S = 600.0
REFUSALS_KEPT = 50
FILLS_KEPT = 50
LINKS_SHOWN = 50
RATE_WINDOWS = (("second", 1.0), ("minute", 60.0), ("hour", 3600.0))
# Send times kept per account (an hour's, at most this many: without a risk gate's rate
# limit an engine may send more; the counts then stop at it).
SENT_KEPT = 100_000


def _number(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


class ControlView:
    """Keeps what the engine does not (recent refusals, order send times) and answers the
    dashboard request from the engine's own objects."""

    def __init__(self, engine: Any, *, wall_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._wall_ns = wall_ns
        self._monotonic = monotonic
        self.refusals: deque[OrderRefused] = deque(maxlen=REFUSALS_KEPT)
        self.refusal_counts: dict[str, int] = {}
        self.fills: deque[dict[str, Any]] = deque(maxlen=FILLS_KEPT)
        # account -> monotonic times of its orders sent in the last hour, oldest first
        self._sent: dict[str, list[float]] = {}
        self._audited: dict[str, float] = {}  # caller -> monotonic time of its last audit

    # -- bus subscribers -------------------------------------------------------------
    def on_refused(self, event: OrderRefused) -> None:
        self.refusals.append(event)
        self.refusal_counts[event.code] = self.refusal_counts.get(event.code, 0) + 1

    def on_fill(self, event: FillBooked) -> None:
        # Booked now, by the engine's clock (the record's own time is the platform's).
        order, record = event.order, event.record
        self.fills.append({
            "time_ns": self._wall_ns(), "client_order_id": order.client_order_id_text,
            "account": order.account, "symbol": order.instrument,
            "side": "BUY" if int(record["side"]) == 1 else "SELL",
            "qty": int(record["quantity"]), "price": float(record["price"]),
            "execution_id": event.execution_id})

    def on_transition(self, event: TransitionApplied) -> None:
        if event.event == "SUBMIT_SENT":
            account = self._engine.router.book.order(event.client_order_id).account
            times = self._sent.setdefault(account, [])
            times.append(self._monotonic())
            if len(times) > SENT_KEPT:
                del times[:len(times) - SENT_KEPT]

    # -- auditing ----------------------------------------------------------------------
    def audit_due(self, caller: str) -> bool:
        """True once per caller per AUDIT_EVERY_S (the first read of each is audited)."""
        now = self._monotonic()
        last = self._audited.get(caller)
        if last is not None and now - last < AUDIT_EVERY_S:
            return False
        self._audited[caller] = now
        return True

    # -- the answer --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        engine = self._engine
        return {
            "ok": True,
            "now_ns": self._wall_ns(),
            "mode": engine.mode_banner(),
            "live": engine.config is not None and engine.config.mode == "live",
            "session_id": engine.session_id,
            "trading_state": engine.trading_state().name,
            "store_failed": engine.store_failure.failed or None,
            "ticks": engine.ticks,
            "links": self._links(),
            "positions": self._positions(),
            "orders": self._orders(),
            "risk": self._risk(),
            "refusals": [{"time_ns": r.time_ns, "strategy": r.strategy, "symbol": r.symbol,
                          "code": r.code, "text": r.text} for r in reversed(self.refusals)],
            "fills": list(reversed(self.fills)),
        }

    def _account_mode(self, account: str) -> str:
        config = self._engine.config
        found = config.account(account) if config is not None and account else None
        return found.mode if found is not None else "paper"

    def _links(self) -> list[dict[str, Any]]:
        engine = self._engine
        now = self._monotonic()
        sessions = sorted(engine.sessions.values(),
                          key=lambda s: (s.platform is None or bool(s.refused), s.lost))
        return [{
            "name": s.name, "platform": s.platform.name if s.platform is not None else None,
            "account": s.account, "mode": self._account_mode(s.account),
            "simulated": s.simulated, "admission": s.admission.value,
            "liveness": s.liveness.value,
            "state": "REFUSED" if s.refused else "LOST" if s.lost else s.admission.value.upper(),
            "heartbeat_age_ms": round((now - s.last_rx) * 1000),
            "unacknowledged": len(s.pending), "outbox": len(s.outbox),
            "resent": s.duplicates, "gaps": s.gaps, "ignored": s.ignored,
            "refusal": s.refusal or None,
            "account_state": engine.trading_state(s.account).name if s.account and
            not s.refused else None,
            "platform_link": engine.platform_link.status(s),
        } for s in sessions[:LINKS_SHOWN]]

    def _positions(self) -> list[dict[str, Any]]:
        router = self._engine.router
        rows = []
        for symbol in router.symbols():
            session, _ = router.route(symbol)
            position = router.book.position(session.account, symbol)
            realized, unrealized = router.pnl(symbol)
            engine_qty = int(position.net_qty)
            platform_qty = session.platform_positions.get(symbol)
            rows.append({
                "account": session.account, "symbol": symbol, "engine": engine_qty,
                "platform": platform_qty,
                "drift": platform_qty is not None and platform_qty != engine_qty,
                "avg_price": _number(float(position.avg_entry_price)) if engine_qty else None,
                "realized_pnl": realized, "unrealized_pnl": unrealized,
                "last_price": _number(float(router.market(symbol)["last_price"])),
            })
        return rows

    def _orders(self) -> list[dict[str, Any]]:
        now = self._wall_ns()
        return [{
            "client_order_id": o.client_order_id_text, "account": o.account,
            "symbol": o.instrument, "side": o.side.name, "type": o.order_type.name,
            "status": o.status.name, "qty": int(o.qty), "filled": int(o.filled_qty),
            "leaves": int(o.leaves_qty), "price": _number(float(o.price)),
            "stop_price": _number(float(o.stop_price)),
            "created_ns": int(o.created_ts), "age_ms": max(0, (now - int(o.created_ts))
                                                          // 1_000_000),
        } for o in self._engine.router.book.orders() if not o.is_terminal]

    def _risk(self) -> dict[str, Any]:
        engine = self._engine
        now = self._monotonic()
        answer: dict[str, Any] = {"trading_state": engine.trading_state().name,
                                  "refusals_by_reason": dict(self.refusal_counts),
                                  "instruments": [], "accounts": []}
        if engine.risk is None:
            return answer
        limits = engine.risk.gate.limits
        router = engine.router
        by_account: dict[str, int] = {}
        for symbol in router.symbols():
            # Only symbols the gate already maps (mapping one logs, at every poll, why
            # it cannot be): one it does not is refused at its first order anyway.
            configured = engine.risk.roots.get(symbol)
            if configured is None:
                continue
            session, _ = router.route(symbol)
            position = router.position(symbol)
            by_account[session.account] = by_account.get(session.account, 0) + abs(position)
            instrument = limits.for_instrument(configured)
            answer["instruments"].append({
                "symbol": symbol, "configured": configured, "position": abs(position),
                "max_position": instrument.max_position,
                "max_order_qty": instrument.max_order_qty,
                "band_refusals": self.refusal_counts.get("PRICE_BAND", 0)})
        for account in sorted(engine.risk.gate.account_ids):
            account_limits = limits.for_account(account)
            pnl = engine.risk.gate.account_pnl(account)
            answer["accounts"].append({
                "account": account, "mode": self._account_mode(account),
                "trading_state": engine.trading_state(account).name,
                "position": by_account.get(account, 0),
                "max_position": account_limits.max_position or None,
                "daily_loss": max(0.0, -pnl), "pnl": pnl,
                "daily_loss_limit": account_limits.daily_loss_limit or None,
                "orders": self._orders_sent(account, now),
                "max_orders": {"second": account_limits.max_orders_per_second or None,
                               "minute": account_limits.max_orders_per_minute or None,
                               "hour": account_limits.max_orders_per_hour or None}})
        return answer

    def _orders_sent(self, account: str, now: float) -> dict[str, int]:
        """Orders sent in each rate window (binary searches: a poll costs no more with
        thousands of orders in the hour)."""
        times = self._sent.get(account, [])
        expired = bisect_left(times, now - RATE_WINDOWS[-1][1])
        if expired:
            del times[:expired]
        return {name: len(times) - bisect_left(times, now - span)
                for name, span in RATE_WINDOWS}
