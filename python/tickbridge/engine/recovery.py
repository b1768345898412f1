"""Restart recovery of the safety state: what the risk gate decides from, rebuilt from the
store before a restarted engine accepts its first order or command.

- the trading state of every account and of all accounts (a halt or a kill in force);
- positions and average prices, from every booked fill in time order, into the one
  position book (the engine's OrderBook, which the gate reads); the gate's realized PnL
  counts the fills of the current trading day only (the daily loss limit's day);
- working quantities, from the orders restored as live;
- the order-rate windows, from the orders created in the last hour (wall clock only: a
  replay on the market clock has no "last hour" the store's wall times belong to).

What the store cannot know (a fill or an order the crash kept from the disk) comes with
the platform's snapshot; until the first snapshot of a shim is in, the engine refuses its
orders (Engine.pre_trade_check), and at every snapshot's end the gate's working
quantities are set again from the order book (``resync_working``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tickbridge.engine.persistence import restore_orders
from tickbridge.engine.risk import RiskAdapter
from tickbridge.protocol import Side
from tickbridge.risk.reasons import TradingState
from tickbridge.store import StateStore
from tickbridge.store.safety import ALL_ACCOUNTS

log = logging.getLogger("tickbridge.engine")

# CME Globex: the trading day begins at 17:00 Chicago time the calendar day before.
_CHICAGO = ZoneInfo("America/Chicago")
_DAY_ROLL_HOUR = 17
_HOUR_NS = 3_600 * 1_000_000_000


def trading_day_start_ns(now_ns: int) -> int:
    """UTC ns at which the CME trading day holding ``now_ns`` began (17:00 Chicago)."""
    now = dt.datetime.fromtimestamp(now_ns / 1e9, _CHICAGO)
    start = now.replace(hour=_DAY_ROLL_HOUR, minute=0, second=0, microsecond=0)
    if now < start:
        # Wall-clock arithmetic (same tzinfo): 17:00 the day before, DST change or not.
        start -= dt.timedelta(days=1)
    return int(start.timestamp()) * 1_000_000_000


@dataclass
class RecoveredSafety:
    """What was restored, for the log and the audit record of the start."""

    trading_states: dict[str, str] = field(default_factory=dict)  # scope -> state
    positions: dict[str, int] = field(default_factory=dict)  # "account/SYMBOL" -> qty
    realized_pnl_today: dict[str, float] = field(default_factory=dict)  # account -> currency
    working: dict[str, tuple[int, int]] = field(default_factory=dict)  # -> (buy, sell)
    orders_last_hour: int = 0

    def as_audit(self) -> dict[str, Any]:
        return {"trading_states": self.trading_states, "positions": self.positions,
                "realized_pnl_today": self.realized_pnl_today,
                "working": {k: list(v) for k, v in self.working.items()},
                "orders_last_hour": self.orders_last_hour}


def restore_trading_states(store: StateStore, apply: Any) -> dict[str, str]:
    """Calls ``apply(state, account or None)`` for each stored state, the engine-wide one
    first; returns scope -> state name."""
    stored = store.load_trading_states()
    ordered = sorted(stored.values(), key=lambda r: r.scope != ALL_ACCOUNTS)
    for record in ordered:
        apply(TradingState[record.state], record.scope or None)
    return {r.scope or "*": r.state for r in ordered}


def restore_gate(risk: RiskAdapter, store: StateStore, book: Any, now_ns: int
                 ) -> RecoveredSafety:
    """Positions (into ``book``, the OrderBook the gate reads), today's realized PnL,
    working quantities and rate windows."""
    gate = risk.gate
    out = RecoveredSafety()
    day_start = trading_day_start_ns(now_ns)
    fills = sorted(store.load_fills(), key=lambda f: f.ts_ns)
    if gate.positions_attached:
        _rebook_positions(risk, book, fills, day_start)
    else:  # a gate with its own book (not the engine's): fed the fills itself
        _feed_positions(risk, fills, day_start)
    for account in gate.account_ids:
        pnl = 0.0
        for symbol in gate.instrument_ids:
            b = gate.book(account, symbol)
            pnl += float(b.realized_pnl)
            if int(b.position):
                out.positions[f"{account}/{symbol}"] = int(b.position)
        if pnl:
            out.realized_pnl_today[account] = round(pnl, 2)
    out.working = resync_working(risk, book)
    if risk.clock == "wall":
        for record in sorted(store.load_orders().values(), key=lambda r: r.created_ns):
            if record.created_ns > now_ns - _HOUR_NS and record.account in gate.account_ids:
                gate.note_sent(record.account, record.created_ns)
                out.orders_last_hour += 1
    return out


def _rebook_positions(risk: RiskAdapter, book: Any, fills: list[Any], day_start: int) -> None:
    """The order book's positions again from every stored fill, in time order (restoring
    the orders booked their fills order by order, which moves average prices), the day's
    start marked between yesterday's fills and today's."""
    book.reset_positions()
    risk.gate.mark_day_start()
    marked = False
    for fill in fills:
        if not marked and fill.ts_ns >= day_start:
            risk.gate.mark_day_start()
            marked = True
        risk.map_symbol(fill.instrument)  # the gate counts this symbol's positions
        if not book.has_instrument(fill.instrument):
            # The point value comes with the shim's definition (as in restore_orders).
            book.register_instrument(fill.instrument, 1.0)
        book.book_fill(fill.account, fill.instrument, Side[fill.side], int(fill.quantity),
                       float(fill.price))
    if not marked:
        risk.gate.mark_day_start()


def _feed_positions(risk: RiskAdapter, fills: list[Any], day_start: int) -> None:
    """A gate that keeps its own positions (not attached to the engine's book)."""
    gate = risk.gate
    marked = False
    for fill in fills:
        symbol = risk.map_symbol(fill.instrument)
        if symbol is None or fill.account not in gate.account_ids:
            continue
        if not marked and fill.ts_ns >= day_start:
            gate.mark_day_start()
            marked = True
        gate.on_fill(fill.account, symbol, Side[fill.side], int(fill.quantity),
                     float(fill.price))
    if not marked:
        gate.mark_day_start()


def resync_working(risk: RiskAdapter, book: Any) -> dict[str, tuple[int, int]]:
    """The gate's working quantities set from the order book's live orders (every
    account and instrument, zero included): what the gate reserves is what is working."""
    gate = risk.gate
    working: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for order in book.orders():
        if order.is_terminal or order.account not in gate.account_ids:
            continue
        symbol = risk.map_symbol(order.instrument)
        if symbol is None:
            continue
        # A replace to more in flight holds its increase (engine/replace_working.py).
        growth = max(0, int(order.pending_qty) - int(order.qty)) if order.replace_pending else 0
        working[(order.account, symbol)][0 if int(order.side) == int(Side.BUY) else 1] += \
            int(order.leaves_qty) + growth
    for account in gate.account_ids:
        for symbol in gate.instrument_ids:
            buy, sell = working.get((account, symbol), (0, 0))
            gate.set_working(account, symbol, buy, sell)
    return {f"{a}/{s}": (b, w) for (a, s), (b, w) in working.items() if b or w}


def recover(store: StateStore | None, risk: RiskAdapter | None, book: Any,
            trading: Any) -> RecoveredSafety | None:
    """At start, before anything is accepted: the orders, the trading states and (with
    a gate) its positions, today's PnL, working quantities and rate windows."""
    if store is None:
        return None
    restored = restore_orders(store, book)
    if restored:
        log.info("restored %d orders from %s", restored, store.path)
    states = trading.restore()
    recovered = None
    if risk is not None:
        now = risk.wall_clock()
        recovered = restore_gate(risk, store, book, now)
        recovered.trading_states = states
        trading.start_day(now)
    if states:
        log.warning("trading state restored from %s: %s", store.path,
                    ", ".join(f"{k} {v}" for k, v in states.items()))
    return recovered
