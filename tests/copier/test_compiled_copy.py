"""The copier's compiled path (copy_orders.hpp, copier_compiled.py): a leader's position
change copied by the core, over real sockets, with the configured engine (risk gates,
SQLite store); what the core cannot or may not send is left to the Python copier, which
says why. Nothing is ever sent twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.fake_shim import ScriptedShim, of
from tests.waiting import wait_until
from tickbridge.config import load_config
from tickbridge.engine.build import build_engine
from tickbridge.engine.copier_compiled import TABLE
from tickbridge.protocol import RecordType, make_record

T0 = 1_795_000_000_000_000_000

CONFIG = """\
mode = "paper"
[engine]
heartbeat_ms = 1000
snapshot_interval_s = 0
kill_on_shim_lost = false
compiled_receive = {compiled_receive}
[[accounts]]
name = "L"
mode = "paper"
[[accounts]]
name = "F1"
mode = "paper"
[[accounts]]
name = "F2"
mode = "paper"
[[instruments]]
symbol = "ES"
[risk.defaults]
max_order_qty = {max_order_qty}
max_position = 2000
band_ticks = 4000
max_data_age_ms = 3600000
[copier]
leader = {{account = "L"}}
mode = "copy_fills"
policy = "alert"
sync_interval_s = 0
[[copier.followers]]
account = "F1"
sizing = {{kind = "ratio", ratio = 1.0, max = 1000}}
[[copier.followers]]
account = "F2"
sizing = {{kind = "ratio", ratio = 0.5, rounding = "half_away", max = 1000}}
"""


class Desk:
    """The engine in the test's thread, a leader and two followers' shims; each shim
    answers snapshot requests with its position and fills nothing by itself."""

    def __init__(self, tmp_path: Path, *, compiled_receive: bool = True,
                 max_order_qty: int = 1000, wall_ns: int | None = None) -> None:
        path = tmp_path / "copier.toml"
        path.write_text(CONFIG.format(compiled_receive=str(compiled_receive).lower(),
                                      max_order_qty=max_order_qty))
        self.audits: list[tuple[str, dict]] = []
        self.engine = build_engine(load_config(path), clock="market",
                                   shim_endpoint="tcp://127.0.0.1:*",
                                   state_store=tmp_path / "state.sqlite", strategies=[],
                                   audit=lambda kind, **p: self.audits.append((kind, p)))
        if wall_ns is not None:  # the wall clock the gate falls back on before a trade
            self.engine.risk.wall_clock = lambda: wall_ns
        self.engine.start()
        self.shims = {a: ScriptedShim(self.engine.endpoint, session_id=100 + i, account=a)
                      for i, a in enumerate(("L", "F1", "F2"))}
        self.positions = dict.fromkeys(self.shims, 0)
        self._beat = 0.0
        for shim in self.shims.values():
            shim.hello()
            shim.send([make_record(RecordType.TRADE, instrument_id=1, time_ns=T0,
                                   price=6000.0, size=1, aggressor=1)])
        copier = self.engine.copier
        self.until(lambda: copier.leader_ready() and all(
            copier.settled(copier.session(a)) for a in ("F1", "F2")),
            "every link settled (two snapshots each)")
        self.until(lambda: self.engine.copies.refresh() is None and all(
            r.state[0] for r in self.engine.copies._rules.values())
            and len(self.engine.copies._rules) == 2, "both compiled rules ready")

    def close(self) -> None:
        for shim in self.shims.values():
            shim.close()
        self.engine.close()

    def turn(self) -> None:
        self.engine.poll(timeout_ms=5)
        beat = time.monotonic() - self._beat >= 0.1
        if beat:
            self._beat = time.monotonic()
        for account, shim in self.shims.items():
            if beat:  # the shims' heartbeats: a silent link is lost after 3 intervals
                shim.send([make_record(RecordType.HEARTBEAT, ack_sequence=max(
                    shim.engine_sequences, default=0))])
            for rtype, rec in shim.collect(timeout=0.001):
                if rtype == RecordType.SNAPSHOT_REQUEST:
                    shim.answer_snapshot(int(rec["request_id"]), [make_record(
                        RecordType.POSITION, instrument_id=1, time_ns=T0,
                        quantity=self.positions[account], average_price=6000.0)])

    def until(self, condition: Any, what: str, timeout: float = 10.0) -> None:
        wait_until(condition, timeout, what, step=self.turn)

    def leader_fill(self, quantity: int, execution: str) -> None:
        """The leader's platform fills `quantity` (signed): its Fill and Position, one frame."""
        self.positions["L"] += quantity
        self.shims["L"].send([
            make_record(RecordType.FILL, instrument_id=1, time_ns=T0, price=6000.0,
                        quantity=abs(quantity), side=1 if quantity > 0 else 2,
                        execution_id=execution, platform_order_id=f"P-{execution}"),
            make_record(RecordType.POSITION, instrument_id=1, time_ns=T0,
                        quantity=self.positions["L"], average_price=6000.0)])

    def submits(self, account: str) -> list:
        return of(self.shims[account].received, RecordType.SUBMIT)

    def of(self, kind: str) -> list[dict]:
        return [p for k, p in self.audits if k == kind]


@pytest.fixture(params=[True, False], ids=["compiled-receive", "python-receive"])
def desk(request, tmp_path):
    desk = Desk(tmp_path, compiled_receive=request.param)
    yield desk
    desk.close()


def test_the_core_sends_each_follower_its_copy_once_and_books_the_link(desk):
    desk.leader_fill(3, "X1")
    desk.until(lambda: desk.submits("F1") and desk.submits("F2"), "both copies")
    for _ in range(20):  # the Python copier runs on the same Position: it must not add one
        desk.turn()
    (f1,), (f2,) = desk.submits("F1"), desk.submits("F2")
    assert (int(f1["quantity"]), int(f1["side"])) == (3, 1)
    assert (int(f2["quantity"]), int(f2["side"])) == (2, 1)  # 1.5 half away from zero
    compiled = [p for p in desk.of("order_submit") if p.get("compiled")]
    assert sorted(p["client_order_id"] for p in compiled) == sorted(
        int(s["client_order_id"]) for s in (f1, f2))
    links = {p["account"]: p for p in desk.of("copier_order")}
    assert links["F1"]["leader_fill"] == "X1" and links["F1"]["compiled"] is True
    assert links["F2"]["client_order_id"] == int(f2["client_order_id"])
    assert desk.engine.copies.sent == 2
    followers = {f["account"]: f for f in desk.engine.copier.status()["followers"]}
    assert (followers["F1"]["orders"], followers["F1"]["compiled"]) == (1, 1)
    book = desk.engine.router.book
    assert book.order(int(f1["client_order_id"])).account == "F1"


def test_a_repeated_leader_position_is_not_copied_again(desk):
    desk.leader_fill(2, "X1")
    desk.until(lambda: desk.submits("F1") and desk.submits("F2"), "the copies")
    # The same position stated again (a snapshot, a resend): not a change to copy.
    desk.shims["L"].send([make_record(RecordType.POSITION, instrument_id=1, time_ns=T0,
                                      quantity=2, average_price=6000.0)])
    for _ in range(30):
        desk.turn()
    assert len(desk.submits("F1")) == 1 and len(desk.submits("F2")) == 1


def test_a_leader_position_beyond_the_table_is_copied_by_the_python_copier(desk):
    desk.positions["L"] = TABLE
    desk.leader_fill(1, "X1")  # the leader at TABLE + 1: the core has no target for it
    desk.until(lambda: desk.submits("F1") and desk.submits("F2"), "the copies")
    (f1,), (f2,) = desk.submits("F1"), desk.submits("F2")
    assert (int(f1["quantity"]), int(f2["quantity"])) == (TABLE + 1, (TABLE + 2) // 2)
    assert desk.engine.copies.sent == 0
    assert not [p for p in desk.of("order_submit") if p.get("compiled")]


def test_a_copy_its_gate_refuses_is_refused_in_the_python_copiers_words(tmp_path):
    desk = Desk(tmp_path, max_order_qty=2)
    try:
        desk.leader_fill(3, "X1")  # F1: 3, beyond its max_order_qty; F2: 1.5 -> 2
        desk.until(lambda: desk.of("copier_refused") and desk.submits("F2"),
                   "F1's copy refused, F2's sent")
        (refusal,) = desk.of("copier_refused")
        assert (refusal["account"], refusal["reason"]) == (
            "F1", "order 3 exceeds max order size 2 for ES")
        assert desk.engine.copies.sent == 1  # F2's, from the core
        assert not desk.submits("F1")
    finally:
        desk.close()


def test_a_halted_follower_is_left_to_the_python_copier_which_refuses_it(tmp_path):
    desk = Desk(tmp_path)
    try:
        desk.engine.trading.halt("F2", "test: F2 halted alone")
        desk.leader_fill(1, "X1")
        desk.until(lambda: desk.submits("F1") and desk.of("copier_refused"),
                   "F1's copy and F2's refusal")
        assert not desk.submits("F2")
        (refusal,) = desk.of("copier_refused")
        assert refusal["account"] == "F2" and "halt" in refusal["reason"].lower()
        assert desk.engine.copies.sent == 1  # F1's, from the core
    finally:
        desk.close()


def test_a_follower_that_traded_by_hand_is_brought_to_target_not_past_it(desk):
    # F1's platform reports a manual buy of 1: its position is 1 before any copy.
    desk.positions["F1"] = 1
    desk.shims["F1"].send([make_record(RecordType.POSITION, instrument_id=1, time_ns=T0,
                                       quantity=1, average_price=6000.0)])
    desk.until(lambda: desk.engine.copier.session("F1").platform_positions.get("ESZ6") == 1,
               "F1's position booked")
    desk.leader_fill(2, "X1")
    desk.until(lambda: desk.submits("F1") and desk.submits("F2"), "the copies")
    for _ in range(20):
        desk.turn()
    (f1,) = desk.submits("F1")
    assert int(f1["quantity"]) == 1  # target 2, holds 1
    assert desk.engine.copies.sent == 2  # both from the core


# Sunday 2026-12-06 in UTC: 12:00 the CME session is closed, 23:30 it is open. Before the
# first trade the gate's market clock falls back on the wall clock: a window found then
# (closed, or today's while the trades are of another day) must not stick.
@pytest.mark.parametrize("wall_ns", [1_796_558_400 * 10**9, 1_796_599_800 * 10**9],
                         ids=["wall-closed", "wall-open-another-day"])
def test_the_copy_is_compiled_whatever_the_wall_clock_says(tmp_path, wall_ns):
    desk = Desk(tmp_path, wall_ns=wall_ns)
    try:
        desk.leader_fill(1, "X1")
        desk.until(lambda: desk.submits("F1") and desk.submits("F2"), "the copies")
        assert desk.engine.copies.sent == 2
    finally:
        desk.close()
