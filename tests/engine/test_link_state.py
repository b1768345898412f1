"""The link-state tables (engine/link_state.py) and the session's view of them."""

from __future__ import annotations

import logging

import pytest

from tickbridge.engine.link_state import (
    ADMISSION,
    LIVENESS,
    Admission,
    AdmissionEvent,
    Liveness,
    LivenessEvent,
)
from tickbridge.engine.session import ShimSession

A, AE = Admission, AdmissionEvent


def test_a_hello_is_judged_afresh_from_every_state():
    for state in A:
        assert ADMISSION[(state, AE.HELLO_ACCEPTED)] == A.ACCEPTED
        assert ADMISSION[(state, AE.HELLO_REFUSED)] == A.REFUSED
        assert ADMISSION[(state, AE.ACCOUNT_HELD)] == A.WAITING


@pytest.mark.parametrize("state", [A.NEW, A.REFUSED, A.WAITING, A.REPLACED])
def test_only_an_accepted_link_is_confirmed_changed_or_taken_over(state):
    for event in (AE.SNAPSHOT_COMPARED, AE.PEER_CHANGED, AE.TAKEN_OVER):
        assert (state, event) not in ADMISSION


def test_the_session_reads_its_flags_from_the_tables():
    s = ShimSession(identity=b"x", slot=0)
    assert (s.admission, s.accepted, s.lost) == (A.NEW, False, False)
    s.refusal = "account held by y"
    s.admit(AE.ACCOUNT_HELD)
    assert s.waiting_for_account and s.refused == "account held by y" and not s.accepted
    s.admit(AE.HELLO_ACCEPTED)
    assert s.accepted and not s.confirmed and s.refused == ""
    s.admit(AE.SNAPSHOT_COMPARED)
    assert s.confirmed
    s.admit(AE.TAKEN_OVER)
    assert s.replaced and not s.accepted
    s.hear(LivenessEvent.SILENT)
    assert s.lost
    s.hear(LivenessEvent.FRAME)
    assert not s.lost


def test_a_pair_not_in_the_table_is_logged_and_not_applied(caplog):
    s = ShimSession(identity=b"x", slot=0)
    with caplog.at_level(logging.ERROR, "tickbridge.engine"):
        assert s.admit(AE.SNAPSHOT_COMPARED) == A.NEW  # never accepted: not confirmed
    assert "not in the link-state table" in caplog.text


def test_liveness_is_lost_by_silence_drop_or_overflow_and_back_by_a_frame():
    for event in (LivenessEvent.SILENT, LivenessEvent.DROPPED, LivenessEvent.OUTBOX_FULL):
        assert LIVENESS[(Liveness.LIVE, event)] == Liveness.LOST
    assert LIVENESS[(Liveness.LOST, LivenessEvent.FRAME)] == Liveness.LIVE
