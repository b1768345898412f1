"""A live session captured (`tickbridge run --capture`) and re-run by `tickbridge replay`:
the same order commands, the same fills and positions, twice over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tickbridge.config import default_config
from tickbridge.engine.build import build_engine
from tickbridge.engine.replay import replay_capture


def _live_session(folder: Path) -> tuple[Path, dict[str, int], int]:
    capture = folder / "session.capture"
    engine = build_engine(default_config(), clock="market", shim_endpoint="tcp://127.0.0.1:*",
                          control_endpoint="tcp://127.0.0.1:*",
                          state_store=folder / "live.sqlite", capture=capture)
    sim = subprocess.Popen(
        [sys.executable, "-m", "tickbridge", "sim", "--engine", engine.endpoint,
         "--kill-endpoint", "none", "--ticks", "300000", "--speed", "0", "--keep-time",
         "--exit-after-end", "1", "--status-interval", "0", "--log-level", "WARNING"])
    try:
        engine.run(until=lambda: sim.poll() is not None, seconds=240)
        engine.poll(timeout_ms=100)
        positions = {s: engine.router.position(s) for s in engine.router.symbols()}
        orders = len(engine.router.book)
    finally:
        if sim.poll() is None:
            sim.kill()
        sim.wait(timeout=10)
        engine.close()
    return capture, positions, orders


def test_a_captured_session_replays_to_the_same_commands(tmp_path: Path) -> None:
    capture, positions, orders = _live_session(tmp_path)
    assert orders > 0, "the session made no orders: nothing to compare"
    first = replay_capture(capture, default_config(), tmp_path / "replay1.sqlite")
    assert first.identical, first.first_difference()
    assert len(first.replayed) >= orders
    assert first.positions == positions
    assert first.orders == orders
    # The CLI, a second time: the same again, exit 0.
    result = subprocess.run([sys.executable, "-m", "tickbridge", "replay", str(capture),
                             "--json"], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["identical"] and summary["commands_replayed"] == len(first.replayed)
    assert summary["positions"] == positions and summary["fills"] == first.fills


def test_replay_names_a_damaged_capture(tmp_path: Path) -> None:
    bad = tmp_path / "bad.capture"
    bad.write_bytes(b"not a capture file at all, longer than a header")
    result = subprocess.run([sys.executable, "-m", "tickbridge", "replay", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bad.capture" in result.stderr
