"""Defects the campaign found, each kept with its seed and minimized schedule."""

from __future__ import annotations

import pytest

from tickbridge.simulate.campaign import run_session
from tickbridge.simulate.faults import parse_schedule

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("seed", "schedule"), [(5, "125:engine_crash,143:engine_crash"),
                                                (7, "1:engine_crash,81:engine_crash")])
def test_a_cancel_of_a_restored_order_before_its_shim_is_back_is_refused(seed, schedule):
    """After a restart the store's open orders are back before the shim's hello defines
    their instrument: a cancel then raised KeyError out of OrderRouter (the loop's caller,
    a strategy or a control request, got an exception) instead of a refusal."""
    result = run_session(seed, parse_schedule(schedule))
    assert not [v for v in result.violations if v.startswith("exception")], result.trace


def test_the_store_failure_halt_is_not_loosened_by_a_control_request():
    """Seed 38: the store fails (the engine halts), then an operator sets REDUCING_ONLY:
    the engine loosened its store-failure halt while nothing could be booked durably."""
    result = run_session(38, parse_schedule("266:store_fail:19"))
    assert not [v for v in result.violations if v.startswith("halt-survives")], result.trace


@pytest.mark.parametrize("seed", [1, 2])
def test_a_replace_racing_a_fill_leaves_no_order_open(seed):
    """Seeds 1 and 2, replaces from the start, no other fault: a limit order's own
    WORKING update arrives after the engine sent a replace (new quantity 3); the
    pre-filter took it for the replace confirmed (REPLACED, quantity 3), the platform
    then filled the original 1 and refused the replace, and the engine kept the order
    PARTIALLY_FILLED (1 of 3) forever."""
    result = run_session(seed, parse_schedule("0:replaces"))
    assert not [v for v in result.violations if v.startswith("orders-final")], result.trace


@pytest.mark.parametrize("seed", [79, 60])
def test_a_replace_is_risk_checked(seed):
    """Seed 79: position +3, a BUY 3 working, a BUY 1 replaced to 3 (no pre-trade check,
    the gate's working quantities untouched): the platform reached +6 with a limit of 4
    (seed 60: -5). A replace that grows the working quantity is now checked like a new
    order (engine/pre_trade.py PreTrade.replace)."""
    result = run_session(seed, parse_schedule("0:replaces"))
    assert result.ok, (result.violations, result.trace)


@pytest.mark.parametrize(("seed", "schedule"), [(3, "111:kill_flatten"),
                                                (0, "197:kill_flatten"),
                                                (0, "197:kill_flatten,230:engine_crash")])
def test_a_kill_with_flatten_leaves_the_positions_right(seed, schedule):
    """Seed 3: the platform's flatten orders (ids with the top bit) and their fills were
    external, alerted and never booked; the engine, its store and the gate kept the
    position from before the kill, and once ACTIVE again the gate let the platform reach
    +5 (limit 4). Seed 0: the positions alone disagreed. Now booked as the engine's
    (engine/flatten_orders.py), and again from the store after a restart."""
    result = run_session(seed, parse_schedule(schedule))
    assert result.ok, (result.violations, result.trace)


def test_an_order_is_not_forgotten_across_a_store_failure_and_two_restarts():
    """Seed 998: after the store failed, a submit went out before the failure was seen
    (its record never written; adopted at the restart); 4 steps after that restart the
    engine crashed, and the shim resent, among its unacknowledged frames, its answer to
    the previous engine's first snapshot, whose request id the new engine's first
    snapshot had too: the stale picture marked an order open at the platform canceled
    (orders-final). Both fixed: the order is REJECTED (STORE_FAILED), and snapshot
    request ids never repeat across engines."""
    result = run_session(998, parse_schedule("263:store_fail:11,278:engine_crash"))
    assert result.ok, (result.violations, result.trace)


@pytest.mark.parametrize("seed", [1739, 4375])
def test_the_quiescence_checks_wait_for_the_last_fill(seed):
    """Seeds 1739 and 4375, no fault at all: the market kept trading to the settle
    phase's last step, which filled a resting limit order; its fill was still on the
    link when the quiescence checks looked (fill-not-lost, positions-agree). A harness
    defect: the settle phase now ends with the market standing still."""
    result = run_session(seed, parse_schedule("none"))
    assert result.ok, (result.violations, result.trace)


@pytest.mark.parametrize(("seed", "schedule"), [(5192, "177:replaces"), (7133, "21:replaces")])
def test_a_replace_confirmed_by_a_fill_driven_update_ends_the_order(seed, schedule):
    """Seed 5192: a SELL 3 filled 1, replaced to 2, filled again: the platform's update
    said FILLED 2 of 2 and never WORKING with the new terms, so the replace was never
    confirmed and the engine kept the order PARTIALLY_FILLED 2 of 3, open forever
    (orders-final). Pre-filter 6 (engine/update_events.py)."""
    result = run_session(seed, parse_schedule(schedule))
    assert result.ok, (result.violations, result.trace)


@pytest.mark.parametrize(("seed", "schedule"), [(2239, "270:store_fail:18,277:kill_flatten"),
                                                (9968, "134:kill_flatten,136:store_fail:6")])
def test_a_flatten_under_a_failed_store_is_booked_after_the_restart(seed, schedule):
    """Seed 2239: the kill with flatten came while the store had failed; its fill could
    not be stored, and the restarted engine, not knowing the platform-made order was a
    flatten's, took its resent fill for an external one: positions disagreed. Platform-
    made ids are now a flatten's by their id alone."""
    result = run_session(seed, parse_schedule(schedule))
    assert result.ok, (result.violations, result.trace)


@pytest.mark.parametrize(("seed", "schedule"), [(8657, "38:replaces,218:engine_crash"),
                                                (6688, "171:replaces,224:engine_crash")])
def test_a_replace_confirmed_while_a_cancel_is_pending_is_stored(seed, schedule):
    """Seed 8657: a SELL 3 replaced to 1, then a cancel sent; the platform confirmed the
    replace (REPLACED, the state staying PENDING_CANCEL) and filled it. Only state
    changes were stored, so the store kept quantity 3: after a restart the order came
    back PARTIALLY_FILLED 1 of 3, open forever (the platform's FILLED is fill-driven, no
    drift). A REPLACED is now stored whatever the state (engine/order_events.py)."""
    result = run_session(seed, parse_schedule(schedule))
    assert result.ok, (result.violations, result.trace)


def test_no_replace_while_the_store_has_failed():
    """Seed 3520: a SELL 3 replaced to 1 while the store had failed (the REPLACED not
    stored); after the restart the order came back SELL 3, the platform's resent WORKING
    1 was no event for a WORKING order, its FILLED 1 of 1 fill-driven: open forever."""
    result = run_session(3520, parse_schedule("175:replaces,217:store_fail:12"))
    assert result.ok, (result.violations, result.trace)


@pytest.mark.parametrize(("seed", "schedule"), [
    (1818, "260:by_hand,265:kill_flatten"),
    (40, "4:drop,51:reorder,67:reorder,70:kill_flatten,86:drop,89:drop,106:by_hand,278:reorder"),
    (118, "76:delay:5,105:reorder,108:engine_crash,115:drop,150:by_hand,231:kill_flatten,"
          "276:engine_crash"),
    (1173, "16:delay:4,61:dup,125:delay:3,127:by_hand,132:kill_flatten,149:kill,"
           "153:store_fail:3,163:clock_jump:19,185:store_fail:13,279:by_hand"),
    (4585, "122:drop,122:platform_crash,153:by_hand,185:kill_flatten"),
])
def test_a_flatten_of_what_the_trader_holds_is_not_booked_as_the_engines(seed, schedule):
    """Seed 1818: the trader sold 5 by hand (the engine flat), then a kill with flatten:
    the platform bought 5 to close the account, and the engine booked the whole closing
    fill as its own, believing itself long 5 (past its limit of 4) in a flat account; its
    gate would then have let its own orders take the account to -9. Now the part of a
    closing fill that closes what others hold (known from their fills) stays external
    (engine/flatten_orders.py). Seed 40 (no hand position at the kill): the engine's own
    sell 3 was lost on the link and booked after the flatten's buy 3 from a snapshot; a
    split by the engine's position (or by the platform's less it) when the closing fill
    arrived took that buy for the trader's: engine -3, platform flat. Seeds 118 and 1173:
    a closing fill all of which closed the trader's position (no stored fill) resent to
    a restarted engine that knew nothing yet of what the trader held: booked whole; what
    others hold and the split decided are now rebuilt from the audit log. Seed 4585 (make
    soak): in a snapshot the closing fill was split at once, the trader's fill before it
    only at the snapshot's end: a snapshot's fills, a flatten's included, are now booked
    at its end in the platform's order."""
    result = run_session(seed, parse_schedule(schedule))
    assert result.ok, (result.violations, result.trace)
