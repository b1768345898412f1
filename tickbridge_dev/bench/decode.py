"""``decode``: tick records from wire frames into numpy, against struct-based decoding."""

from __future__ import annotations

import struct

import numpy as np

from tickbridge.protocol import RecordType, decode_frame, encode_frame, new_records
from tickbridge_dev.bench.registry import Benchmark, BenchResult, timed_rate

TICKS_PER_FRAME = 1000  # what a shim batches at a busy open (see docs/benchmarks.md)


def _frames(count: int) -> list[bytes]:
    rng = np.random.default_rng(7)
    frames = []
    for seq in range(1, count + 1):
        trades = new_records(RecordType.TRADE, TICKS_PER_FRAME)
        trades["instrument_id"] = 1
        trades["time_ns"] = 1_795_000_000_000_000_000 + np.arange(TICKS_PER_FRAME) * 1000
        trades["price"] = 6000 + 0.25 * rng.integers(-40, 40, TICKS_PER_FRAME)
        trades["size"] = rng.integers(1, 20, TICKS_PER_FRAME)
        trades["aggressor"] = rng.integers(1, 3, TICKS_PER_FRAME)
        frames.append(encode_frame([trades], session_id=1, sequence=seq, send_time_ns=0))
    return frames


_HEADER = struct.Struct("<IHHQQqII")
_HEAD = struct.Struct("<HH")
# The baseline decoder knows the same record layouts, as struct formats.
_STRUCTS = {
    int(RecordType.TRADE): struct.Struct("<HHIqdIBBH"),
    int(RecordType.QUOTE): struct.Struct("<HHIqddII"),
}


def _struct_decode(frame: bytes) -> list[tuple]:
    """The baseline: a plain struct decoder with the same checks as ours (magic, version,
    per record: known type, fixed length, inside the frame), one struct call per record."""
    magic, version, _, _, _, _, count, _ = _HEADER.unpack_from(frame)
    if magic != 0x47524254 or version != 1:
        raise ValueError("bad frame header")
    out = []
    offset = 40
    for _ in range(count):
        rtype, length = _HEAD.unpack_from(frame, offset)
        fmt = _STRUCTS.get(rtype)
        if fmt is None or fmt.size != length or offset + length > len(frame):
            raise ValueError(f"byte {offset}: bad record")
        out.append(fmt.unpack_from(frame, offset))
        offset += length
    if offset != len(frame):
        raise ValueError(f"byte {offset}: trailing bytes")
    return out


def run(quick: bool) -> BenchResult:
    frames = _frames(5 if quick else 200)
    ticks = len(frames) * TICKS_PER_FRAME

    def ours() -> None:
        for frame in frames:
            decode_frame(frame).runs[0].records["price"]

    def baseline() -> None:
        for frame in frames:
            _struct_decode(frame)

    assert np.array_equal(decode_frame(frames[0]).runs[0].records["price"],
                          [r[4] for r in _struct_decode(frames[0])])
    value = timed_rate(ours, ticks, repeat=5)
    base = timed_rate(baseline, ticks, repeat=3)
    return BenchResult(
        name="decode", value=value, unit="ticks/s", baseline="struct per record",
        baseline_value=base, ratio=value / base, targets={"ratio": 50},
        extra={"ticks_per_frame": TICKS_PER_FRAME, "frames": len(frames)},
    )


BENCHMARKS = [Benchmark("decode", "wire frames of 1000 trades into numpy views", run)]
