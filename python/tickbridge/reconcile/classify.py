"""Classifying every difference between the engine's view and a platform snapshot.

Pure: no I/O, no clock. Orders are matched by client order id (carried in the platform
order's tag or name), never by the platform's order object, because NinjaTrader may report
an order before SubmitOrderUnmanaged returns and brokers reorder callbacks (DESIGN lessons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from tickbridge.reconcile.drift import Drift, DriftClass
from tickbridge.reconcile.views import EngineView, FillView, OrderView, PlatformSnapshot


def any_nonzero(client_order_id: int) -> bool:
    return client_order_id != 0


# Engine states with a command in flight (a submit, cancel or replace not yet answered):
# such an order is not compared, its answer is on the way and guessing its outcome is what
# DESIGN forbids. Its absence from the platform's orders still counts (missing there).
IN_FLIGHT = frozenset({"NEW_REQUESTED", "SUBMITTED", "PENDING_CANCEL", "PENDING_REPLACE"})
# Platform states that move with Fill records (the snapshot sends the fills after the
# orders): not compared as states; a fill the engine lacks is a missing fill.
FILL_DRIVEN = frozenset({"FILLED", "PARTIALLY_FILLED"})


def classify(engine: EngineView, platform: PlatformSnapshot, *,
             is_ours: Callable[[int], bool] = any_nonzero,
             average_price_tolerance: float | None = None) -> list[Drift]:
    """Every drift, in a stable order: orders by client order id, then positions by
    instrument, then fills by execution id. ``is_ours`` says whether a client order id
    was made by this engine (e.g. its id range); others are external orders.
    ``average_price_tolerance`` None compares position quantities only."""
    drifts: list[Drift] = []
    if platform.orders is not None:
        drifts += _orders(engine, platform.orders, is_ours)
    if platform.positions is not None:
        drifts += _positions(engine, platform, average_price_tolerance)
    if platform.fills is not None:
        drifts += _fills(engine, platform.fills, is_ours)
    return drifts


def _order_json(order: OrderView) -> dict:
    return {k: v for k, v in asdict(order).items() if k != "client_order_id"}


def _orders(engine: EngineView, orders: tuple[OrderView, ...],
            is_ours: Callable[[int], bool]) -> list[Drift]:
    out: list[Drift] = []
    seen: set[int] = set()
    acct = engine.account
    for p in sorted(orders, key=lambda o: (o.client_order_id, o.platform_order_id)):
        coid = p.client_order_id
        mine = engine.orders.get(coid) if coid else None
        if mine is None:
            if coid == 0 or not is_ours(coid):
                out.append(Drift(DriftClass.UNKNOWN_EXTERNAL_ORDER, acct, p.instrument,
                                 coid or None, platform=_order_json(p),
                                 note="an order this engine did not make (manual, another "
                                      "tool, or another engine)"))
            elif p.is_open or p.filled_quantity:
                out.append(Drift(DriftClass.MISSING_LOCALLY, acct, p.instrument, coid,
                                 platform=_order_json(p),
                                 note="our client order id, unknown to the engine's state"))
            continue
        seen.add(coid)
        out += _compare_order(acct, mine, p)
    for coid, mine in sorted(engine.orders.items()):
        if coid not in seen and mine.is_open and coid not in engine.sent_after_request:
            out.append(Drift(DriftClass.MISSING_AT_PLATFORM, acct, mine.instrument, coid,
                             engine=_order_json(mine),
                             note="open in the engine, absent from the platform's orders"))
    return out


def _compare_order(account: str, mine: OrderView, theirs: OrderView) -> list[Drift]:
    if mine.state in IN_FLIGHT:
        return []
    both = {"engine": _order_json(mine), "platform": _order_json(theirs)}
    finished_differently = not mine.is_open and not theirs.is_open and mine.state != theirs.state
    if theirs.state not in FILL_DRIVEN and (mine.is_open != theirs.is_open
                                            or finished_differently):
        return [Drift(DriftClass.STATE_DIFFERS, account, mine.instrument,
                      mine.client_order_id, **both,
                      note=f"engine {mine.state}, platform {theirs.state}")]
    if mine.is_open and theirs.is_open and mine.quantity != theirs.quantity:
        # The order quantity only: a filled quantity moves with fills, which are compared
        # by execution id (missing_fill), and positions directly.
        return [Drift(DriftClass.QUANTITY_DIFFERS, account, mine.instrument,
                      mine.client_order_id, **both,
                      note=f"quantity {mine.quantity} vs {theirs.quantity}")]
    # Both open in different open states (ACKNOWLEDGED vs WORKING) is not a drift either.
    return []


def _positions(engine: EngineView, platform: PlatformSnapshot,
               tolerance: float | None) -> list[Drift]:
    assert platform.positions is not None
    theirs = {}
    for p in platform.positions:
        theirs[p.instrument] = p  # one Position record per instrument; the last one wins
    missing_fill_qty: dict[str, int] = {}
    for f in platform.fills or ():
        if f.execution_id not in engine.booked_execution_ids:
            signed = f.quantity if f.side == "BUY" else -f.quantity
            missing_fill_qty[f.instrument] = missing_fill_qty.get(f.instrument, 0) + signed
    out = []
    for instrument in sorted(set(theirs) | set(engine.positions)):
        mine = engine.positions.get(instrument)
        their = theirs.get(instrument)
        mine_qty = mine.quantity if mine else 0
        their_qty = their.quantity if their else 0
        price_differs = (
            tolerance is not None and mine_qty == their_qty and mine_qty != 0
            and mine is not None and their is not None
            and abs(mine.average_price - their.average_price) > tolerance)
        if mine_qty == their_qty and not price_differs:
            continue
        # Reported as it is: never explained away by synthesizing fills. The note only
        # says whether unbooked platform fills would account for the quantity.
        explained = mine_qty + missing_fill_qty.get(instrument, 0) == their_qty
        out.append(Drift(
            DriftClass.POSITION_DIFFERS, engine.account, instrument, None,
            engine={"quantity": mine_qty, "average_price": mine.average_price if mine else 0.0},
            platform={"quantity": their_qty,
                      "average_price": their.average_price if their else 0.0},
            note=("quantities equal, average prices differ" if price_differs else
                  f"engine {mine_qty:+d}, platform {their_qty:+d}"
                  + ("; the snapshot's unbooked fills account for the difference"
                     if explained and missing_fill_qty.get(instrument) else ""))))
    return out


def _fills(engine: EngineView, fills: tuple[FillView, ...],
           is_ours: Callable[[int], bool]) -> list[Drift]:
    out = []
    reported: set[str] = set()
    for f in sorted(fills, key=lambda f: (f.ts_ns, f.execution_id)):
        if f.execution_id in engine.booked_execution_ids or f.execution_id in reported:
            continue
        if not f.client_order_id or not is_ours(f.client_order_id):
            continue  # an execution of an external order: never the engine's to book
        reported.add(f.execution_id)
        out.append(Drift(DriftClass.MISSING_FILL, engine.account, f.instrument,
                         f.client_order_id or None, platform=asdict(f),
                         note="a platform execution id the store never booked"))
    return out
