"""Sierra Chart intraday data files (``.scid``): a validating reader, a safe writer.

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
Low = bid, Close = trade price. Any other record is a bar. A file is one or the
other: the reader decides from all records and refuses a mix.

Safety: the reader copies whole records into memory (no memory map), so a file that
shrinks, grows or is rewritten -- even by ``write_scid`` to the same path -- never
crashes the process; the writer writes a temporary file in the same folder and renames
it into place, so a reader never sees a half-written file.
"""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from tickbridge.research.timestamps import ns_to_scdatetime_us, scdatetime_us_to_ns

MAGIC = b"SCID"
HEADER_SIZE = 56
RECORD_SIZE = 40
VERSION = 1
KNOWN_VERSIONS = (1,)
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

# DateTime (us since 1899-12-30) range accepted: from the SCDateTime epoch to the last
# microsecond whose UTC ns still fits an int64 (2262-04-11); outside it a conversion
# would wrap silently (2e16 us once read as 1949).
SC_EPOCH_OFFSET_US = 25_569 * 86_400 * 1_000_000
MIN_DATETIME_US = 0
MAX_DATETIME_US = (2**63 - 1) // 1_000 + SC_EPOCH_OFFSET_US


class ScidFormatError(ValueError):
    """The bytes do not follow the published .scid layout, or a record's values are
    impossible (time out of range, NaN price, a bar in a tick file); the message names
    the file, the record index and byte offset, and the field."""


@dataclass(frozen=True)
class ScidHeader:
    """The 56-byte s_IntradayHeader's meaningful fields."""

    header_size: int
    record_size: int
    version: int
    utc_start_index: int


@dataclass(frozen=True)
class ScidFile:
    """A .scid file read into memory: ``records`` is a structured array (RECORD_DTYPE)
    owned by this object (a copy of the file's whole records, safe to write back to the
    same path), ``ts`` its times in UTC ns. ``dropped`` counts the records a
    ``strict=False`` read left out, ``first_record`` the file index of ``records[0]``."""

    path: Path
    header: ScidHeader
    records: np.ndarray
    dropped: int = 0
    problems: tuple[str, ...] = field(default=())

    @cached_property
    def ts(self) -> np.ndarray:
        """Record times as int64 UTC nanoseconds since 1970."""
        return scdatetime_us_to_ns(self.records["datetime_us"])

    @cached_property
    def is_tick_record(self) -> np.ndarray:
        """Boolean per record: True when it holds a single trade (Open = 0 or a marker)."""
        return _tick_mask(self.records)

    @property
    def is_tick_file(self) -> bool:
        """True when every record holds a single trade (an empty file counts as ticks)."""
        return bool(self.is_tick_record.all()) if len(self.records) else True

    def __len__(self) -> int:
        return len(self.records)


def _tick_mask(records: np.ndarray) -> np.ndarray:
    opens = records["open"]
    mask = opens == 0
    mask |= opens <= _SUB_TRADE_MARKER_BELOW
    return mask


def parse_header(raw: bytes, path: Path | str, *, strict: bool = True) -> ScidHeader:
    """Check the 56-byte header; each error names the field and its byte offset."""
    if len(raw) < HEADER_SIZE:
        raise ScidFormatError(
            f"{path}: file is {len(raw)} bytes, shorter than the {HEADER_SIZE}-byte .scid "
            "header; truncated or not a Sierra Chart intraday file"
        )
    magic, header_size, record_size, version, _unused, utc_start, _reserve = _HEADER.unpack(
        raw[:HEADER_SIZE]
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
    if strict and version not in KNOWN_VERSIONS:
        raise ScidFormatError(
            f"{path} offset 12: Version is {version}, this reader knows {KNOWN_VERSIONS}; "
            "pass strict=False to read it as version 1"
        )
    if strict and utc_start != 0:
        raise ScidFormatError(
            f"{path} offset 16: UTCStartIndex is {utc_start}, expected 0 (Sierra Chart "
            "writes 0; a non-zero value is not in the published layout); pass strict=False "
            "to ignore it"
        )
    return ScidHeader(header_size, record_size, version, utc_start)


def check_records(
    records: np.ndarray, path: Path | str, first_index: int = 0
) -> list[tuple[np.ndarray, str]]:
    """The problems of a record array: a list of (bad-record mask, message naming the
    first bad record's index, offset and field). Empty when all records are sound.

    Checks: DateTime inside [1899-12-30, 2262-04-11] (the int64 ns range); prices
    finite; and one kind per file -- all single trades (Open = 0 or a sub-trade marker)
    or all bars -- decided by the majority, so one stray record is named, not obeyed.
    """
    problems: list[tuple[np.ndarray, str]] = []
    n = len(records)
    if n == 0:
        return problems

    def where(mask: np.ndarray) -> tuple[int, int]:
        i = int(np.argmax(mask))
        return i + first_index, HEADER_SIZE + (i + first_index) * RECORD_SIZE

    dt = records["datetime_us"]
    # One unsigned comparison covers both ends: a negative DateTime wraps to a huge u64.
    assert MIN_DATETIME_US == 0
    bad = dt.view(np.uint64) > np.uint64(MAX_DATETIME_US)
    if bad.any():
        i, off = where(bad)
        problems.append((bad, (
            f"{path} record {i} (offset {off}): DateTime {int(dt[i - first_index])} us is "
            f"outside 1899-12-30..2262-04-11 ({int(bad.sum())} record(s) so)")))
    tick = _tick_mask(records)
    ticks = int(np.count_nonzero(tick))
    is_tick_file = ticks * 2 >= n
    # Fast path: the float64 sum of the four prices of every record is finite exactly
    # when all are (float32 values cannot overflow a float64 sum); only a file that
    # fails it is checked field by field, to name the record.
    prices = np.ndarray((n, 4), "<f4", records, 8, (RECORD_SIZE, 4)) if records.flags[
        "C_CONTIGUOUS"] else np.stack([records[f] for f in ("open", "high", "low", "close")], 1)
    if not np.isfinite(prices.sum(dtype=np.float64)):
        price_fields = ("high", "low", "close") if is_tick_file else (
            "open", "high", "low", "close")
        for name in price_fields:
            bad = ~np.isfinite(records[name])
            if bad.any():
                i, off = where(bad)
                problems.append((bad, (
                    f"{path} record {i} (offset {off}): {name.capitalize()} is "
                    f"{float(records[name][i - first_index])} ({int(bad.sum())} record(s) "
                    "with a non-finite price)")))
    if 0 < ticks < n:
        stray = ~tick if is_tick_file else tick
        i, off = where(stray)
        kind, other = ("bar", "single trades (Open = 0)") if is_tick_file else (
            "single trade (Open = 0)", "bars")
        problems.append((stray, (
            f"{path} record {i} (offset {off}): Open is "
            f"{float(records['open'][i - first_index])}, a {kind} record in a file whose "
            f"other records are mostly {other} ({int(stray.sum())} of {n} disagree)")))
    return problems


def read_scid(
    path: str | os.PathLike[str],
    *,
    strict: bool = True,
    drop_partial_record: bool = False,
) -> ScidFile:
    """Read a .scid file into memory, validating the header and every record.

    The file's whole records at the time of the read are copied (a snapshot), so the
    file may be appended to, truncated or rewritten meanwhile without harm. A trailing
    partial record (a live file flushed mid-record, or a cut file) is an error naming
    its offset unless ``drop_partial_record``. With ``strict=False`` an unknown version
    or UTCStartIndex is accepted and bad records (see :func:`check_records`) and a
    partial tail are dropped, counted in ``ScidFile.dropped`` and reported by a
    ``UserWarning``; with ``strict=True`` the first problem raises
    :class:`ScidFormatError`.
    """
    path = Path(path)
    with path.open("rb") as f:
        header = parse_header(f.read(HEADER_SIZE), path, strict=strict)
        size = os.fstat(f.fileno()).st_size
        count, partial = divmod(max(size - HEADER_SIZE, 0), RECORD_SIZE)
        records = np.fromfile(f, dtype=RECORD_DTYPE, count=count)
    if len(records) < count:
        offset = HEADER_SIZE + len(records) * RECORD_SIZE
        raise ScidFormatError(
            f"{path} offset {offset}: file ended at record {len(records)} while reading "
            f"{count} records; it shrank during the read (truncated or rewritten): read again"
        )
    dropped = 0
    messages: list[str] = []
    if partial:
        offset = HEADER_SIZE + count * RECORD_SIZE
        message = (
            f"{path} offset {offset}: record {count} has {partial} of {RECORD_SIZE} bytes; "
            "file truncated (or still being written)"
        )
        if strict and not drop_partial_record:
            raise ScidFormatError(
                message + "; pass drop_partial_record=True to read the whole records only"
            )
        if not drop_partial_record:
            dropped += 1
            messages.append(message)
    problems = check_records(records, path)
    if problems:
        if strict:
            raise ScidFormatError(
                problems[0][1] + "; pass strict=False to drop such records")
        bad = np.zeros(len(records), dtype=bool)
        for mask, message in problems:
            bad |= mask
            messages.append(message)
        dropped += int(bad.sum())
        records = records[~bad]
    if messages:
        warnings.warn(f"{path}: dropped {dropped} record(s): " + "; ".join(messages),
                      UserWarning, stacklevel=2)
    return ScidFile(path, header, records, dropped, tuple(messages))


def write_scid(path: str | os.PathLike[str], records: np.ndarray) -> None:
    """Write a .scid file (header + records) atomically: the bytes go to a temporary
    file in the same folder, which is flushed and renamed over ``path``. Writing back
    what :func:`read_scid` returned for the same path is safe (the reader copied it).
    ``records`` must have RECORD_DTYPE (build it with :func:`bar_records` or
    :func:`tick_records`)."""
    if records.dtype != RECORD_DTYPE:
        raise ValueError(f"records must have RECORD_DTYPE, got {records.dtype}")
    path = Path(path)
    header = _HEADER.pack(MAGIC, HEADER_SIZE, RECORD_SIZE, VERSION, 0, 0, bytes(36))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(np.ascontiguousarray(records).tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    """Bar records (e.g. from ``build_bars``) in the .scid layout; prices become float32.
    ``bid_volume`` is the volume of sells (traded at the bid), ``ask_volume`` of buys."""
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


def ticks_from_records(scid: ScidFile | np.ndarray) -> dict[str, np.ndarray]:
    """The trades of a tick file (or a RECORD_DTYPE array) as a table (ts, price, volume,
    side, bid, ask).

    Side is buy when only AskVolume is set (traded at the ask), sell when only
    BidVolume is (traded at the bid), else unknown.
    """
    r = scid.records if isinstance(scid, ScidFile) else scid
    bid_volume = r["bid_volume"]
    ask_volume = r["ask_volume"]
    side = np.zeros(len(r), dtype=np.uint8)
    side[(ask_volume > 0) & (bid_volume == 0)] = 1
    side[(bid_volume > 0) & (ask_volume == 0)] = 2
    return {
        "ts": scdatetime_us_to_ns(r["datetime_us"]),
        "price": r["close"].astype(np.float64),
        "volume": r["total_volume"].astype(np.float64),
        "side": side,
        "bid": r["low"].astype(np.float64),
        "ask": r["high"].astype(np.float64),
    }


def bars_from_records(scid: ScidFile | np.ndarray) -> dict[str, np.ndarray]:
    """The records of a bar file as a table with the bar kernel's column names
    (``bid_volume`` = sells, ``ask_volume`` = buys)."""
    r = scid.records if isinstance(scid, ScidFile) else scid
    return {
        "ts": scdatetime_us_to_ns(r["datetime_us"]),
        "open": r["open"].astype(np.float64),
        "high": r["high"].astype(np.float64),
        "low": r["low"].astype(np.float64),
        "close": r["close"].astype(np.float64),
        "volume": r["total_volume"].astype(np.float64),
        "trade_count": r["num_trades"].astype(np.int64),
        "bid_volume": r["bid_volume"].astype(np.float64),
        "ask_volume": r["ask_volume"].astype(np.float64),
    }
