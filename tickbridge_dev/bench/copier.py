"""``copier``: a leader's fill to the last follower's order, over real ZeroMQ sockets,
against the bare ``roundtrip`` echo of the same run (alternating blocks, one client).

The engine is the configured one (``build_engine``: the risk gate of every follower, the
state store, the copier in ``copy_fills``). A client process plays the leader's shim and
each follower's shim: it answers the engine's snapshot requests (so every link is
confirmed), then, per sample, sends the leader's Fill and Position in one frame and times
until every follower's socket has its Submit (the last follower's order sent, as its
shim receives it). Each follower then answers with the ack, the fill and its position, so
the next leader fill (the other way) is copied from a settled position.

The clock runs as for the echo: from the send of a frame encoded before it starts, to the
return of a blocking receive (each follower's socket in turn, all sent in one pass), so
the client's Python is not timed. The engine runs in its latency set-up (docs/engine.md):
busy_poll_us; its loop and the store's threads on one CPU (cpu), the store's below the
loop (store_priority = "low"); the other CPU left to libzmq's I/O threads and the client.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from tickbridge.protocol import (
    Platform,
    RecordType,
    SnapshotPhase,
    decode_frame,
    encode_frame,
    make_record,
)
from tickbridge_dev.bench.engine import BUSY_POLL_US, T0, _serve_echo
from tickbridge_dev.bench.registry import Benchmark, BenchResult

BLOCKS, WARMUP = 6, 20
_SUBMIT = int(RecordType.SUBMIT).to_bytes(2, "little")

CONFIG = """\
mode = "paper"
[engine]
heartbeat_ms = 1000
busy_poll_us = {busy_poll_us}
{cpu}store_priority = "low"
snapshot_interval_s = 0
kill_on_shim_lost = false
{accounts}
[[instruments]]
symbol = "ES"
[risk.defaults]
max_order_qty = 100
max_position = 1000
band_ticks = 4000
max_data_age_ms = 3600000
[copier]
leader = {{account = "L"}}
mode = "copy_fills"
policy = "alert"
sync_interval_s = 0
{followers}
"""


def _config(followers: int) -> str:
    names = ["L", *(f"F{i}" for i in range(followers))]
    return CONFIG.format(
        busy_poll_us=BUSY_POLL_US,
        # The first CPU this process may use (not pinned where there is no affinity).
        cpu=f"cpu = {min(os.sched_getaffinity(0))}\n" if hasattr(os, "sched_getaffinity")
        else "",
        accounts="".join(f'[[accounts]]\nname = "{n}"\nmode = "paper"\n' for n in names),
        followers="".join(f'[[copier.followers]]\naccount = "F{i}"\n'
                          'sizing = {kind = "ratio", ratio = 1.0, max = 100}\n'
                          for i in range(followers)))


class _Shim:
    """One simulated platform session of the client: its socket and frame sequence."""

    def __init__(self, context: zmq.Context, endpoint: str, account: str, session: int) -> None:
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.RCVTIMEO, 10_000)  # a refused copy fails the run
        self.socket.connect(endpoint)
        self.account, self.session, self.sequence = account, session, 0
        self.position = 0

    def frame(self, records: list[Any]) -> bytes:
        """The session's next frame (its sequence taken)."""
        self.sequence += 1
        return encode_frame(records, session_id=self.session, sequence=self.sequence,
                            send_time_ns=0)

    def send(self, records: list[Any]) -> None:
        self.socket.send(self.frame(records))

    def next_submit(self) -> bytes:
        """Blocks until a frame with a Submit arrives (heartbeats before it skipped)."""
        while True:
            try:
                frame = self.socket.recv()
            except zmq.Again:
                raise RuntimeError(f"no Submit at {self.account} 10 s after the leader's "
                                   "fill (refused? see the log)") from None
            if _has_submit(frame):
                return frame

    def hello(self) -> None:
        self.send([make_record(RecordType.HELLO, platform=int(Platform.SIERRA_CHART),
                               simulated=1, heartbeat_interval_ms=1000, account=self.account,
                               platform_version="bench"),
                   make_record(RecordType.INSTRUMENT_DEFINITION, instrument_id=1,
                               tick_size=0.25, point_value=50.0, symbol="ESZ6",
                               exchange="CME")])
        # The market after the definitions (the risk gate's reference price and clock).
        self.send([make_record(RecordType.TRADE, instrument_id=1, time_ns=T0, price=6000.0,
                               size=1, aggressor=1)])

    def answer_snapshots(self, frame: bytes) -> bool:
        """Answers a snapshot request in ``frame``; True when there was one."""
        answered = False
        for rtype, rec in decode_frame(frame):
            if rtype == RecordType.SNAPSHOT_REQUEST:
                request = int(rec["request_id"])
                self.send([make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request,
                                       phase=int(SnapshotPhase.BEGIN)),
                           make_record(RecordType.POSITION, instrument_id=1, time_ns=T0,
                                       quantity=self.position, average_price=6000.0),
                           make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request,
                                       phase=int(SnapshotPhase.END), record_count=1)])
                answered = True
        return answered

    def fill_submits(self, frame: bytes, fills: int) -> int:
        """The follower's platform fills each Submit in ``frame`` at once."""
        for rtype, rec in decode_frame(frame):
            if rtype != RecordType.SUBMIT:
                continue
            fills += 1
            coid, quantity, side = int(rec["client_order_id"]), int(rec["quantity"]), \
                int(rec["side"])
            self.position += quantity if side == 1 else -quantity
            self.send([make_record(RecordType.COMMAND_ACK, request_id=int(rec["request_id"]),
                                   client_order_id=coid, command_type=int(RecordType.SUBMIT),
                                   instrument_id=1),
                       make_record(RecordType.FILL, instrument_id=1, client_order_id=coid,
                                   time_ns=T0, price=6000.0, quantity=quantity, side=side,
                                   execution_id=f"{self.account}-{fills}"),
                       make_record(RecordType.POSITION, instrument_id=1, time_ns=T0,
                                   quantity=self.position, average_price=6000.0)])
        return fills


def _has_submit(frame: bytes) -> bool:
    if len(frame) > 64 and frame[40:42] == _SUBMIT:
        return True
    return any(rtype == RecordType.SUBMIT for rtype, _ in decode_frame(frame))


def _wait_booked(booked: Any, frames: int) -> None:
    deadline = time.monotonic() + 10
    while booked.value < frames:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the engine took {booked.value} of {frames} frames in 10 s")
        time.sleep(0.0002)


def _client(engine_endpoint: str, echo_endpoint: str, followers: int, per_block: int,
            results: Any, ready: Any, booked: Any) -> None:
    context = zmq.Context()
    echo = context.socket(zmq.DEALER)
    echo.connect(echo_endpoint)
    leader = _Shim(context, engine_endpoint, "L", 100)
    shims = [_Shim(context, engine_endpoint, f"F{i}", 200 + i) for i in range(followers)]
    ready.wait()
    for shim in (leader, *shims):
        shim.hello()
    # Every link confirmed by its snapshot, then settled by the copier's second one.
    answered = dict.fromkeys((shim.account for shim in (leader, *shims)), 0)
    while min(answered.values()) < 2:
        for shim in (leader, *shims):
            if shim.socket.poll(1) and shim.answer_snapshots(shim.socket.recv()):
                answered[shim.account] += 1
    time.sleep(0.2)  # the snapshots compared (the engine's side), not in any sample
    echo_frame = encode_frame([make_record(RecordType.TRADE, instrument_id=1, time_ns=T0,
                                           price=6000.0, size=1, aggressor=1)],
                              session_id=1, sequence=2, send_time_ns=0)
    ours: list[float] = []
    theirs: list[float] = []
    fills = executions = 0
    for block in range(BLOCKS + 1):  # block 0 warms both paths up and is not kept
        count = per_block if block else WARMUP
        for _ in range(count):
            start = time.perf_counter_ns()
            echo.send(echo_frame)
            echo.recv()
            if block:
                theirs.append((time.perf_counter_ns() - start) / 1000)
        for _ in range(count):
            executions += 1
            side = 1 if leader.position == 0 else 2
            leader.position = 1 if side == 1 else 0
            records = [make_record(RecordType.FILL, instrument_id=1, time_ns=T0,
                                   price=6000.0, quantity=1, side=side,
                                   execution_id=f"L-{executions}",
                                   platform_order_id=f"P{executions}"),
                       make_record(RecordType.POSITION, instrument_id=1, time_ns=T0,
                                   quantity=leader.position, average_price=6000.0)]
            frame = leader.frame(records)
            start = time.perf_counter_ns()
            leader.socket.send(frame)
            got = [(shim, shim.next_submit()) for shim in shims]
            if block:
                ours.append((time.perf_counter_ns() - start) / 1000)
            for shim, frame in got:
                fills = shim.fill_submits(frame, fills)
            while leader.socket.poll(0):
                leader.socket.recv()
            # The next leader fill once the engine has taken every frame sent so far (the
            # followers' fills booked): the copy's latency, not a queue behind bookings.
            _wait_booked(booked, sum(shim.sequence for shim in (leader, *shims)))
    echo.send(b"")
    results.put((ours, theirs))
    for shim in (leader, *shims):
        shim.socket.close(0)
    echo.close(0)
    context.term()


def _copy(followers: int, per_block: int
          ) -> tuple[list[float], list[float], tuple[int, int]]:
    """(copy samples, echo samples, (copies the core sent, follower orders in all))."""
    from tickbridge.config import load_config
    from tickbridge.engine.build import build_engine

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copier.toml"
        path.write_text(_config(followers))
        engine = build_engine(load_config(path), clock="market",
                              shim_endpoint="tcp://127.0.0.1:*",
                              control_endpoint="tcp://127.0.0.1:*",
                              state_store=Path(folder) / "state.sqlite", strategies=[])
        engine.start()
        echo = zmq.Context.instance().socket(zmq.ROUTER)
        port = echo.bind_to_random_port("tcp://127.0.0.1")
        echo_thread = threading.Thread(target=_serve_echo, args=(echo, BUSY_POLL_US),
                                       daemon=True)
        echo_thread.start()
        ctx = mp.get_context("spawn")
        results, ready = ctx.Queue(), ctx.Event()
        booked = ctx.Value("q", 0, lock=False)  # frames the engine has taken, every peer's
        process = ctx.Process(target=_client, daemon=True, args=(
            engine.endpoint, f"tcp://127.0.0.1:{port}", followers, per_block, results, ready,
            booked))
        process.start()
        ready.set()
        samples = None
        deadline = time.monotonic() + 300
        try:
            while samples is None:
                if engine.poll(timeout_ms=50):
                    booked.value = sum(s.last_sequence for s in engine.sessions.values())
                    continue
                if not results.empty():
                    samples = results.get()
                elif not process.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the copier client died or stalled; no samples")
        finally:
            process.join(10)
            echo_thread.join(10)
            echo.close(0)
            copies = (engine.copies.sent if engine.copies else 0,
                      sum(f.orders for f in engine.copier.followers.values()))
            engine.close()
        return (*samples, copies)


def _p(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def run_copier(quick: bool) -> BenchResult:
    per_block = 10 if quick else 150
    runs = {n: _copy(n, per_block) for n in (1, 5, 10)}
    p50 = {n: _p(runs[n][0], 50) for n in runs}
    echo = {n: _p(runs[n][1], 50) for n in runs}
    over_one = p50[1] - echo[1]
    # The cost of one more follower, between 1 and 5 followers and between 5 and 10.
    slope_low, slope_high = (p50[5] - p50[1]) / 4, (p50[10] - p50[5]) / 5
    one, echo_one = runs[1][0], runs[1][1]
    return BenchResult(
        name="copier", value=p50[1], unit="us p50",
        baseline="bare pyzmq ROUTER echo (roundtrip's), alternating blocks",
        baseline_value=echo[1], ratio=echo[1] / p50[1],
        # Targets of issue 19: p50 within 50 us of the echo for one follower; growing no
        # worse than linearly: a follower more costs no more from 5 to 10 followers than
        # from 1 to 5 (1.5 times, for the noise; a quadratic cost would be 2.5 times).
        targets={"p50_margin_ok": 1, "linear_ok": 1},
        extra={"followers_1_p50_us": p50[1], "followers_1_p99_us": _p(one, 99),
               "echo_p50_us": echo[1], "echo_p99_us": _p(echo_one, 99),
               "followers_1_p50_over_echo_us": over_one,
               "followers_5_p50_us": p50[5], "followers_5_p99_us": _p(runs[5][0], 99),
               "followers_10_p50_us": p50[10], "followers_10_p99_us": _p(runs[10][0], 99),
               "followers_10_echo_p50_us": echo[10],
               "followers_10_p50_over_echo_us": p50[10] - echo[10],
               "per_extra_follower_1_to_5_us": slope_low,
               "per_extra_follower_5_to_10_us": slope_high,
               "p50_margin_ok": int(over_one <= 50.0),
               "linear_ok": int(slope_high <= 1.5 * max(slope_low, 1.0)),
               "compiled_copies": sum(r[2][0] for r in runs.values()),
               "copies": sum(r[2][1] for r in runs.values()),
               "samples": len(one), "mean_us": statistics.fmean(one), "pid": os.getpid()},
    )


BENCHMARKS = [
    Benchmark("copier", "a leader's fill to the last follower's Submit (1, 5, 10 followers)",
              run_copier),
]
