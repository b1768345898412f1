"""``ninjascript_call``: the NinjaTrader shim's OnMarketData under Mono, and its throughput.

The hot path judged here is one forwarded market-data callback: TickBridgeStrategy's
OnMarketData encoding a Trade/Quote into the bridge's lock-free queue and returning. It
is timed in the test host (tests/ninjascript/host) that plays NinjaTrader, against the
same host calling an empty OnMarketData override, in the same run. Then a flood of
trades measures events per second from the shim, through its bridge thread and
ZeroMQ, into a receiving peer that counts records.

Needs the source tree (ninjascript/, tests/ninjascript/) and Mono (mcs, mono, libzmq5).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tickbridge_dev.bench.registry import Benchmark, BenchResult

ROOT = Path(__file__).resolve().parents[2]
DLLMAP = '<configuration>\n  <dllmap dll="libzmq" target="libzmq.so.5" />\n</configuration>\n'


def _build(out: Path) -> Path:
    if shutil.which("mcs") is None or shutil.which("mono") is None:
        raise RuntimeError("ninjascript_call needs Mono: mcs and mono (Debian mono-devel)")
    sources = sorted((ROOT / "ninjascript").rglob("*.cs"))
    sources += sorted((ROOT / "tests/ninjascript/stub").glob("*.cs"))
    sources += sorted((ROOT / "tests/ninjascript/host").glob("*.cs"))
    if not sources:
        raise RuntimeError(f"ninjascript sources not found under {ROOT}")
    exe = out / "host.exe"
    subprocess.run(
        ["mcs", "-langversion:5", "-nologo", "-optimize+", "-target:exe", f"-out:{exe}",
         "-r:System.ComponentModel.DataAnnotations.dll", "-r:System.Xml.dll",
         "-r:System.Core.dll", *map(str, sources)],
        check=True, capture_output=True, text=True,
    )
    (out / "host.exe.config").write_text(DLLMAP)
    return exe


class _Receiver:
    """A counting engine: answers Hello with a Heartbeat, beats every 100 ms, and counts
    the records of every frame from its header alone (no per-record Python work)."""

    def __init__(self) -> None:
        import zmq

        from tickbridge.protocol import RecordType, decode_header, encode_frame, make_record

        self._zmq, self._decode_header = zmq, decode_header
        self._beat = lambda seq: encode_frame(
            [make_record(RecordType.HEARTBEAT, time_ns=time.time_ns())],
            session_id=0xBE4C, sequence=seq, send_time_ns=time.time_ns())
        self.socket = zmq.Context.instance().socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.bind("tcp://127.0.0.1:*")
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.records = 0
        self.last_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        zmq = self._zmq
        shim, sequence, last_beat = None, 0, 0.0
        while not self._stop.is_set():
            if self.socket.poll(10):
                for _ in range(10000):
                    try:
                        identity, data = self.socket.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.records += self._decode_header(data).record_count
                    self.last_at = time.perf_counter()
                    shim = identity
            if shim is not None and time.monotonic() - last_beat > 0.1:
                sequence += 1
                self.socket.send_multipart([shim, self._beat(sequence)])
                last_beat = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.socket.close(0)


class _Host:
    def __init__(self, exe: Path) -> None:
        self.process = subprocess.Popen(["mono", str(exe)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, bufsize=1)

    def command(self, line: str, event: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        while True:
            text = self.process.stdout.readline()
            if not text:
                raise RuntimeError(f"test host exited during {line!r}")
            result = json.loads(text)
            if result["event"] == "error":
                raise RuntimeError(result["message"])
            if result["event"] == event:
                return result

    def close(self) -> None:
        try:
            self.command("terminate", "terminated")
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(10)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self.process.kill()


def run(quick: bool) -> BenchResult:
    calls = 20_000 if quick else 1_000_000
    flood = 20_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        exe = _build(Path(tmp))
        receiver = _Receiver()
        host = _Host(exe)
        try:
            host.command(f"start engine={receiver.endpoint} kill=none hb=100", "started")
            deadline = time.monotonic() + 10
            while not host.command("stats", "stats").get("engine_connected"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the shim did not connect to the receiver")
                time.sleep(0.05)
            empty = host.command(f"empty_timing n={calls}", "empty_timing")
            forwarded = host.command(f"timing n={calls}", "timing")
            time.sleep(0.3)
            before = receiver.records
            start = time.perf_counter()
            flooded = host.command(f"flood n={flood}", "flood")
            time.sleep(0.2)
            delivered = receiver.records - before
            seconds = max(receiver.last_at - start, 1e-9)
        finally:
            host.close()
            receiver.close()
    forwarded_ns, empty_ns = forwarded["mean_ns"], empty["mean_ns"]
    value = 1e9 / forwarded_ns
    baseline = 1e9 / empty_ns
    return BenchResult(
        name="ninjascript_call", value=value, unit="calls/s",
        baseline="empty OnMarketData override, same host", baseline_value=baseline,
        # higher is better: empty cost / forwarded cost (1.0 = forwarding costs nothing)
        ratio=value / baseline,
        extra={
            "forwarded_ns_per_call": forwarded_ns, "empty_ns_per_call": empty_ns,
            "forwarded_p99_ns": forwarded["p99_ns"], "forwarded_max_ns": forwarded["max_ns"],
            "calls": calls,
            "events_per_second_into_peer": delivered / seconds,
            "flood_events": flood, "flood_delivered": delivered,
            "flood_dropped_by_shim": flooded["dropped"],
            "flood_callback_seconds": flooded["call_seconds"],
        },
    )


BENCHMARKS = [Benchmark(
    "ninjascript_call",
    "NinjaTrader shim under Mono: forwarded OnMarketData vs an empty one; events/s to a peer",
    run,
)]
