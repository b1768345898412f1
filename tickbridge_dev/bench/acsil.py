"""Benchmark ``acsil_call``: the Sierra Chart study's cost on the platform thread.

What was judged the hot path: one call of the study function (Sierra Chart's main thread,
at every chart update) that forwards a batch of new time-and-sales entries, i.e. reads them
from the buffer, encodes Trade/Quote records and pushes them on the lock-free queue. The
same-run baseline is the same call with forwarding off (input "Forward time and sales" =
No): everything else the call does (commands, orders, fills, position) stays in both.
``ratio`` = baseline / value, higher is better: 1.0 would mean forwarding costs nothing.

Second figure (extra): events per second from the shim into a receiving ZeroMQ peer, with
the study called back to back (no chart update interval) — the socket thread's batching
throughput. The peer counts records from frame headers, so Python decoding is not timed.

It compiles acsil/TickBridgeStudy.cpp (C++17) with tests/acsil/harness.cpp against Sierra
Chart's real ACSIL headers, whose folder TICKBRIDGE_ACSIL_HEADERS names (g++, libzmq), so
it runs from a source checkout only.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
import time
from pathlib import Path

import zmq

from tickbridge_dev.bench.registry import Benchmark, BenchResult

ROOT = Path(__file__).resolve().parents[2]
ENTRIES_PER_CALL = 100


def _build() -> Path:
    sources = [ROOT / "acsil" / "TickBridgeStudy.cpp", ROOT / "tests" / "acsil" / "harness.cpp"]
    if not all(path.exists() for path in sources) or shutil.which("g++") is None:
        raise RuntimeError("acsil_call needs a source checkout and g++ with libzmq-dev")
    headers = Path(os.environ.get("TICKBRIDGE_ACSIL_HEADERS", "") or "/nonexistent")
    if not headers.is_absolute():
        headers = ROOT / headers
    if not (headers / "sierrachart.h").is_file():
        raise RuntimeError("acsil_call needs Sierra Chart's ACSIL headers: set "
                           "TICKBRIDGE_ACSIL_HEADERS to the folder holding sierrachart.h")
    folder = ROOT / "build" / "acsil" / "bench"
    # A fresh folder: the study includes "sierrachart.h" by quotes, so a stale header left
    # beside the copy (an older build's) would be found before the real one.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for source in (ROOT / "acsil" / "TickBridgeStudy.cpp", ROOT / "acsil" / "TickBridgeShim.h"):
        shutil.copy2(source, folder / source.name)
    binary = folder / "harness"
    # As tests/acsil/toolchain.py builds it (see there for -fpermissive and the stand-in).
    subprocess.run(["g++", "-std=c++17", "-O2", "-DNDEBUG", "-isystem",
                    str(ROOT / "tests" / "acsil" / "winstandin"), "-isystem", str(headers),
                    "-fpermissive", str(folder / "TickBridgeStudy.cpp"), str(sources[1]),
                    "-lzmq", "-pthread", "-o", str(binary)], check=True, capture_output=True)
    return binary


class _Harness:
    def __init__(self, binary: Path) -> None:
        self.process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)

    def __call__(self, line: str) -> list[str]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        out = []
        while (answer := self.process.stdout.readline().rstrip("\n")) != "OK":
            if not answer or answer.startswith("ERR"):
                raise RuntimeError(f"harness: {answer!r} on {line!r}")
            out.append(answer)
        return out

    def close(self) -> None:
        self("last")
        self.process.communicate("quit\n", timeout=30)


class _Sink:
    """Receives frames and counts records (offset 32 of the frame header)."""

    def __init__(self) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.bind("tcp://127.0.0.1:*")
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.records = 0
        self.last_arrival = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self.socket.poll(20):
                continue
            while True:
                try:
                    _, frame = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                (count,) = struct.unpack_from("<I", frame.buffer, 32)
                (first_type,) = struct.unpack_from("<H", frame.buffer, 40)
                if first_type == 0x0001:  # a heartbeat: not an event
                    continue
                self.records += count
                self.last_arrival = time.perf_counter()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.socket.close(0)
        self.context.term()


def _p50_call_ns(harness: _Harness, calls: int) -> float:
    (line,) = harness(f"bench {ENTRIES_PER_CALL} {calls}")
    fields = dict(part.split("=") for part in line.split()[1:])
    return float(fields["p50_ns"])


def run(quick: bool) -> BenchResult:
    binary = _build()
    calls = 300 if quick else 3000
    total = 50_000 if quick else 1_000_000
    sink = _Sink()
    harness = _Harness(binary)
    try:
        harness("defaults")
        harness(f"input 0 str {sink.endpoint}")
        harness("input 1 str ")
        harness("call")
        time.sleep(0.2)  # connected
        forwarding = _p50_call_ns(harness, calls)
        harness("input 6 yesno 0")
        baseline = _p50_call_ns(harness, calls)
        harness("input 6 yesno 1")

        time.sleep(0.3)
        before = sink.records
        start = time.perf_counter()
        harness(f"blast {total} {ENTRIES_PER_CALL}")
        deadline = time.perf_counter() + 10
        while sink.records - before < total and time.perf_counter() < deadline:
            idle = time.perf_counter() - max(sink.last_arrival, start)
            if idle > 1.0:
                break
            time.sleep(0.01)
        received = sink.records - before
        events_per_second = received / (sink.last_arrival - start)
    finally:
        harness.close()
        sink.close()
    return BenchResult(
        name="acsil_call",
        value=forwarding,
        unit=f"ns per study call forwarding {ENTRIES_PER_CALL} time-and-sales entries (p50)",
        baseline="the same call with forwarding off",
        baseline_value=baseline,
        ratio=baseline / forwarding,
        targets={},
        extra={
            "entries_per_call": ENTRIES_PER_CALL,
            "calls": calls,
            "forwarding_ns_per_entry": (forwarding - baseline) / ENTRIES_PER_CALL,
            "events_per_second": events_per_second,
            "events_sent": total,
            "events_received": received,
            "events_dropped": max(0, total - received),
        },
    )


BENCHMARKS = [
    Benchmark(
        "acsil_call",
        "Sierra Chart study call forwarding 100 time-and-sales entries vs forwarding off; "
        "events/s from the shim into a ZeroMQ peer",
        run,
    )
]
