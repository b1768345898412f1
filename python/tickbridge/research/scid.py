"""Sierra Chart intraday data files (``.scid``): memory-mapped reader and writer.

Layout, from Sierra Chart's "Intraday Data File Format" page, all little-endian:

header, 56 bytes (s_IntradayHeader)

| offset | size | type     | field                                   |
| ------ | ---- | -------- | --------------------------------------- |
| 0      | 4    | char[4]  | FileTypeUniqueHeaderID = "SCID"         |
| 4      | 4    | u32      | HeaderSize = 56                         |
| 8      | 4    | u32      | RecordSize = 40                         |
| 12     | 2    | u16      | Version (1)                             |
| 14     | 2    | u16      | Unused1                                 |
| 16     | 4    | u32      | UTCStartIndex (0)                       |
| 20     | 36   | char[36] | Reserve                                 |

record, 40 bytes each (s_IntradayRecord)

| offset | size | type  | field                                             |
| ------ | ---- | ----- | ------------------------------------------------- |
| 0      | 8    | i64   | DateTime: SCDateTimeMS, us since 1899-12-30 UTC   |
| 8      | 4    | f32   | Open                                              |
| 12     | 4    | f32   | High                                              |
| 16     | 4    | f32   | Low                                               |
| 20     | 4    | f32   | Close                                             |
| 24     | 4    | u32   | NumTrades                                         |
| 28     | 4    | u32   | TotalVolume                                       |
| 32     | 4    | u32   | BidVolume (volume traded at the bid: sells)       |
| 36     | 4    | u32   | AskVolume (volume traded at the ask: buys)        |

A record holding a single trade (a "tick" file, recorded with Intraday Data Storage
Time Unit = 1 tick) has Open = 0 -- or one of Sierra's two markers for the first and
last sub-trade of an unbundled trade, large negative floats -- and then High = ask,
Low = bid, Close = trade price. Any other record is a bar.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from tickbridge.research.timestamps import ns_to_scdatetime_us, scdatetime_us_to_ns

MAGIC = b"SCID"
HEADER_SIZE = 56
RECORD_SIZE = 40
VERSION = 1
_HEADER = struct.Struct("<4sIIHHI36s")
assert _HEADER.size == HEADER_SIZE

RECORD_DTYPE = np.dtype(
    [
        ("datetime_us", "<i8"),
        ("open", "<f4"),
        ("high", "<f4"),
        ("low", "<f4"),
        ("close", "<f4"),
        ("num_trades", "<u4"),
        ("total_volume", "<u4"),
        ("bid_volume", "<u4"),
        ("ask_volume", "<u4"),
    ]
)
assert RECORD_DTYPE.itemsize == RECORD_SIZE

# Open values at or below this are Sierra's sub-trade markers (about -1.999e37).
_SUB_TRADE_MARKER_BELOW = np.float32(-1e37)


class ScidFormatError(ValueError):
    """The bytes do not follow the published .scid layout."""


@dataclass(frozen=True)
class ScidHeader:
    header_size: int
    record_size: int
    version: int
    utc_start_index: int


@dataclass(frozen=True)
class ScidFile:
    """A .scid file as numpy: ``records`` is a read-only structured view of the file
    (memory-mapped: pages are read when touched), ``ts`` its times in UTC ns."""

    path: Path
    header: ScidHeader
    records: np.ndarray

    @cached_property
    def ts(self) -> np.ndarray:
        return scdatetime_us_to_ns(self.records["datetime_us"])

    @cached_property
    def tick_records(self) -> np.ndarray:
        """Boolean per record: True when it holds a single trade (Open = 0 or a marker)."""
        opens = self.records["open"]
        return (opens == 0) | (opens <= _SUB_TRADE_MARKER_BELOW)

    @property
    def is_tick_file(self) -> bool:
        return bool(self.tick_records.all()) if len(self.records) else True

    def __len__(self) -> int:
        return len(self.records)


def read_scid(path: str | os.PathLike[str], *, drop_partial_record: bool = False) -> ScidFile:
    """Memory-map a .scid file. A trailing partial record (the file is being written, or
    was cut) is an error unless ``drop_partial_record``: Sierra Chart flushes its buffer
    every few seconds, so a live file can end mid-record."""
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_SIZE:
        raise ScidFormatError(
            f"{path}: file is {size} bytes, shorter than the {HEADER_SIZE}-byte .scid header; "
            "truncated or not a Sierra Chart intraday file"
        )
    with path.open("rb") as f:
        raw = f.read(HEADER_SIZE)
        magic, header_size, record_size, version, _unused, utc_start, _reserve = _HEADER.unpack(
            raw
        )
        if magic != MAGIC:
            raise ScidFormatError(
                f"{path} offset 0: FileTypeUniqueHeaderID is {magic!r}, expected {MAGIC!r}; "
                "not a Sierra Chart intraday file"
            )
        if header_size != HEADER_SIZE:
            raise ScidFormatError(
                f"{path} offset 4: HeaderSize is {header_size}, expected {HEADER_SIZE}"
            )
        if record_size != RECORD_SIZE:
            raise ScidFormatError(
                f"{path} offset 8: RecordSize is {record_size}, expected {RECORD_SIZE} "
                "(s_IntradayRecord)"
            )
        body = size - HEADER_SIZE
        count, partial = divmod(body, RECORD_SIZE)
        if partial and not drop_partial_record:
            offset = HEADER_SIZE + count * RECORD_SIZE
            raise ScidFormatError(
                f"{path} offset {offset}: record {count} has {partial} of {RECORD_SIZE} "
                f"bytes; file truncated (or still being written); pass "
                "drop_partial_record=True to read the whole records only"
            )
        header = ScidHeader(header_size, record_size, version, utc_start)
        if count == 0:
            records = np.empty(0, dtype=RECORD_DTYPE)
        else:
            mapped = mmap.mmap(f.fileno(), HEADER_SIZE + count * RECORD_SIZE,
                               access=mmap.ACCESS_READ)
            records = np.frombuffer(mapped, dtype=RECORD_DTYPE, count=count, offset=HEADER_SIZE)
    return ScidFile(path, header, records)


def write_scid(path: str | os.PathLike[str], records: np.ndarray) -> None:
    """Write a .scid file (header + records). ``records`` must have RECORD_DTYPE
    (build it with :func:`bar_records` or :func:`tick_records`)."""
    if records.dtype != RECORD_DTYPE:
        raise ValueError(f"records must have RECORD_DTYPE, got {records.dtype}")
    header = _HEADER.pack(MAGIC, HEADER_SIZE, RECORD_SIZE, VERSION, 0, 0, bytes(36))
    with Path(path).open("wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(records).tobytes())


def _records(n: int, ts_ns: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=RECORD_DTYPE)
    out["datetime_us"] = ns_to_scdatetime_us(ts_ns)
    return out


def bar_records(
    ts: np.ndarray,
    open: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    trade_count: np.ndarray,
    bid_volume: np.ndarray,
    ask_volume: np.ndarray,
) -> np.ndarray:
    """Bar records (e.g. from ``build_bars``) in the .scid layout; prices become float32."""
    out = _records(len(ts), ts)
    out["open"], out["high"], out["low"], out["close"] = open, high, low, close
    out["num_trades"] = trade_count
    out["total_volume"] = volume
    out["bid_volume"], out["ask_volume"] = bid_volume, ask_volume
    return out


def tick_records(
    ts: np.ndarray,
    price: np.ndarray,
    volume: np.ndarray,
    side: np.ndarray,
    bid: np.ndarray | None = None,
    ask: np.ndarray | None = None,
) -> np.ndarray:
    """Single-trade records: Open = 0, High = ask, Low = bid, Close = price, NumTrades = 1,
    the volume in AskVolume for buys, BidVolume for sells (unknown side: in neither)."""
    n = len(ts)
    out = _records(n, ts)
    out["close"] = price
    out["high"] = ask if ask is not None else price
    out["low"] = bid if bid is not None else price
    out["num_trades"] = 1
    out["total_volume"] = volume
    side = np.asarray(side)
    out["ask_volume"] = np.where(side == 1, volume, 0)
    out["bid_volume"] = np.where(side == 2, volume, 0)
    return out


def ticks_from_records(scid: ScidFile) -> dict[str, np.ndarray]:
    """The trades of a tick file as a table (ts, price, volume, side, bid, ask).

    Side is buy when only AskVolume is set, sell when only BidVolume is, else unknown.
    """
    r = scid.records
    bid_volume = r["bid_volume"]
    ask_volume = r["ask_volume"]
    side = np.zeros(len(r), dtype=np.uint8)
    side[(ask_volume > 0) & (bid_volume == 0)] = 1
    side[(bid_volume > 0) & (ask_volume == 0)] = 2
    return {
        "ts": scid.ts,
        "price": r["close"].astype(np.float64),
        "volume": r["total_volume"].astype(np.float64),
        "side": side,
        "bid": r["low"].astype(np.float64),
        "ask": r["high"].astype(np.float64),
    }


def bars_from_records(scid: ScidFile) -> dict[str, np.ndarray]:
    """The records of a bar file as a table with the bar kernel's column names."""
    r = scid.records
    return {
        "ts": scid.ts,
        "open": r["open"].astype(np.float64),
        "high": r["high"].astype(np.float64),
        "low": r["low"].astype(np.float64),
        "close": r["close"].astype(np.float64),
        "volume": r["total_volume"].astype(np.float64),
        "trade_count": r["num_trades"].astype(np.int64),
        "bid_volume": r["bid_volume"].astype(np.float64),
        "ask_volume": r["ask_volume"].astype(np.float64),
    }
