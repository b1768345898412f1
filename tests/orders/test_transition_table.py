"""Every (state, event) pair, allowed or refused, generated from the exported table."""

from __future__ import annotations

from pathlib import Path

import pytest
from orders_support import (
    ALL_PAIRS,
    EVENT_ARGS,
    RECIPES,
    TABLE,
    E,
    S,
    expected_next,
    new_book,
    new_reference,
    order_in,
    send,
)

from tickbridge.orders import (
    NextRule,
    Outcome,
    Side,
    format_client_order_id,
    is_terminal,
    transition_table,
    transition_table_markdown,
)

TERMINAL = [S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED]


def _pair_id(pair) -> str:
    return f"{pair[0].name}-{pair[1].name}"


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_pair_id)
def test_every_pair(pair):
    state, event = pair
    book = new_book()
    coid = order_in(book, state)
    before = book.order(coid)
    position_before = book.position("SIM-1", "ESZ6").net_qty
    kw = EVENT_ARGS.get(event, {})
    result = send(book, coid, event, **kw)
    after = book.order(coid)

    if pair not in TABLE:
        # Refused: recorded with order, state and event; nothing else changes.
        assert result.outcome == Outcome.REFUSED
        assert after.status == state
        assert (after.qty, after.filled_qty, after.price) == (before.qty, before.filled_qty,
                                                              before.price)
        assert after.refused_events == before.refused_events + 1
        for text in (format_client_order_id(coid), state.name, event.name):
            assert text in result.reason
        anomaly = book.anomalies()[-1]
        assert (anomaly.client_order_id, anomaly.event, anomaly.status) == (coid, event, state)
        assert book.history(coid)[-1].outcome == Outcome.REFUSED
        assert book.position("SIM-1", "ESZ6").net_qty == position_before
        return

    rule, to = TABLE[pair]
    assert result.outcome in (Outcome.APPLIED, Outcome.OVERFILL), result
    assert after.status == expected_next(rule, to, state, after.filled_qty, after.qty)
    entry = book.history(coid)[-1]
    assert (entry.event, entry.from_status, entry.to_status) == (event, state, after.status)
    if event == E.FILL:
        assert after.filled_qty == before.filled_qty + 3
        assert book.position("SIM-1", "ESZ6").net_qty == position_before + 3
        assert (result.outcome == Outcome.OVERFILL) == (after.filled_qty > after.qty)


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_pair_id)
def test_reference_agrees_on_every_pair(pair):
    """The pure-Python reference (benchmark baseline, test oracle) reads the same table."""
    state, event = pair
    book, ref = new_book(), new_reference()
    coid = order_in(book, state)
    rcoid = ref.new_order("SIM-1", "ESZ6", int(Side.BUY), 10, 5000.0).client_order_id
    assert rcoid == coid
    for i, (ev, kw) in enumerate(RECIPES[state]):
        ref.apply(coid, int(ev), exec_id=10_000 + i, **kw)
    kw = dict(EVENT_ARGS.get(event, {}))
    outcome = ref.apply(coid, int(event), exec_id=99_999, **kw)
    core = send(book, coid, event, exec_id=99_999, **kw)
    assert outcome == int(core.outcome)
    assert ref.orders[coid].status == int(book.order(coid).status)


def test_table_lines_are_unique_and_explained():
    rows = transition_table()
    pairs = [(s, e) for s, e, _r, _to, _why in rows]
    assert len(pairs) == len(set(pairs))
    for state, event, rule, to, why in rows:
        assert len(why) > 15, (state, event)
        assert (to is not None) == (rule == NextRule.GOTO)


def test_terminal_states_stay_terminal_except_the_late_fill():
    for state, event, rule, to, _why in transition_table():
        if not is_terminal(state):
            continue
        if event == E.FILL and state in (S.CANCELED, S.EXPIRED):
            assert rule == NextRule.STAY_UNLESS_COMPLETE  # late fill: booked, may complete
        else:
            assert rule == NextRule.STAY, (state, event)
            assert to is None
    assert not any(s == S.REJECTED for s, *_ in transition_table())
    assert {s for s in TERMINAL if is_terminal(s)} == set(TERMINAL)


def test_pending_states_are_never_force_closed_by_our_own_sends():
    # Only a platform answer (or an expiry/reject) leaves PENDING_CANCEL/PENDING_REPLACE for
    # a terminal state; nothing the engine sends does.
    ours = {E.SUBMIT_SENT, E.CANCEL_SENT, E.REPLACE_SENT}
    for state, event, rule, to, _why in transition_table():
        if state in (S.PENDING_CANCEL, S.PENDING_REPLACE) and event in ours:
            assert rule == NextRule.STAY or to == S.PENDING_CANCEL


def test_docs_carry_the_table():
    doc = Path(__file__).resolve().parents[2] / "docs" / "orders.md"
    assert transition_table_markdown() in doc.read_text(), (
        "docs/orders.md is out of date: paste tickbridge.orders.transition_table_markdown()")
