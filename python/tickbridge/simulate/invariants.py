"""The invariants: checked after every step (``step_checks``) and once the faults stop
and the link has settled (``quiescent_checks``). Each returns the broken ones, named."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import TYPE_CHECKING

from tickbridge.audit.verify import verify_chain
from tickbridge.protocol import RecordType, Side
from tickbridge.risk.reasons import TradingState
from tickbridge.sim.platform import PLATFORM_ORDER_ID_BIT

if TYPE_CHECKING:
    from tickbridge.sim.platform import SimulatedPlatform
    from tickbridge.simulate.world import World

INVARIANTS = {
    "position-limit": "the position the engine's own orders hold at the platform never "
                      "passes max_position",
    "halted-no-order": "no order accepted while HALTED, none growing exposure while "
                       "REDUCING_ONLY",
    "halt-survives": "an operator's halt stays in force across every restart",
    "unique-order-ids": "every client order id the platform sees is new",
    "fill-once": "no fill booked twice, none booked that the platform did not make",
    "external-not-booked": "no fill of an order placed by hand is booked as the engine's",
    "fill-not-lost": "every fill of an engine order at the platform is booked",
    "positions-agree": "after reconciliation the engine's positions equal its own part of "
                       "the platform's (what orders placed by hand hold excluded)",
    "orders-final": "every order the engine holds open is open at the platform, and the "
                    "reverse",
    "audit-chain": "the audit chain verifies and its fills agree with the fills table",
}


def step_checks(world: World, counts: Counter) -> list[str]:
    from tickbridge.simulate.world import ACCOUNT, MAX_POSITION

    broken = []
    counts["checks position-limit"] += 1
    platform = world.shim.platform
    qty = platform.positions[1].quantity
    own, others = split_position(platform)
    if abs(own) > MAX_POSITION:
        broken.append(f"position-limit: the engine's orders hold {own:+d} at the "
                      f"platform (platform {qty:+d}, others' {others:+d}), limit {MAX_POSITION}")
    accepted = getattr(world, "last_accept", None)
    counts["checks halted-no-order"] += 1
    if accepted is not None:
        state, side, qty_, before, coid = accepted
        grows = (before + (qty_ if side == Side.BUY else -qty_)) ** 2 > before ** 2
        if state == TradingState.HALTED or (state == TradingState.REDUCING_ONLY and grows):
            broken.append(f"halted-no-order: order {coid} ({side.name} {qty_}, position "
                          f"{before:+d}) accepted while {state.name}")
    engine = world.engine
    if engine is not None:
        counts["checks halt-survives"] += 1
        if world.operator_state == TradingState.HALTED and \
                engine.trading_state(ACCOUNT) != TradingState.HALTED:
            broken.append(f"halt-survives: operator halted, engine says "
                          f"{engine.trading_state(ACCOUNT).name}")
    counts["checks unique-order-ids"] += 1
    coids = [int(r["client_order_id"]) for t, r in world.shim.commands
             if t == RecordType.SUBMIT]
    if len(coids) != len(set(coids)):
        dup = [c for c, n in Counter(coids).items() if n > 1]
        broken.append(f"unique-order-ids: submitted twice: {dup[:3]}")
    return broken


def quiescent_checks(world: World, counts: Counter) -> list[str]:
    """After the settle phase; the engine is closed by the caller afterwards."""
    from tickbridge.simulate.world import ACCOUNT, SYMBOL

    broken: list[str] = []
    engine = world.engine
    assert engine is not None and engine.store is not None
    store, platform = engine.store, world.shim.platform
    engine.store.sync().result(timeout=30)
    fills = store.load_fills()
    made = {_text(f["execution_id"]): f for f in platform.fills}
    counts["checks fill-once"] += 1
    ids = Counter(f.execution_id for f in fills)
    twice = [e for e, n in ids.items() if n > 1]
    invented = [f.execution_id for f in fills if f.execution_id not in made]
    if twice or invented:
        broken.append(f"fill-once: booked twice {twice[:3]}, not made by the platform "
                      f"{invented[:3]}")
    counts["checks fill-not-lost"] += 1
    lost = [e for e, f in made.items()
            if 0 < int(f["client_order_id"][0]) < PLATFORM_ORDER_ID_BIT and e not in ids]
    if lost:
        broken.append(f"fill-not-lost: platform fills never booked: {lost[:3]}")
    counts["checks external-not-booked"] += 1
    by_hand = [e for e, f in made.items() if int(f["client_order_id"][0]) == 0]
    counts["fills by hand"] += len(by_hand)
    external = [e for e in by_hand if e in ids]
    if external:
        broken.append(f"external-not-booked: fills of orders placed by hand booked: "
                      f"{external[:3]}")
    counts["checks positions-agree"] += 1
    # Fills of orders placed by hand are never the engine's to book (docs/engine.md,
    # unknown_external_order; position_differs reports the difference): the engine's
    # position is its own part of the platform's (split_position).
    theirs = split_position(platform)[0]
    stored = store.load_positions().get((ACCOUNT, SYMBOL))
    ours = world.engine_position()
    if ours != theirs or (stored.quantity if stored else 0) != theirs:
        broken.append(f"positions-agree: platform {theirs:+d} (by hand excluded), engine "
                      f"{ours:+d}, store "
                      f"{stored.quantity if stored else 0:+d}")
    counts["checks orders-final"] += 1
    open_here = set(store.load_open_orders())
    open_there = {o.client_order_id for o in platform.matching.orders.values()
                  if not o.finished and o.client_order_id < PLATFORM_ORDER_ID_BIT}
    if open_here != open_there:
        broken.append(f"orders-final: open in the engine only {sorted(open_here - open_there)[:3]}"
                      f", at the platform only {sorted(open_there - open_here)[:3]}")
    return broken


def split_position(platform: SimulatedPlatform) -> tuple[int, int]:
    """The platform's position as (the engine's own, others'), from its fills in the order
    it made them: an engine order's fill is the engine's; one of an order placed by hand
    (client order id 0 on the wire) is others'; a flatten's closing fill (a platform-made
    id) closes others' position first, up to what they hold, and the rest is the
    engine's (the account nets the two; engine/flatten_orders.py books it so)."""
    own = others = 0
    for fill in platform.fills:
        coid = int(fill["client_order_id"][0])
        signed = int(fill["quantity"][0]) * (1 if int(fill["side"][0]) == int(Side.BUY) else -1)
        if coid == 0:
            others += signed
        elif coid & PLATFORM_ORDER_ID_BIT:
            theirs = max(-abs(others), min(abs(others), signed)) if others * signed < 0 else 0
            own, others = own + signed - theirs, others + theirs
        else:
            own += signed
    return own, others


def audit_checks(store_path: str, counts: Counter) -> list[str]:
    counts["checks audit-chain"] += 1
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        result = verify_chain(conn)
        if not result.ok:
            return [f"audit-chain: {result}"]
        # Every booked fill is audited once ("fill", order_events.py), and the reverse.
        audited = {row[0] for row in conn.execute(
            "SELECT json_extract(payload, '$.execution_id') FROM audit_log "
            "WHERE kind = 'fill'")}
        booked = {row[0] for row in conn.execute("SELECT execution_id FROM fills")}
        if audited != booked:
            return [f"audit-chain: fills audited only {sorted(audited - booked)[:3]}, "
                    f"booked only {sorted(booked - audited)[:3]}"]
    finally:
        conn.close()
    return []


def _text(value: object) -> str:
    raw = bytes(value[0] if hasattr(value, "__len__") and not isinstance(value, bytes)
                else value)
    return raw.rstrip(b"\0").decode("utf-8", "replace")
