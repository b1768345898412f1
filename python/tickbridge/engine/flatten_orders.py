"""The platform's own orders that carry out a flatten, booked as the engine's.

A flatten (the kill switch's, a control request's, reconciliation's policy) is one
command: the platform closes the positions with orders it makes itself, under ids with
the top bit set (the platform-made range the engine never uses). Their fills move the
account's position exactly as the engine's own do, so they are booked here (but for the
part that closes what others, a trader by hand, hold there: on_fill), in one place: into
the order book's positions (which the risk gate reads) and into the store's fills table
and positions (client order id 0: the store's order column holds the
engine's ids; the platform's order id is kept), de-duplicated by execution id, audited
``flatten_fill``; their order updates are audited ``flatten_order`` (no order record:
nothing of the engine's waits on them). Left external, they were alerted and never
booked: after a kill with flatten the engine, the store and the gate kept the position
from before it, and the next orders were checked against it (defect 4 of
docs/simulation-testing.md). A restart books them again from the store (recovery).

Platform-made ids are the flatten's: the simulator makes them for its flatten orders
only, the shims for the closing orders of their own Flatten / Kill(flatten) (recognised
by what they do: acsil/README.md, ninjascript/README.md), and every other order the
engine did not make (placed by hand, by another tool) is reported with id 0, which stays
external (reconciliation's ``unknown_external_order``). Known only from the id, they are
recognised after a restart too, when the store failed under the kill and their fills come
again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tickbridge import orders as ob
from tickbridge.engine.session import ShimSession
from tickbridge.protocol import OrderStatus, Side
from tickbridge.store.records import FillRecord

log = logging.getLogger("tickbridge.engine")

PLATFORM_MADE = 1 << 63  # the top bit of a client order id: made by the platform


def is_flatten_order(client_order_id: int) -> bool:
    return bool(int(client_order_id) & PLATFORM_MADE)


def _text(value: Any) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", "replace")


class FlattenOrders:
    def __init__(self, *, book: Any, store: Any, guard: Callable[..., Any],
                 audit: Callable[..., None]) -> None:
        self._book = book
        self._store = store
        self._guard = guard
        self._audit = audit
        self._status: dict[int, int] = {}  # flatten order -> the last status audited
        # Execution ids booked (any restart's: the store's), so a resend books nothing.
        self._booked: set[tuple[str, str]] = store.load_execution_ids() if store else set()
        # What others hold per (account, symbol): the fills of orders the engine did not
        # make (placed by hand), less what flattens closed of it; each fill counted once.
        # Rebuilt at a restart from the audit log (their ``external_fill`` records, and
        # the ``flatten_fill`` records, whose split is kept as decided: a closing fill all
        # of which was others' has no stored fill to mark it booked).
        self._others: dict[tuple[str, str], int] = {}
        self._others_seen: set[tuple[str, str]] = set()
        if store is not None:
            self._restore(store)

    def _restore(self, store: Any) -> None:
        for kind, p in store.load_audit(("external_fill", "flatten_fill")):
            account, symbol = p.get("account"), p.get("symbol")
            key = (account, p.get("execution_id"))
            if not account or not symbol or not key[1]:
                continue  # a record from before these fields: nothing to rebuild from
            where = (account, symbol)
            if kind == "external_fill":
                side, quantity = p.get("side"), p.get("quantity")
                if key in self._others_seen or side not in (int(Side.BUY), int(Side.SELL)) \
                        or not isinstance(quantity, int):
                    continue
                self._others_seen.add(key)
                signed = quantity if side == int(Side.BUY) else -quantity
            else:
                self._booked.add(key)
                external = int(p.get("external", 0))
                signed = external if p.get("side") == Side.BUY.name else -external
            self._others[where] = self._others.get(where, 0) + signed

    def on_external_fill(self, session: ShimSession, rec: Any) -> None:
        """A fill of an order the engine did not make: what others hold moves."""
        instrument = session.instruments.get(int(rec["instrument_id"]))
        execution_id = _text(rec["execution_id"])
        key = (session.account, execution_id)
        if instrument is None or not execution_id or key in self._others_seen \
                or int(rec["side"]) not in (int(Side.BUY), int(Side.SELL)):
            return
        self._others_seen.add(key)
        signed = int(rec["quantity"]) * (1 if int(rec["side"]) == int(Side.BUY) else -1)
        where = (session.account, instrument.symbol)
        self._others[where] = self._others.get(where, 0) + signed

    def on_order(self, session: ShimSession, rec: Any) -> bool:
        """True when ``rec`` is a flatten order's update (audited when its status moves)."""
        coid = int(rec["client_order_id"])
        if not is_flatten_order(coid):
            return False
        status = int(rec["status"])
        if self._status.get(coid) != status:
            self._status[coid] = status
            name = OrderStatus(status).name if status in OrderStatus._value2member_map_ \
                else str(status)
            self._audit("flatten_order", shim=session.name, account=session.account,
                        client_order_id=coid, platform_order_id=_text(rec["platform_order_id"]),
                        status=name, quantity=int(rec["quantity"]),
                        filled=int(rec["filled_quantity"]))
        return True

    def on_fill(self, session: ShimSession, rec: Any) -> bool:
        """True when ``rec`` is a flatten order's fill: booked once by execution id, all
        but what closes others' position. A flatten closes the account's whole position,
        and the account nets the engine's position with what others hold there (orders
        placed by hand): the part of the fill that closes theirs (first, up to what they
        hold) stays external, as their fills are; the rest is the engine's. Booked whole,
        a flatten of a trader's short 5 left the engine believing itself long 5 in a flat
        account, and the gate would then have let its own orders take the account to -9
        (defect 13 of docs/simulation-testing.md, seed 1818). With nothing held by
        others, the whole fill is the engine's, whatever order the fills arrive in."""
        coid = int(rec["client_order_id"])
        if not is_flatten_order(coid):
            return False
        execution_id = _text(rec["execution_id"])
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is None or int(rec["side"]) not in (int(Side.BUY), int(Side.SELL)) \
                or int(rec["quantity"]) <= 0 or not execution_id:
            log.error("%s: flatten fill %r cannot be booked (instrument %d not defined, or "
                      "not a fill); a snapshot will report it again", session.name,
                      execution_id, int(rec["instrument_id"]))
            return True
        key = (session.account, execution_id)
        if key in self._booked:
            return True
        self._booked.add(key)
        side, quantity, price = Side(int(rec["side"])), int(rec["quantity"]), float(rec["price"])
        # What others hold there, from their fills (not from the platform's position less
        # the engine's: a fill of the engine's still in flight, recovered later by a
        # snapshot, would pass for theirs).
        where = (session.account, instrument.symbol)
        others = self._others.get(where, 0)
        closing_others = others < 0 if side == Side.BUY else others > 0
        theirs = min(quantity, abs(others)) if closing_others else 0
        booked = quantity - theirs
        if theirs:
            self._others[where] = others + (theirs if side == Side.BUY else -theirs)
        if booked:
            self._book.book_fill(session.account, instrument.symbol, ob.Side(int(side)),
                                 booked, price)
            if self._store is not None:
                self._guard(self._store.book_fills, [FillRecord(
                    account=session.account, execution_id=execution_id, client_order_id=0,
                    instrument=instrument.symbol, side=side.name, quantity=booked,
                    price=price, ts_ns=int(rec["time_ns"]),
                    platform_order_id=_text(rec["platform_order_id"]))])
        position = int(self._book.position(session.account, instrument.symbol).net_qty)
        self._audit("flatten_fill", shim=session.name, account=session.account,
                    client_order_id=coid, execution_id=execution_id, symbol=instrument.symbol,
                    side=side.name, quantity=booked, external=quantity - booked, price=price,
                    position=position)
        return True
