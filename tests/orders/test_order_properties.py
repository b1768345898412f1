"""Random event sequences through the compiled book, invariants checked after every event,
and the pure-Python reference run side by side as an oracle (differential test)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from orders_support import ACCOUNT, ES, E, S, new_book, new_reference

from tickbridge.orders import OrderBook, Outcome, Side, is_terminal
from tickbridge_dev.oracles.orders import ReferenceOrderBook

SIDES = (Side.BUY, Side.SELL, Side.BUY)
ORDER_QTY = (5, 3, 8)
EVENTS = list(E.__members__.values())

# (order, event, qty, exec id, price ticks): exec ids come from a small pool so repeats happen.
step = st.tuples(st.integers(0, 2), st.sampled_from(EVENTS), st.integers(1, 9),
                 st.integers(1, 6), st.integers(-8, 8))


def _snapshot(book: OrderBook, coid: int) -> tuple:
    o = book.order(coid)
    return (o.status, o.qty, o.price, o.filled_qty, o.avg_fill_price, o.overfill_qty,
            o.replace_pending, o.pending_qty)


def _run(steps: list[tuple[int, E, int, int, int]]) -> None:
    book, ref = new_book(), new_reference()
    coids = [book.new_order(ACCOUNT, ES[0], side, qty, 5000.0).client_order_id
             for side, qty in zip(SIDES, ORDER_QTY, strict=True)]
    for side, qty in zip(SIDES, ORDER_QTY, strict=True):
        ref.new_order(ACCOUNT, ES[0], int(side), qty, 5000.0)
    for t, (which, event, qty, exec_id, ticks) in enumerate(steps):
        coid = coids[which]
        price = 5000.0 + 0.25 * ticks
        before = _snapshot(book, coid)
        net_before = book.position(ACCOUNT, ES[0]).net_qty
        result = book.apply(coid, event, qty=qty, price=price, exec_id=exec_id, ts=t)
        ref_outcome = ref.apply(coid, int(event), qty, price, exec_id, t)
        after = _snapshot(book, coid)
        _check(book, ref, coids, coid, event, result.outcome, ref_outcome, before, after,
               net_before)


def _check(book: OrderBook, ref: ReferenceOrderBook, coids: list[int], coid: int, event: E,
           outcome: Outcome, ref_outcome: int, before: tuple, after: tuple,
           net_before: int) -> None:
    o = book.order(coid)
    # Differential: the reference agrees on the outcome and every figure.
    r = ref.orders[coid]
    assert int(outcome) == ref_outcome
    assert (int(o.status), o.qty, o.filled_qty, o.overfill_qty, o.replace_pending) == (
        r.status, r.qty, r.filled_qty, r.overfill_qty, r.replace_pending)
    assert o.avg_fill_price == pytest.approx(r.avg_fill_price, rel=1e-12)
    pos, rpos = book.position(ACCOUNT, ES[0]), ref.position(ACCOUNT, ES[0])
    assert (pos.net_qty, pos.avg_entry_price) == (rpos.net_qty,
                                                  pytest.approx(rpos.avg_entry_price))
    assert pos.realized_pnl == pytest.approx(rpos.realized_pnl, abs=1e-6)

    # filled + remaining = qty, and filled <= qty, unless the overfill flag says otherwise.
    if not o.overfilled:
        assert o.filled_qty + o.leaves_qty == o.qty
        assert o.filled_qty <= o.qty
    else:
        assert o.overfill_qty > 0 and o.leaves_qty == 0
    # Average fill price is the VWAP of the fills booked; filled is their sum.
    fills = book.fills(coid)
    assert o.filled_qty == sum(f.qty for f in fills)
    if fills:
        vwap = sum(f.qty * f.price for f in fills) / o.filled_qty
        assert math.isclose(o.avg_fill_price, vwap, rel_tol=1e-12)
    assert len({f.exec_id for f in fills}) == len(fills)  # each exec id booked once
    # Position is the signed sum of every booked fill of every order.
    signed = 0
    for c in coids:
        sign = 1 if book.order(c).side == Side.BUY else -1
        signed += sign * sum(f.qty for f in book.fills(c))
    assert pos.net_qty == signed
    # Terminal stays terminal; the only way out is a late fill completing the order.
    if is_terminal(before[0]) and after[0] != before[0]:
        assert before[0] in (S.CANCELED, S.EXPIRED) and after[0] == S.FILLED
        assert event == E.FILL
    if is_terminal(before[0]):
        assert is_terminal(after[0])
    # A duplicate or a refusal changes nothing (a refusal is only recorded).
    if outcome in (Outcome.DUPLICATE, Outcome.REFUSED):
        assert after == before
        assert pos.net_qty == net_before
    if outcome == Outcome.OVERFILL:
        assert o.overfilled
    assert book.history(coid)[-1].outcome == outcome


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=60), st.booleans())
def test_random_events(steps, submitted):
    # Half the runs start from sent orders, or most random events are refusals in NEW_REQUESTED.
    prefix = [(i, E.SUBMIT_SENT, 1, 1, 0) for i in range(3)] if submitted else []
    _run(prefix + steps)


# Plausible lifecycles, then delivered out of order by a bounded number of adjacent swaps:
# acks late or missing, partial and repeated fills, cancels racing fills, replaces, rejects.
@st.composite
def lifecycles(draw) -> list[tuple[int, E, int, int, int]]:
    steps: list[tuple[int, E, int, int, int]] = []
    for which in range(3):
        seq: list[tuple[int, E, int, int, int]] = [(which, E.SUBMIT_SENT, 1, 1, 0)]
        if draw(st.booleans()):
            seq.append((which, E.SUBMIT_ACKED, 1, 1, 0))
        if draw(st.booleans()):
            seq.append((which, E.ACCEPTED, 1, 1, 0))
        n_fills = draw(st.integers(0, 4))
        for k in range(n_fills):
            seq.append((which, E.FILL, draw(st.integers(1, 4)), k + 1, draw(st.integers(-4, 4))))
            if draw(st.integers(0, 3)) == 0:  # redelivered
                seq.append(seq[-1])
        tail = draw(st.sampled_from(["none", "cancel", "cancel_late", "replace", "reject",
                                     "expire"]))
        if tail == "cancel":
            seq += [(which, E.CANCEL_SENT, 1, 1, 0), (which, E.CANCEL_ACKED, 1, 1, 0),
                    (which, draw(st.sampled_from([E.CANCELED, E.CANCEL_REJECTED])), 1, 1, 0)]
        elif tail == "cancel_late":
            seq += [(which, E.CANCEL_SENT, 1, 1, 0), (which, E.CANCELED, 1, 1, 0),
                    (which, E.FILL, 1, 9, 0)]
        elif tail == "replace":
            seq += [(which, E.REPLACE_SENT, draw(st.integers(1, 12)), 1, 2),
                    (which, draw(st.sampled_from([E.REPLACED, E.REPLACE_REJECTED,
                                                  E.CANCELED])), 1, 1, 0),
                    (which, E.FILL, 2, 8, 1)]
        elif tail == "reject":
            seq.append((which, E.REJECTED, 1, 1, 0))
        elif tail == "expire":
            seq.append((which, E.EXPIRED, 1, 1, 0))
        steps += seq
    # Interleave the three orders, then swap some neighbours: out-of-order delivery.
    order = draw(st.permutations(range(len(steps))))
    by_order = {w: [s for s in steps if s[0] == w] for w in range(3)}
    merged = [by_order[steps[i][0]].pop(0) for i in order]
    for i in draw(st.lists(st.integers(0, max(len(merged) - 2, 0)), max_size=6)):
        if i + 1 < len(merged):
            merged[i], merged[i + 1] = merged[i + 1], merged[i]
    return merged


@settings(max_examples=300, deadline=None)
@given(lifecycles())
def test_lifecycles_delivered_out_of_order(steps):
    _run(steps)
