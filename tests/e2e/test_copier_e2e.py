"""The trade copier end to end: the engine as a process, a simulator per account (the
leader's reporting as Sierra Chart, followers as Sierra Chart or NinjaTrader), orders
placed by hand at the leader's platform. Followers: F1 ratio 1, F2 ratio 0.5 rounded half
away from zero (1.5 -> 2, 0.5 -> 1), F3 ES traded as MES x10."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.copier_stack import LEADER, CopierStack
from tests.waiting import wait_until
from tickbridge.protocol import OrderStatus, OrderType, Side


@pytest.fixture
def copy_fills(tmp_path: Path) -> Iterator[CopierStack]:
    stack = CopierStack(tmp_path)
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop()


def _tick(price: float) -> float:
    return round(price / 0.25) * 0.25


def audit_rows(stack: CopierStack, kind: str) -> list[dict]:
    with sqlite3.connect(stack.store) as db:
        return [json.loads(p) for (p,) in db.execute(
            "SELECT payload FROM audit_log WHERE kind = ? ORDER BY id", (kind,))]


def wait_rows(stack: CopierStack, kind: str, count: int) -> list[dict]:
    """The audit log is written behind the order path: its records, once ``count``."""
    return wait_until(lambda: len(rows := audit_rows(stack, kind)) >= count and rows, 30,
                      f"{count} {kind} audit records")


def test_copy_fills_a_partly_filled_limit_order_sized_per_follower(
        copy_fills: CopierStack) -> None:
    stack = copy_fills
    leader = stack.sim(LEADER)
    price = _tick(stack.last_price(LEADER) - 50)  # rests: filled by hand below
    hand = leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=3,
                          order_type=OrderType.LIMIT, price=price)
    leader.by_hand("fill", hand, quantity=1)
    # 1 filled: F1 1, F2 0.5 -> 1 (half away from zero), F3 10 MES.
    stack.wait_positions({LEADER: 1, "F1": 1, "F2": 1, "F3": 10})
    leader.by_hand("fill", hand, quantity=2)
    # 3 filled: F1 3, F2 1.5 -> 2, F3 30. Sized on the position, not per fill (1 + 1).
    stack.wait_positions({LEADER: 3, "F1": 3, "F2": 2, "F3": 30})
    status = stack.copier()
    assert status["leader"]["positions"] == {"ESZ6": 3}
    for follower in status["followers"]:
        assert follower["on_target"] and follower["refusals"] == 0, follower
    # Every follower order carries the leader's order and fill; the CLI follows both ways.
    # The audit log is written behind the order path: wait for the records.
    copies = wait_rows(stack, "copier_order", 6)
    assert all(c["leader_fill"] and c["leader_order"] for c in copies)
    fill = copies[-1]["leader_fill"]
    shown = stack.cli("audit", "show", "--leader", fill, "--db", str(stack.store))
    assert shown.returncode == 0, shown.stderr
    for c in copies[-3:]:
        assert f"TB{c['client_order_id']:016X}" in shown.stdout or \
            str(c["client_order_id"]) in shown.stdout
    one = copies[-1]
    back = stack.cli("audit", "show", "--order", str(one["client_order_id"]),
                     "--db", str(stack.store))
    assert back.returncode == 0 and fill in back.stdout, back.stdout
    table = stack.cli("copier", "status")
    assert table.returncode == 0, table.stdout + table.stderr
    assert "F3" in table.stdout and "MESZ6 +30/+30" in table.stdout


def test_leader_flatten_flattens_every_follower(copy_fills: CopierStack) -> None:
    stack = copy_fills
    stack.sim(LEADER).by_hand("submit", symbol="ESZ6", side=Side.SELL, quantity=2,
                              order_type=OrderType.MARKET)
    stack.wait_positions({LEADER: -2, "F1": -2, "F2": -1, "F3": -20})
    reply = stack.request("kill", flatten=True, account=LEADER)
    assert reply["ok"], reply
    stack.wait_positions({LEADER: 0, "F1": 0, "F2": 0, "F3": 0})
    copies = wait_rows(stack, "copier_order", 6)
    assert [c["purpose"] for c in copies[3:]] == ["flatten"] * 3


def test_manual_trade_on_a_follower_is_found_and_fixed_by_sync(
        copy_fills: CopierStack) -> None:
    stack = copy_fills
    stack.sim(LEADER).by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                              order_type=OrderType.MARKET)
    stack.wait_positions({LEADER: 2, "F1": 2, "F2": 1, "F3": 20})
    stack.sim("F1").by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=3,
                            order_type=OrderType.MARKET)
    stack.wait_positions({"F1": 5})
    # The follower's position drift is the copier's: not a halt of the account.
    assert stack.request("status")["accounts"].get("F1", "ACTIVE") == "ACTIVE"
    synced = stack.cli("copier", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # The sync fixes F1, unless a reconnect's sync came first: on a loaded machine the
    # links can lapse (the simulators say "engine silent"), and every reconnect syncs.
    # Either way the drift was found and fixed once, by an order through F1's gate.
    assert "SELL 3 sent" in synced.stdout or \
        "F1             ESZ6       target +2 actual +2: on target" in synced.stdout, \
        synced.stdout
    stack.wait_positions({"F1": 2, "F2": 1, "F3": 20})
    off = wait_rows(stack, "copier_off_target", 1)
    assert [(o["account"], o["target"], o["actual"]) for o in off] == [("F1", 2, 5)]
    assert stack.cli("copier", "status").returncode == 0


def test_a_follower_disconnected_during_a_leader_fill_is_resynced_on_reconnect(
        copy_fills: CopierStack) -> None:
    stack = copy_fills
    stack.stop_sim("F2")
    wait_until(lambda: not stack.follower("F2")["connected"], 30, "F2's link lost")
    stack.sim(LEADER).by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=4,
                              order_type=OrderType.MARKET)
    # The others are not held up by the missing one.
    stack.wait_positions({LEADER: 4, "F1": 4, "F3": 40})
    f2 = stack.follower("F2")
    assert f2["refusals"] >= 1 and "not connected" in f2["last_refusal"], f2
    assert stack.cli("copier", "status").returncode == 1  # F2 down: a script sees it
    stack.start_sim("F2")
    stack.wait_positions({"F2": 2})
    wait_until(lambda: stack.follower("F2")["on_target"] and stack.follower("F2")["connected"],
               30, "F2 on target")


def test_a_follower_refused_by_its_daily_loss_limit_while_the_others_fill(
        tmp_path: Path) -> None:
    stack = CopierStack(tmp_path, f2_loss_limit=True)
    try:
        stack.start_all()
        leader = stack.sim(LEADER)
        leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                       order_type=OrderType.MARKET)
        stack.wait_positions({LEADER: 2, "F1": 2, "F2": 1, "F3": 20})
        # F2's loss limit is one dollar: its first adverse tick breaches it.
        wait_until(lambda: stack.request("status")["accounts"].get("F2") == "REDUCING_ONLY",
                   120, "F2's daily loss limit breached")
        leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                       order_type=OrderType.MARKET)
        stack.wait_positions({LEADER: 4, "F1": 4, "F3": 40})
        f2 = wait_until(lambda: (f := stack.follower("F2"))["refusals"] and f, 30,
                        "F2's refusal in copier status")
        assert "reducing" in f2["last_refusal"].lower(), f2
        assert stack.position("F2") == 1
        refused = wait_rows(stack, "copier_refused", 1)
        assert refused[-1]["account"] == "F2" and refused[-1]["leader_fill"]
    finally:
        stack.stop()


def test_engine_killed_mid_copy_restarts_without_doubling_or_losing_an_order(
        copy_fills: CopierStack) -> None:
    stack = copy_fills
    leader = stack.sim(LEADER)
    leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                   order_type=OrderType.MARKET)
    wait_until(lambda: stack.position(LEADER) == 2, 30, "the leader's fill")
    stack.kill_engine()  # the copies may be sent, in flight, or not made yet
    leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=1,
                   order_type=OrderType.MARKET)  # and one fill while it is down
    wait_until(lambda: stack.position(LEADER) == 3, 30, "the leader's second fill")
    stack.start_engine()
    stack.wait_connected()
    stack.wait_positions({"F1": 3, "F2": 2, "F3": 30})
    # Stable: nothing left in flight to overshoot, and a sync finds nothing to do.
    synced = stack.cli("copier", "sync")
    assert synced.returncode == 0 and "sent" not in synced.stdout, synced.stdout
    for account, target in (("F1", 3), ("F2", 2), ("F3", 30)):
        filled = sum(o.filled_quantity if o.side == Side.BUY else -o.filled_quantity
                     for o in stack.engine_orders(account))
        assert filled == target, (account, filled)
        assert not stack.working(account)


def test_mirror_orders_placed_replaced_partly_filled_and_canceled(tmp_path: Path) -> None:
    stack = CopierStack(tmp_path, mode="mirror_orders")
    try:
        stack.start_all()
        leader = stack.sim(LEADER)
        price = _tick(stack.last_price(LEADER) - 50)
        hand = leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=3,
                              order_type=OrderType.LIMIT, price=price)
        # 3 at the leader: F1 3, F2 1.5 -> 2, F3 30 MES, each at the leader's price.
        expected = {"F1": 3, "F2": 2, "F3": 30}

        def mirrored(quantities: dict[str, int], at: float) -> bool:
            return all(len(w := stack.working(a)) == 1 and w[0].quantity == q
                       and w[0].price == at for a, q in quantities.items())
        wait_until(lambda: mirrored(expected, price), 30, "the mirrored orders")
        moved = price + 1.0
        leader.by_hand("replace", hand, price=moved, quantity=5)
        expected = {"F1": 5, "F2": 3, "F3": 50}  # 2.5 -> 3
        wait_until(lambda: mirrored(expected, moved), 30, "the replaced mirrors")
        leader.by_hand("fill", hand, quantity=2)  # partly filled: followers fill by themselves
        wait_until(lambda: stack.position(LEADER) == 2, 30, "the leader's partial fill")
        assert mirrored(expected, moved)
        leader.by_hand("cancel", hand)
        wait_until(lambda: all([o.status for o in stack.engine_orders(a)] ==
                               [OrderStatus.CANCELED] for a in expected), 30,
                   "each follower's one order canceled")
        for kind in ("copier_order", "copier_replace", "copier_cancel"):
            rows = wait_rows(stack, kind, 3)
            assert sorted(r["account"] for r in rows) == ["F1", "F2", "F3"], rows
    finally:
        stack.stop()


def test_a_follower_halted_alone_is_refused_while_the_others_fill(
        copy_fills: CopierStack) -> None:
    stack = copy_fills
    reply = stack.request("set_state", state="HALTED", account="F2")
    assert reply["ok"], reply
    stack.sim(LEADER).by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                              order_type=OrderType.MARKET)
    stack.wait_positions({LEADER: 2, "F1": 2, "F3": 20})
    # The halt's refusal (a link lapsing on a loaded machine may refuse one copy as "not
    # connected" first; the reconnect's sync then meets the halt).
    f2 = wait_until(lambda: "halted" in ((f := stack.follower("F2"))["last_refusal"] or
                                         "").lower() and f, 30, "F2's refusal by its halt")
    assert f2["trading_state"] == "HALTED" and f2["refusals"] >= 1, f2
    assert stack.position("F2") == 0
    assert stack.request("set_state", state="ACTIVE", account="F2")["ok"]
    synced = stack.cli("copier", "sync", "--account", "F2")
    assert synced.returncode == 0 and ("BUY 1 sent" in synced.stdout or
                                       "actual +1: on target" in synced.stdout), synced.stdout
    stack.wait_positions({"F2": 1})


def test_the_global_kill_covers_every_follower(copy_fills: CopierStack) -> None:
    stack = copy_fills
    stack.sim(LEADER).by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                              order_type=OrderType.MARKET)
    stack.wait_positions({LEADER: 2, "F1": 2, "F2": 1, "F3": 20})
    reply = stack.request("kill", flatten=True)
    assert reply["ok"], reply
    stack.wait_positions({LEADER: 0, "F1": 0, "F2": 0, "F3": 0})
    states = stack.request("status")["accounts"]
    assert all(states[a] == "HALTED" for a in ("L1", "F1", "F2", "F3")), states


def test_mirrors_survive_an_engine_restart_and_an_order_placed_meanwhile(
        tmp_path: Path) -> None:
    stack = CopierStack(tmp_path, mode="mirror_orders")
    try:
        stack.start_all()
        leader = stack.sim(LEADER)
        price = _tick(stack.last_price(LEADER) - 50)
        leader.by_hand("submit", symbol="ESZ6", side=Side.BUY, quantity=2,
                       order_type=OrderType.LIMIT, price=price)
        wait_until(lambda: all(len(stack.working(a)) == 1 for a in ("F1", "F2", "F3")), 30,
                   "the first order mirrored")
        stack.kill_engine()
        # The followers' simulators cancel on the engine's silence; the leader's order
        # stays (the trader's), and the trader places another one while it is down.
        wait_until(lambda: not any(stack.working(a) for a in ("F1", "F2", "F3")), 30,
                   "the followers' cancel-on-disconnect")
        leader.by_hand("submit", symbol="ESZ6", side=Side.SELL, quantity=4,
                       order_type=OrderType.LIMIT, price=price + 100)
        stack.start_engine()
        stack.wait_connected()
        # Once the links settled: the order placed meanwhile is mirrored, and the first
        # one again at each follower (its mirrors ended with the followers' links); the
        # store's links keep it from being placed twice.
        for account, ratio in (("F1", 1), ("F2", 0.5), ("F3", 10)):
            wanted = sorted([(Side.BUY, round(2 * ratio)), (Side.SELL, round(4 * ratio))])
            wait_until(lambda a=account, w=wanted: sorted(
                (o.side, o.quantity) for o in stack.working(a)) == w, 30,
                f"{account}'s mirrors of both leader orders")
        assert len(stack.engine_orders("F2")) == 3  # the canceled first mirror, two working
    finally:
        stack.stop()
