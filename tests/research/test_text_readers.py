"""NinjaTrader tick exports and plain CSV: parsing, time zones, and error messages
that name the line and the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickbridge.research import (
    load,
    read_csv_ticks,
    read_ninjatrader_ticks,
    write_csv_ticks,
    write_ninjatrader_ticks,
)

NS = 1_000_000_000
# 2024-01-15 09:30:00 New York (EST) = 14:30:00 UTC
T0 = 1_705_329_000 * NS


def test_ninjatrader_three_field_layout(tmp_path: Path) -> None:
    path = tmp_path / "ES 03-24.Last.txt"
    path.write_text("20240115 093000 0000000;4800.25;3\n"
                    "20240115 093000 0000000;4800.5;1\n"
                    "\n"
                    "20240115 093001 2500001;4800.75;12\n")
    t = read_ninjatrader_ticks(path, "America/New_York")
    assert t["ts"].tolist() == [T0, T0, T0 + NS + 250_000_100]
    assert t["price"].tolist() == [4800.25, 4800.5, 4800.75]
    assert t["volume"].tolist() == [3.0, 1.0, 12.0]
    assert t["side"].tolist() == [0, 0, 0]


def test_ninjatrader_five_field_layout_infers_side(tmp_path: Path) -> None:
    path = tmp_path / "ticks.txt"
    path.write_text("20240715 093000 0000000;4800.5;4800.25;4800.5;2\n"
                    "20240715 093000 0000000;4800.25;4800.25;4800.5;5\n"
                    "20240715 093000 0000000;4800.3;4800.25;4800.5;1\n")
    t = load(path, tz="America/New_York")
    assert t["ts"][0] == T0 + (182 * 86_400 - 3600) * NS  # July: EDT, one hour less
    assert t["side"].tolist() == [1, 2, 0]
    assert t["bid"].tolist() == [4800.25] * 3 and t["ask"].tolist() == [4800.5] * 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("20240115 093000 0000000;4800.25\n", r":1: 2 fields; expected 3"),
        ("20240115 093000 0000000;4800.25;1\n20240115 093000 0000000;x;1\n",
         r":2: field price 'x': not a number"),
        ("20240115 093000 0000000;4800.25;1\n20240115 0930 0000000;1;1\n",
         r":2: field time '20240115 0930 0000000'"),
        ("20240115 093000 0000000;4800.25;1\n2024011 093000 0000000;1;1;1;1\n",
         r":2: 5 fields, but the first data line has 3"),
        ("20240115 093000 0000000;4800.25;-1\n", r":1: field volume '-1': negative"),
        ("20240115 253000 0000000;4800.25;1\n", r":1: field time .* out of range"),
        ("20240230 093000 0000000;4800.25;1\n", r"not a calendar date"),
    ],
)
def test_ninjatrader_errors_name_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_ninjatrader_ticks(path, "America/New_York")


def test_ninjatrader_needs_a_zone(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("20240115 093000 0000000;4800.25;3\n")
    with pytest.raises(ValueError, match="pass tz="):
        load(path)


def test_ninjatrader_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 300
    t = {"ts": (T0 + np.cumsum(rng.integers(0, 10**12, n)) // 100 * 100).astype(np.int64),
         "price": 4800 + 0.25 * rng.integers(-40, 40, n),
         "volume": rng.integers(0, 9, n).astype(np.float64)}
    write_ninjatrader_ticks(tmp_path / "rt.txt", t, "Europe/London")
    back = read_ninjatrader_ticks(tmp_path / "rt.txt", "Europe/London")
    for key, column in t.items():
        np.testing.assert_array_equal(back[key], column, err_msg=key)


def test_csv_with_iso_time_and_zone(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,price,volume,side,extra\n"
                    "2024-01-15T09:30:00,4800.25,3,1,x\n"
                    "2024-01-15T14:30:00.5+00:00,4800.5,1,2,y\n")
    t = load(path, tz="America/New_York")
    assert t["ts"].tolist() == [T0, T0 + NS // 2]
    assert t["side"].dtype == np.uint8 and t["side"].tolist() == [1, 2]
    assert "bid" not in t


def test_csv_round_trip(tmp_path: Path) -> None:
    t = {"ts": np.array([T0, T0, T0 + 7], np.int64), "price": np.array([1.5, 2.25, 0.1]),
         "volume": np.array([0.0, 1.0, 2.0]), "side": np.array([0, 1, 2], np.uint8),
         "bid": np.array([1.0, 2.0, 0.0]), "ask": np.array([2.0, 3.0, 0.0])}
    write_csv_ticks(tmp_path / "rt.csv", t)
    back = read_csv_ticks(tmp_path / "rt.csv")
    for key, column in t.items():
        np.testing.assert_array_equal(back[key], column, err_msg=key)
        assert back[key].dtype == column.dtype


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty file"),
        ("time,price\n", r":1: header .* lacks column\(s\): volume"),
        ("price,volume\n", r"lacks column\(s\): ts or time"),
        ("ts,price,volume\n1,2,3\n4,5\n", r":3: 2 fields, header has 3"),
        ("ts,price,volume\n1,nan,3\n", r":2: field price 'nan': not finite"),
        ("ts,price,volume,side\n1,2,3,4\n", r":2: field side '4': side must be 0"),
        ("time,price,volume\n2024-13-01,2,3\n", r":2: field time '2024-13-01'"),
    ],
)
def test_csv_errors_name_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_csv_ticks(path)
