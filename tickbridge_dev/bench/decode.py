"""``decode``: tick records from wire frames into numpy, against ``np.frombuffer`` with the
same validation (the headline) and against struct-based decoding (an extra field).

Both sides touch the same one column (``price``) of every frame's records."""

from __future__ import annotations

import struct

import numpy as np

from tickbridge.protocol import (
    DTYPES,
    MAGIC,
    VERSION,
    RecordType,
    decode_frame,
    encode_frame,
    new_records,
)
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


_TRADE = int(RecordType.TRADE)
_TRADE_DTYPE = DTYPES[RecordType.TRADE]
_TRADE_KEY = _TRADE | (_TRADE_DTYPE.itemsize << 16)


def _frombuffer_decode(frame: bytes) -> np.ndarray:
    """The numpy baseline: the frame header checked (magic, version), then the records
    as one ``np.frombuffer`` view, checked the way the codec checks them -- every record
    a trade of the trade length (the 4-byte type|length heads compared vectorised), the
    count filling the frame exactly. Frames of one record type only (as benchmarked)."""
    magic, version, _, _, _, _, count, _ = _HEADER.unpack_from(frame)
    if magic != MAGIC or version != VERSION:
        raise ValueError("bad frame header")
    size = _TRADE_DTYPE.itemsize
    if 40 + count * size != len(frame):
        raise ValueError("byte 40: record count does not fill the frame")
    heads = np.ndarray((count,), "<u4", frame, 40, (size,))
    if not (heads == _TRADE_KEY).all():
        raise ValueError(f"byte {40 + int(np.argmax(heads != _TRADE_KEY)) * size}: bad record")
    return np.frombuffer(frame, _TRADE_DTYPE, count, 40)


def run(quick: bool) -> BenchResult:
    frames = _frames(5 if quick else 200)
    ticks = len(frames) * TICKS_PER_FRAME

    def ours() -> None:
        for frame in frames:
            decode_frame(frame).runs[0].records["price"]

    def struct_baseline() -> None:
        for frame in frames:
            _struct_decode(frame)

    def numpy_baseline() -> None:
        for frame in frames:
            _frombuffer_decode(frame)["price"]

    assert np.array_equal(decode_frame(frames[0]).runs[0].records["price"],
                          [r[4] for r in _struct_decode(frames[0])])
    assert np.array_equal(decode_frame(frames[0]).runs[0].records,
                          _frombuffer_decode(frames[0]))
    value = timed_rate(ours, ticks, repeat=5)
    numpy_rate = timed_rate(numpy_baseline, ticks, repeat=5)
    struct_rate = timed_rate(struct_baseline, ticks, repeat=3)
    return BenchResult(
        name="decode", value=value, unit="ticks/s",
        baseline="np.frombuffer with the same checks (header, record heads, count)",
        baseline_value=numpy_rate, ratio=value / numpy_rate, targets={"struct_ratio": 50},
        extra={"ticks_per_frame": TICKS_PER_FRAME, "frames": len(frames),
               "struct_baseline": "struct.unpack_from per record, same checks",
               "struct_value": struct_rate, "struct_ratio": value / struct_rate},
    )


BENCHMARKS = [Benchmark("decode", "wire frames of 1000 trades into numpy views, vs "
                        "np.frombuffer with the same checks", run)]
