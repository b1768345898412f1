"""The .scid reader against hand-built bytes (struct.pack from the published layout),
round trips with the writer, and its errors for broken files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tickbridge.research import load, read_scid, tick_records, write_scid
from tickbridge.research.scid import RECORD_DTYPE, ScidFormatError, bar_records

# 2024-01-02 14:30:00.000250 UTC as SCDateTimeMS: us since 1899-12-30.
UNIX_2024_01_02_1430 = 1_704_205_800
SC_US = (UNIX_2024_01_02_1430 + 25_569 * 86_400) * 1_000_000 + 250
TS_NS = UNIX_2024_01_02_1430 * 1_000_000_000 + 250_000


def header(header_size: int = 56, record_size: int = 40, magic: bytes = b"SCID") -> bytes:
    return magic + struct.pack("<IIHHI", header_size, record_size, 1, 0, 0) + bytes(36)


def record(dt_us: int, o: float, h: float, lo: float, c: float,
           trades: int, vol: int, bid_vol: int, ask_vol: int) -> bytes:
    return struct.pack("<q4f4I", dt_us, o, h, lo, c, trades, vol, bid_vol, ask_vol)


def test_header_and_record_sizes_are_the_published_ones() -> None:
    assert len(header()) == 56
    assert len(record(0, 0, 0, 0, 0, 0, 0, 0, 0)) == 40 == RECORD_DTYPE.itemsize


def test_reads_hand_built_tick_file(tmp_path: Path) -> None:
    path = tmp_path / "ESH4.scid"
    path.write_bytes(
        header()
        + record(SC_US, 0.0, 4800.5, 4800.25, 4800.5, 1, 3, 0, 3)  # buy at the ask
        + record(SC_US + 1, 0.0, 4800.5, 4800.25, 4800.25, 1, 2, 2, 0)  # sell at the bid
        + record(SC_US + 2, -1.99900095e37, 4800.5, 4800.25, 4800.5, 1, 1, 0, 0)
    )
    f = read_scid(path)
    assert f.header.header_size == 56 and f.header.record_size == 40 and f.header.version == 1
    assert len(f) == 3 and f.is_tick_file
    assert f.ts.tolist() == [TS_NS, TS_NS + 1000, TS_NS + 2000]
    t = load(path)
    assert t["price"].tolist() == [4800.5, 4800.25, 4800.5]
    assert t["bid"].tolist() == [4800.25] * 3 and t["ask"].tolist() == [4800.5] * 3
    assert t["volume"].tolist() == [3.0, 2.0, 1.0]
    assert t["side"].tolist() == [1, 2, 0]


def test_reads_hand_built_bar_file(tmp_path: Path) -> None:
    path = tmp_path / "bars.scid"
    path.write_bytes(header() + record(SC_US, 10.0, 12.0, 9.5, 11.0, 42, 300, 140, 160))
    f = read_scid(path)
    assert not f.is_tick_file
    t = load(path)
    assert t["ts"].tolist() == [TS_NS]
    assert (t["open"][0], t["high"][0], t["low"][0], t["close"][0]) == (10.0, 12.0, 9.5, 11.0)
    assert (t["trade_count"][0], t["volume"][0]) == (42, 300.0)
    assert (t["bid_volume"][0], t["ask_volume"][0]) == (140.0, 160.0)


def test_writer_output_is_the_published_bytes(tmp_path: Path) -> None:
    path = tmp_path / "w.scid"
    recs = tick_records(np.array([TS_NS], np.int64), np.array([4800.5]), np.array([3.0]),
                        np.array([1], np.uint8), np.array([4800.25]), np.array([4800.5]))
    write_scid(path, recs)
    assert path.read_bytes() == header() + record(SC_US, 0.0, 4800.5, 4800.25, 4800.5, 1, 3, 0, 3)


def test_round_trip_ticks_and_bars(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    ts = (TS_NS + np.cumsum(rng.integers(0, 5_000_000, n)) * 1000).astype(np.int64)
    price = 4800 + 0.25 * np.cumsum(rng.integers(-1, 2, n))
    ticks = {"ts": ts, "price": price, "volume": rng.integers(1, 20, n).astype(np.float64),
             "side": rng.integers(0, 3, n).astype(np.uint8), "bid": price - 0.25,
             "ask": price + 0.25}
    write_scid(tmp_path / "t.scid", tick_records(**ticks))
    back = load(tmp_path / "t.scid")
    for key, column in ticks.items():
        np.testing.assert_array_equal(back[key], column, err_msg=key)

    bars = {"ts": ts[:10], "open": price[:10], "high": price[:10] + 1, "low": price[:10] - 1,
            "close": price[:10], "volume": np.full(10, 7.0), "trade_count": np.arange(10),
            "bid_volume": np.full(10, 3.0), "ask_volume": np.full(10, 4.0)}
    write_scid(tmp_path / "b.scid", bar_records(**bars))
    back = load(tmp_path / "b.scid")
    for key, column in bars.items():
        np.testing.assert_array_equal(back[key], column, err_msg=key)


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.scid"
    path.write_bytes(header())
    f = read_scid(path)
    assert len(f) == 0 and f.ts.dtype == np.int64 and len(load(path)["price"]) == 0


def test_records_are_an_owned_copy_not_a_map(tmp_path: Path) -> None:
    path = tmp_path / "m.scid"
    path.write_bytes(header() + record(SC_US, 0, 1, 1, 1, 1, 1, 0, 1))
    f = read_scid(path)
    path.unlink()  # the data no longer depends on the file
    assert f.records["close"].tolist() == [1.0]
    assert f.records.flags.owndata or isinstance(f.records.base, np.ndarray)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"SCID" + bytes(10), r"file is 14 bytes, shorter than the 56-byte \.scid header"),
        (header(magic=b"SCDD"), r"offset 0: FileTypeUniqueHeaderID is b'SCDD', expected b'SCID'"),
        (header(header_size=48), r"offset 4: HeaderSize is 48, expected 56"),
        (header(record_size=32), r"offset 8: RecordSize is 32, expected 40"),
        (header() + record(SC_US, 0, 1, 1, 1, 1, 1, 0, 1) + bytes(17),
         r"offset 96: record 1 has 17 of 40 bytes; file truncated"),
    ],
)
def test_broken_files_name_file_offset_and_expectation(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "bad.scid"
    path.write_bytes(data)
    with pytest.raises(ScidFormatError, match=message) as err:
        read_scid(path)
    assert str(path) in str(err.value)


def test_partial_tail_can_be_dropped(tmp_path: Path) -> None:
    path = tmp_path / "live.scid"
    path.write_bytes(header() + record(SC_US, 0, 1, 1, 1, 1, 1, 0, 1) + bytes(17))
    assert len(read_scid(path, drop_partial_record=True)) == 1
