"""``audit_durable``: audited events made durable through the state store, against the same
records appended to a plain file with one fsync per batch of the same size.

Judged the hot path: what the engine pays per audited event (request, command, transition,
ack) with the chain, the SQLite insert and the group-commit fsync. Inputs judged realistic:
a payload the size of an order-update record's audit (a dozen fields). Both sides write
to a temporary directory on the real disk (not tmpfs) and end with everything fsynced.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from tickbridge_dev.bench.registry import Benchmark, BenchResult


def _payload(i: int) -> dict[str, object]:
    return {"client_order_id": 1_000_000 + i, "instrument": "ESZ6", "side": "BUY",
            "order_type": "LIMIT", "quantity": 2, "price": 6000.25 + (i % 40) * 0.25,
            "state": "WORKING", "request_id": 7_000_000 + i, "event": "ack",
            "platform_order_id": f"SC{100000 + i}", "account": "Sim101", "shim_session": 42}


def _ours(directory: Path, events: int) -> tuple[float, float]:
    from tickbridge.store import StateStore

    path = directory / "state.db"
    store = StateStore(path, max_batch=2_000, queue_capacity=events + 1)
    payloads = [_payload(i) for i in range(events)]
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        store.audit("transition", payload, client_order_id=1_000_000 + i, account="Sim101")
    store.sync().result()
    elapsed = time.perf_counter() - start
    mean_batch = store.stats.mean_batch
    store.close()
    return events / elapsed, mean_batch


def _baseline(directory: Path, events: int, batch: int) -> float:
    """The same records (the same canonical JSON, one line each) appended to a plain file,
    one fsync per ``batch`` records: the floor of "durable", with no index, no chain."""
    payloads = [_payload(i) for i in range(events)]
    # The same canonical encoder as the audit log, built once: a fair, fast baseline.
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False).encode
    path = directory / "plain.jsonl"
    start = time.perf_counter()
    with open(path, "ab", buffering=0) as f:
        fd = f.fileno()
        for offset in range(0, events, batch):
            lines = [encode([time.time_ns(), time.monotonic_ns(), "transition",
                            p["client_order_id"], "Sim101", p]).encode()
                     + b"\n" for p in payloads[offset: offset + batch]]
            f.write(b"".join(lines))
            os.fsync(fd)
    return events / (time.perf_counter() - start)


def _real_disk_dir() -> str | None:
    # /dev/shm or a tmpfs /tmp would make fsync free and the figure meaningless: prefer the
    # working directory's disk when /tmp is a tmpfs.
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                parts = line.split()
                if parts[1] == "/tmp" and parts[2] == "tmpfs":
                    return os.getcwd()
    except OSError:
        pass
    return None


def run(quick: bool) -> BenchResult:
    events = 5_000 if quick else 200_000
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="tb-bench-audit-", dir=_real_disk_dir()) as tmp:
        # A first run finds the batch size group commit settles on; the baseline fsyncs
        # batches of that size. Then ours and the baseline alternate, best of each kept, so
        # that load from other processes on a shared machine hits both alike.
        best_ours, mean_batch = _ours(Path(tmp), events)
        _remove_store(Path(tmp))
        batch_size = max(1, round(mean_batch))
        base = 0.0
        for _ in range(rounds):
            base = max(base, _baseline(Path(tmp), events, batch_size))
            (Path(tmp) / "plain.jsonl").unlink()
            rate, _ = _ours(Path(tmp), events)
            _remove_store(Path(tmp))
            best_ours = max(best_ours, rate)
    return BenchResult(
        name="audit_durable", value=best_ours, unit="events/s",
        baseline=f"JSON lines + fsync per {batch_size}", baseline_value=base,
        ratio=best_ours / base, targets={"ratio": 0.5, "value": 50_000},
        extra={"events": events, "mean_batch": round(mean_batch, 1)},
    )


def _remove_store(directory: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".witness"):
        Path(directory, "state.db" + suffix).unlink(missing_ok=True)


BENCHMARKS = [Benchmark("audit_durable", "audit records durable via group commit vs fsync",
                        run)]
