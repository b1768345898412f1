"""A writer process killed with SIGKILL mid-stream: everything it reported durable is on
disk after the kill, the store reopens, and the audit chain verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tickbridge.audit import verify_chain
from tickbridge.store import StateStore
from tickbridge.store.connection import open_reader

# The child books fills as fast as it can (plus audit records and order saves around them)
# and prints each execution id only after its future resolved: that line is its promise.
CHILD = r"""
import sys
from tickbridge.store import FillRecord, OrderRecord, ShimSession, StateStore
store = StateStore(sys.argv[1], queue_capacity=1_000_000)
print("ready", flush=True)


def say(future):
    # One write per line: two threads print, and print() writes text and newline apart.
    for f in future.result():
        sys.stdout.write(f.execution_id + "\n")
    sys.stdout.flush()


i = 0
while True:
    i += 1
    store.audit("request", {"i": i}, client_order_id=i, account="Sim101")
    store.save_order(OrderRecord(i, "Sim101", "ESZ6", "BUY", "MARKET", "DAY", 1, 0.0, 0.0,
                                 "SUBMITTED", created_ns=i, updated_ns=i))
    future = store.book_fills(
        [FillRecord("Sim101", f"E{i}", i, "ESZ6", "BUY", 1, 6000.0, i)],
        session=ShimSession(5, "Sim101", "SIMULATOR", i))
    if i % 7 == 0:  # sometimes wait, sometimes let fills pile up in one batch
        say(future)
    else:
        future.add_done_callback(say)  # runs on the writer thread, after the commit
"""


@pytest.mark.parametrize("kill_after", [50, 400, 3000])
def test_sigkill_loses_nothing_reported_durable(tmp_path, kill_after) -> None:
    path = tmp_path / "state.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    promised: set[str] = set()
    deadline = time.monotonic() + 60
    while len(promised) < kill_after and time.monotonic() < deadline:
        line = child.stdout.readline().strip()
        if line.startswith("E"):
            promised.add(line)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert len(promised) >= kill_after

    with open_reader(path) as conn:
        booked = {row[0] for row in conn.execute("SELECT execution_id FROM fills")}
        chain = verify_chain(conn)
        (fill_audits,) = conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE kind = 'fill'").fetchone()
    assert promised <= booked, f"lost: {sorted(promised - booked)[:5]}"
    assert chain.ok, chain.broken
    assert fill_audits == len(booked)  # a fill and its audit record commit together
    # The store opens again and carries on: recovery state matches what is on disk.
    with StateStore(path) as store:
        sessions = store.load_shim_sessions()
        assert sessions[5].last_booked_sequence == max(int(e[1:]) for e in booked)
        store.audit("session", {"event": "restart after SIGKILL"})
        store.sync().result(timeout=10)
    with open_reader(path) as conn:
        assert verify_chain(conn).ok
