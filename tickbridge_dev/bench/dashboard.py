"""``dashboard``: the ``ingest`` and ``roundtrip`` workloads with the live dashboard
attached and two browsers watching, against the same workloads without it, in
alternating rounds (medians of each side).

The dashboard runs as ``tickbridge run --dashboard`` runs it: in the engine's process
(its feed thread asks the engine's control socket at the display rate, uvicorn serves on
a thread of its own), so what it costs the engine is measured, GIL included. The two
"browsers" are two Server-Sent Events clients in a separate process (httpx, reading
every frame as a page's EventSource does): a headless Chromium each would measure
Chromium's appetite for the two shared cores, not the dashboard's cost to the engine.
Both sides bind the engine's control socket; only the "with" side has anyone asking it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tickbridge_dev.bench.engine import (
    BUSY_POLL_US,
    CONTROL,
    TICKS_PER_FRAME,
    _engine_ingest,
    _roundtrip,
)
from tickbridge_dev.bench.registry import Benchmark, BenchResult

BROWSERS = 2
DISPLAY_HZ = 4.0
# 15, not 5: the rounds without the dashboard alone spread by about 30% on this machine,
# and five rounds' medians straddled the 10% target both ways (docs/benchmarks.md).
ROUNDS = 15


def _browsers(url: str, token: str, count: int, stop: Any, frames: Any,
              connected: Any) -> None:
    """Child process: ``count`` event-stream readers until ``stop``; each says when it has
    its first frame (``connected``); the frames each read -> ``frames``."""
    import threading

    import httpx

    got = [0] * count

    def read(i: int) -> None:
        with httpx.Client(timeout=None) as client, client.stream(
                "GET", url, headers={"authorization": f"Bearer {token}"}) as reply:
            for line in reply.iter_lines():
                if line.startswith("data: "):
                    got[i] += 1
                    if got[i] == 1:
                        connected.put(i)
                if stop.is_set():
                    return

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    stop.wait()
    frames.put(list(got))


class Watched:
    """The dashboard on an engine with browsers connected: ``attach`` for the workloads.
    ``separate``: the dashboard as its own process (``tickbridge dashboard``), not in the
    engine's (``tickbridge run --dashboard``)."""

    def __init__(self, separate: bool = False) -> None:
        self.separate = separate
        self.frames: list[list[int]] = []
        self.dropped: list[int] = []

    @contextlib.contextmanager
    def attach(self, engine: Any) -> Iterator[None]:
        with self._dashboard(engine) as (stream_url, token, dropped):
            ctx = mp.get_context("spawn")
            stop, frames, connected = ctx.Event(), ctx.Queue(), ctx.Queue()
            process = ctx.Process(target=_browsers, daemon=True, args=(
                stream_url, token, BROWSERS, stop, frames, connected))
            process.start()
            deadline = time.monotonic() + 60
            waiting = BROWSERS
            while waiting:  # the engine answers the feed while it waits
                engine.poll(timeout_ms=10)
                with contextlib.suppress(Exception):
                    connected.get_nowait()
                    waiting -= 1
                if time.monotonic() > deadline:
                    raise RuntimeError("the browsers did not connect to the dashboard")
            try:
                yield
            finally:
                self.dropped.append(dropped())
                stop.set()
                # A reader notices the stop at its next frame: frames keep coming (the
                # feed shows the engine not answering, once a second).
                with contextlib.suppress(Exception):
                    self.frames.append(frames.get(timeout=30))
                process.join(10)

    @contextlib.contextmanager
    def _dashboard(self, engine: Any) -> Iterator[tuple[str, str, Any]]:
        """(stream URL, read token, frames dropped so far -> int) of a served dashboard."""
        owner = engine.control.auth.owner_token
        if not self.separate:
            from tickbridge.cli.dashboard import serve
            from tickbridge.config import default_config

            served = serve(default_config(), control_endpoint=engine.control.endpoint,
                           token=lambda: owner, state_store=None, host="127.0.0.1",
                           port=0, tls_cert=None, tls_key=None, rate_hz=DISPLAY_HZ)
            try:
                yield (served.urls["base"] + "api/stream", served.dashboard.tokens.read,
                       lambda: served.dashboard.feed.dropped)
            finally:
                served.stop()
            return
        with tempfile.TemporaryDirectory() as folder:
            token_file = Path(folder) / "token"
            token_file.write_text(owner)
            token_file.chmod(0o600)
            process = subprocess.Popen(
                [sys.executable, "-m", "tickbridge", "dashboard", "--engine-control",
                 engine.control.endpoint, "--token-file", str(token_file), "--port", "0",
                 "--rate", str(DISPLAY_HZ)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                assert process.stdout is not None
                base = read = ""
                while not read:
                    line = process.stdout.readline()
                    if not line:
                        raise RuntimeError("tickbridge dashboard exited before serving")
                    if "dashboard at " in line:
                        base = line.split("dashboard at ", 1)[1].strip()
                    if "read-only:" in line:
                        read = line.split("token=", 1)[1].strip()
                yield base + "api/stream", read, lambda: -1  # its count is in its process
            finally:
                process.terminate()
                process.wait(30)


def run_dashboard(quick: bool, separate: bool = False) -> BenchResult:
    # 16 M ticks: about a second of ingest, so the dashboard polls (4 a second) and
    # pushes during it (the ingest benchmark's 2 M ticks take a tenth of that).
    frames = 50 if quick else 16_000
    per_block = 20 if quick else 500
    rounds = 1 if quick else ROUNDS
    watched = Watched(separate)
    ingest_without: list[float] = []
    ingest_with: list[float] = []
    p50_without: list[float] = []
    p50_with: list[float] = []
    p99_without: list[float] = []
    p99_with: list[float] = []
    for _ in range(rounds):
        ingest_without.append(_engine_ingest(frames, control=CONTROL)[0])
        ingest_with.append(_engine_ingest(frames, control=CONTROL, attach=watched.attach)[0])
        ours, _ = _roundtrip(per_block, BUSY_POLL_US, control=CONTROL)
        p50_without.append(_percentile(ours, 50))
        p99_without.append(_percentile(ours, 99))
        ours, _ = _roundtrip(per_block, BUSY_POLL_US, control=CONTROL, attach=watched.attach)
        p50_with.append(_percentile(ours, 50))
        p99_with.append(_percentile(ours, 99))
    ingest = statistics.median(ingest_with) / statistics.median(ingest_without)
    tick_to_order = statistics.median(p50_without) / statistics.median(p50_with)
    ratio = min(ingest, tick_to_order)
    return BenchResult(
        name="dashboard_process" if separate else "dashboard",
        value=statistics.median(ingest_with), unit="ticks/s",
        baseline="the same workloads without the dashboard, alternating rounds, medians",
        baseline_value=statistics.median(ingest_without), ratio=ratio,
        targets={"ratio": 0.9},
        extra={"ingest_ratio": ingest, "roundtrip_p50_ratio": tick_to_order,
               "roundtrip_p99_ratio": statistics.median(p99_without) /
               statistics.median(p99_with),
               "ingest_with": ingest_with, "ingest_without": ingest_without,
               "roundtrip_p50_us_with": p50_with, "roundtrip_p50_us_without": p50_without,
               "roundtrip_p99_us_with": p99_with, "roundtrip_p99_us_without": p99_without,
               "browser_frames": watched.frames, "feed_dropped": watched.dropped,
               "browsers": BROWSERS, "browser_kind": "SSE clients (httpx), not Chromium",
               "dashboard_in": "its own process (tickbridge dashboard)" if separate else
               "the engine's process (tickbridge run --dashboard)",
               "display_hz": DISPLAY_HZ, "rounds": rounds, "frames": frames,
               "per_block": per_block,
               "ingest_window_s": frames * TICKS_PER_FRAME / statistics.median(ingest_with)},
    )


def _percentile(samples: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(samples), q))


BENCHMARKS = [
    Benchmark("dashboard", "ingest and roundtrip with the dashboard in the engine's process "
              "and two browsers, against without (ratio: the worse of the two)",
              run_dashboard),
    Benchmark("dashboard_process", "the same, the dashboard as its own process "
              "(tickbridge dashboard)", lambda quick: run_dashboard(quick, separate=True)),
]
