"""Issue 16: the .scid reader refuses corrupt input, naming the file, record and field;
``strict=False`` drops the bad records and says how many."""

from __future__ import annotations

from pathlib import Path

import pytest
from scid_bytes import SC_US, TS_NS, header, record, ticks

from tickbridge.research import ScidFormatError, load, read_scid


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.scid"
    path.write_bytes(data)
    return path


def test_one_bar_record_in_a_tick_file_is_named_not_obeyed(tmp_path: Path) -> None:
    path = write(tmp_path, header() + ticks(50) + record(SC_US + 10**8, o=4800.0) + ticks(
        49, SC_US + 2 * 10**8))
    with pytest.raises(ScidFormatError, match=r"bad\.scid record 50 \(offset 2056\): Open is "
                                              r"4800\.0, a bar record"):
        read_scid(path)
    with pytest.warns(UserWarning, match="dropped 1 record"):
        table = load(path, strict=False)
    assert "price" in table and len(table["price"]) == 99  # old code: a bar table


def test_datetime_out_of_range_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, header() + ticks(2) + record(2 * 10**16))
    # old code: wrapped silently to 1949-03-20
    with pytest.raises(ScidFormatError, match=r"record 2 \(offset 136\): DateTime "
                                              r"20000000000000000 us is outside"):
        read_scid(path)


def test_negative_datetime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScidFormatError, match=r"record 0 \(offset 56\): DateTime -5 us"):
        read_scid(write(tmp_path, header() + record(-5)))


@pytest.mark.parametrize("field", ["close", "high", "low"])
def test_nan_price_is_refused_naming_file_record_and_field(tmp_path: Path, field: str) -> None:
    values = {"c": 4800.5, "h": 4800.5, "lo": 4800.25}
    values[{"close": "c", "high": "h", "low": "lo"}[field]] = float("nan")
    path = write(tmp_path, header() + ticks(3) + record(SC_US + 10**7, **values))
    with pytest.raises(ScidFormatError,
                       match=rf"bad\.scid record 3 \(offset 176\): {field.capitalize()} is nan"):
        read_scid(path)
    with pytest.warns(UserWarning, match="dropped 1 record"):
        f = read_scid(path, strict=False)
    assert len(f) == 3 and f.dropped == 1


def test_inf_price_in_a_bar_file_is_refused(tmp_path: Path) -> None:
    bar = record(SC_US, o=10.0, h=float("inf"), lo=9.0, c=10.5, trades=3, vol=3)
    with pytest.raises(ScidFormatError, match=r"record 0 \(offset 56\): High is inf"):
        read_scid(write(tmp_path, header() + bar))


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, header(version=99) + ticks(1))
    with pytest.raises(ScidFormatError, match=r"offset 12: Version is 99"):
        read_scid(path)
    assert read_scid(path, strict=False).header.version == 99


def test_utc_start_index_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, header(utc_start=5) + ticks(1))
    with pytest.raises(ScidFormatError, match=r"offset 16: UTCStartIndex is 5, expected 0"):
        read_scid(path)


def test_partial_tail_dropped_and_counted_when_not_strict(tmp_path: Path) -> None:
    path = write(tmp_path, header() + ticks(4) + bytes(13))
    with pytest.raises(ScidFormatError, match=r"offset 216: record 4 has 13 of 40 bytes"):
        read_scid(path)
    with pytest.warns(UserWarning, match="dropped 1 record"):
        f = read_scid(path, strict=False)
    assert len(f) == 4 and f.ts[0] == TS_NS


def test_tick_mask_has_its_own_name(tmp_path: Path) -> None:
    f = read_scid(write(tmp_path, header() + ticks(2)))
    assert f.is_tick_record.tolist() == [True, True]  # not ScidFile.tick_records any more
    assert not hasattr(f, "tick_records")
