"""A store that commits nothing while writes wait is warned about once per stall, and is
not taken for a failure (trading goes on; the queue bound is what halts it)."""

from __future__ import annotations

import logging

from tickbridge.engine.store_failure import STALL_WARN_S, StoreFailure


class _Store:
    failure = None

    def __init__(self) -> None:
        self.stalled = 0.0

    def stalled_s(self) -> float:
        return self.stalled


def test_a_stall_is_warned_once_per_stall_and_halts_nothing(caplog):
    store, halts = _Store(), []
    policy = StoreFailure(store, halts.append)
    caplog.set_level(logging.WARNING, logger="tickbridge.engine")

    def warnings() -> int:
        return sum("nothing committed" in r.getMessage() for r in caplog.records)

    store.stalled = STALL_WARN_S / 2
    policy.check()
    assert warnings() == 0
    store.stalled = STALL_WARN_S + 0.5
    policy.check()
    policy.check()
    assert warnings() == 1  # once for this stall
    store.stalled = 0.0
    policy.check()
    store.stalled = STALL_WARN_S + 1
    policy.check()
    assert warnings() == 2  # a new stall, a new warning
    assert halts == [] and policy.failed == ""
