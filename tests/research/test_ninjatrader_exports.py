"""Issue 16: NinjaTrader exports -- minute bars, the DST fall-back hour, line numbers on
every error, finite quotes, and time zones (None, Windows names, fixed abbreviations)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tickbridge import research

NY = ZoneInfo("America/New_York")
NS = 1_000_000_000


def utc_ns(*args: int, fold: int = 0) -> int:
    return int(datetime(*args, tzinfo=NY, fold=fold).timestamp()) * NS


def export(tmp_path: Path, lines: list[str], name: str = "ES 12-23.Last.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fall_back_hour_is_resolved_by_file_order(tmp_path: Path) -> None:
    path = export(tmp_path, [
        "20231105 005959 0000000;4500.25;1",
        "20231105 010000 0000000;4500.5;1",   # first 01:00 (EDT, UTC-4)
        "20231105 015959 0000000;4500.75;1",
        "20231105 010000 0000000;4501;1",     # the clock fell back: second 01:00 (EST)
        "20231105 013000 0000000;4501.25;1",
        "20231105 020000 0000000;4501.5;1",
    ])
    ts = research.read_ninjatrader_ticks(path, "America/New_York")["ts"]
    # old code: the fourth time went back an hour
    assert (np.diff(ts) > 0).all()
    assert ts.tolist() == [
        utc_ns(2023, 11, 5, 0, 59, 59), utc_ns(2023, 11, 5, 1, 0, 0),
        utc_ns(2023, 11, 5, 1, 59, 59), utc_ns(2023, 11, 5, 1, 0, 0, fold=1),
        utc_ns(2023, 11, 5, 1, 30, 0, fold=1), utc_ns(2023, 11, 5, 2, 0, 0)]


def test_disorder_in_the_fall_back_hour_names_the_dst_change(tmp_path: Path) -> None:
    path = export(tmp_path, [
        "20231105 011000 0000000;4500.5;1",
        "20231105 010500 0000000;4500.5;1",
        "20231105 012000 0000000;4500.5;1",
        "20231105 011500 0000000;4500.5;1",
    ])
    with pytest.raises(ValueError, match=r"Last\.txt:4: local time 2023-11-05 01:15:00 steps "
                                         r"back a second time .* DST fall-back"):
        research.read_ninjatrader_ticks(path, "America/New_York")


def test_time_going_backwards_names_the_line(tmp_path: Path) -> None:
    path = export(tmp_path, ["20240115 093000 0000000;4800.25;1",
                             "20240115 092959 0000000;4800.25;1"])
    with pytest.raises(ValueError, match=r"Last\.txt:2: time 2024-01-15 09:29:59 is earlier"):
        research.read_ninjatrader_ticks(path, "America/New_York")


def test_spring_forward_gap_time_is_refused(tmp_path: Path) -> None:
    path = export(tmp_path, ["20240310 023000 0000000;4800.25;1"])
    with pytest.raises(ValueError, match=r":1: local time 2024-03-10 02:30:00 does not exist"):
        research.read_ninjatrader_ticks(path, "America/New_York")


@pytest.mark.parametrize("bad", ["20230229 093000 0000000", "20231301 093000 0000000"])
def test_calendar_date_errors_carry_the_line(tmp_path: Path, bad: str) -> None:
    path = export(tmp_path, ["20230228 093000 0000000;4800.25;1",
                             "20230228 093001 0000000;4800.25;1", f"{bad};4800.25;1"])
    with pytest.raises(ValueError, match=rf"Last\.txt:3: field time '{bad}': not a calendar"):
        research.read_ninjatrader_ticks(path, "America/New_York")


@pytest.mark.parametrize(("bid", "ask", "field"), [
    ("nan", "4800.5", "bid"), ("inf", "4800.5", "bid"), ("4800.25", "nan", "ask"),
    ("4800.25", "-inf", "ask")])
def test_non_finite_bid_or_ask_is_refused(tmp_path: Path, bid: str, ask: str,
                                          field: str) -> None:
    path = export(tmp_path, ["20240115 093000 0000000;4800.25;4800.25;4800.5;1",
                             f"20240115 093001 0000000;4800.25;{bid};{ask};1"])
    with pytest.raises(ValueError, match=rf":2: field {field} '.*': not finite"):
        research.read_ninjatrader_ticks(path, "America/New_York")


def test_bad_lines_dropped_and_counted_when_not_strict(tmp_path: Path) -> None:
    path = export(tmp_path, ["20240115 093000 0000000;4800.25;4800.25;4800.5;1",
                             "20240115 093001 0000000;4800.25;inf;4800.5;1",
                             "20240115 093002 0000000;4800.5;4800.25;4800.5;2"])
    with pytest.warns(UserWarning, match=r"dropped 1 bad line\(s\): .*:2: field bid"):
        table = research.read_ninjatrader_ticks(path, "America/New_York", strict=False)
    assert table["volume"].tolist() == [1.0, 2.0]


def test_tz_none_is_a_clear_error(tmp_path: Path) -> None:
    path = export(tmp_path, ["20240115 093000 0000000;4800.25;1"])
    with pytest.raises(ValueError, match="tz is required"):  # old code: TypeError
        research.read_ninjatrader_ticks(path, None)


def test_windows_zone_name_is_accepted(tmp_path: Path) -> None:
    path = export(tmp_path, ["20240715 093000 0000000;4800.25;1"])
    windows = research.read_ninjatrader_ticks(path, "Eastern Standard Time")["ts"]
    iana = research.read_ninjatrader_ticks(path, "America/New_York")["ts"]
    assert windows.tolist() == iana.tolist()
    assert windows[0] == utc_ns(2024, 7, 15, 9, 30, 0)  # daylight time in July
    assert research.resolve_zone("Central Standard Time").key == "America/Chicago"


@pytest.mark.parametrize("fixed", ["EST", "MST", "HST"])
def test_fixed_offset_abbreviations_are_refused(tmp_path: Path, fixed: str) -> None:
    path = export(tmp_path, ["20240715 093000 0000000;4800.25;1"])
    with pytest.raises(ValueError, match=rf"tz '{fixed}' is a fixed offset with no daylight"):
        research.read_ninjatrader_ticks(path, fixed)


def test_unknown_zone_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tz 'Mars/Olympus' is neither"):
        research.resolve_zone("Mars/Olympus")


def test_minute_bar_export(tmp_path: Path) -> None:
    path = export(tmp_path, ["20240115 093100;4800.25;4801;4800;4800.75;120",
                             "20240115 093200;4800.75;4800.75;4799.5;4800;85"],
                  name="ES 03-24.Minute.txt")
    bars = research.read_ninjatrader_bars(path, "Eastern Standard Time")
    end = utc_ns(2024, 1, 15, 9, 31, 0)
    assert bars["ts_end"].tolist() == [end, end + 60 * NS]
    assert bars["ts"].tolist() == [end - 60 * NS, end]  # open time, the bar-table convention
    assert bars["high"].tolist() == [4801.0, 4800.75]
    assert bars["volume"].tolist() == [120.0, 85.0]
    loaded = research.load(path, tz="America/New_York")
    assert loaded["close"].tolist() == [4800.75, 4800.0]
    assert research.bar_signals(loaded, atr_period=1)["atr"][-1] == pytest.approx(1.25)


@pytest.mark.parametrize(("line", "message"), [
    ("20240115 093100;4800.25;4799;4800;4800.75;1", r":2: field high .* do not bracket"),
    ("20240115 093100;4800.25;4801;4800;nan;1", r":2: field close 'nan': not finite"),
    ("20240115 093100;4800.25;4801;4800;4800.5;-3", r":2: field volume '-3': negative"),
    ("20240230 093100;4800.25;4801;4800;4800.5;3", r":2: field time .* not a calendar date"),
    ("20240115 093100 0000000;4800.25;4801;4800;4800.5;3", r":2: field time .* 'yyyyMMdd"),
])
def test_minute_bar_errors_name_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = export(tmp_path, ["20240115 093000;4800.25;4801;4800;4800.75;120", line])
    with pytest.raises(ValueError, match=message):
        research.read_ninjatrader_bars(path, "America/New_York")
