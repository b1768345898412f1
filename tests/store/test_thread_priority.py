"""The state store's writer and checkpoint threads run below the engine's priority when
asked (engine.store_nice), and at the engine's own when not."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from tickbridge.store import StateStore

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="a nice value per thread is Linux's")

NAMES = ("tickbridge-store-writer", "tickbridge-store-checkpoint")


def _store_threads(before: set[int]) -> dict[str, int]:
    """The nice value of each store thread started since ``before`` (native ids)."""
    return {t.name: os.getpriority(os.PRIO_PROCESS, t.native_id)
            for t in threading.enumerate()
            if t.name in NAMES and t.native_id is not None and t.native_id not in before}


def _native_ids() -> set[int]:
    return {t.native_id for t in threading.enumerate() if t.native_id is not None}


@pytest.mark.parametrize("levels", [0, 10, 25])
def test_the_store_threads_run_the_given_levels_below_the_caller(tmp_path, levels):
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    before = _native_ids()
    expected = dict.fromkeys(NAMES, min(19, own + levels))
    with StateStore(tmp_path / "state.sqlite", background_nice=levels):
        # The writer lowers itself before the store is returned; the checkpointer as its
        # thread starts, so it is given a moment.
        deadline = time.monotonic() + 5
        while (nice := _store_threads(before)) != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert nice == expected
    # The caller's own priority is untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
