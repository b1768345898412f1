"""An exhaustive model check of the link protocol for small bounds: every combination
of pass / drop / duplicate / delay (a delay of two steps reorders a frame behind the
next ones) over the K frames that start with the first Submit of a session, both
directions (the Submit, the platform's ack, order update and fill, the heartbeats
carrying acknowledgements, the resends, the snapshot that follows). After each, the
faults stop and the link settles; no fill may be booked twice or lost, positions and
open orders must agree, the audit chain must verify."""

from __future__ import annotations

import itertools

import pytest

from tickbridge.protocol import RecordType, decode_frame
from tickbridge.simulate.campaign import run_session
from tickbridge.simulate.network import SHIM

pytestmark = pytest.mark.e2e

SEED = 1
STEPS = 30  # the session: 1.5 s of orders, then the settle phase
SETTLE = 120  # 6 s: heartbeats, a periodic snapshot (5 s), its reconciliation
K = 4  # frames in the window: 4**4 = 256 sessions
ACTIONS = ("pass", "drop", "dup", "delay")


def _first_submit() -> int:
    result = run_session(SEED, [], steps=STEPS, log_frames=True, settle=0)
    for number, to, frame in result.frames:
        if to == SHIM and any(t == RecordType.SUBMIT for t, _ in decode_frame(frame)):
            return number
    raise AssertionError("the seed's session sends no Submit: choose another SEED")


def test_every_interleaving_of_a_few_frames_keeps_the_invariants() -> None:
    start = _first_submit()
    failures = []
    explored = 0
    for combo in itertools.product(ACTIONS, repeat=K):
        script = {start + i: action for i, action in enumerate(combo) if action != "pass"}
        result = run_session(SEED, [], steps=STEPS, script=script, settle=SETTLE)
        explored += 1
        if not result.ok:
            failures.append((combo, result.violations))
    assert explored == len(ACTIONS) ** K
    assert failures == []
