"""A shim is acknowledged up to its frames on disk: the frames whose store futures are
done are dropped in order, and the first one still waiting ends the look."""

from __future__ import annotations

from concurrent.futures import Future

from tickbridge.engine.session import ShimSession


def _future(done: bool) -> Future:
    future: Future = Future()
    if done:
        future.set_result(None)
    return future


def test_durable_frames_are_dropped_in_order_up_to_the_first_waiting_one():
    session = ShimSession(identity=b"s", slot=0)
    session.last_sequence = 6
    session.unsynced = {3: _future(True), 4: _future(True), 5: _future(False),
                        6: _future(False)}
    assert session.settle_durable() is True
    assert list(session.unsynced) == [5, 6]
    assert session.ack_sequence() == 4
    assert session.settle_durable() is False  # nothing more is on disk
    session.unsynced[5].set_result(None)
    session.unsynced[6].set_result(None)
    assert session.settle_durable() is True
    assert session.unsynced == {} and session.ack_sequence() == 6
