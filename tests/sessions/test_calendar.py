"""CME Globex hours by instant: the maintenance break, the Sunday open, DST, holidays and
early closes, and the library days we correct (pinned)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tickbridge.sessions import (
    SessionError,
    group_of,
    is_open,
    next_close,
    next_open,
    open_mask,
    session_trade_date,
)
from tickbridge.sessions.calendar import library_schedule, to_ns
from tickbridge.sessions.overrides import OVERRIDES

CT = ZoneInfo("America/Chicago")
UTC = timezone.utc


def ct(*args: int) -> datetime:
    return datetime(*args, tzinfo=CT)


@pytest.mark.parametrize("group", ["ES", "CL", "GC", "ZN", "6E"])
def test_daily_maintenance_break(group):
    assert is_open(group, ct(2026, 11, 24, 15, 59, 59))
    assert not is_open(group, ct(2026, 11, 24, 16, 0))
    assert not is_open(group, ct(2026, 11, 24, 16, 59, 59))
    assert is_open(group, ct(2026, 11, 24, 17, 0))
    assert next_open(group, ct(2026, 11, 24, 16, 30)) == ct(2026, 11, 24, 17, 0)


@pytest.mark.parametrize("group", ["equity_index", "energy", "metals", "interest_rates", "fx"])
def test_weekend_and_sunday_open(group):
    assert not is_open(group, ct(2026, 11, 20, 16, 0))       # Friday close
    assert not is_open(group, ct(2026, 11, 21, 12, 0))       # Saturday
    assert not is_open(group, ct(2026, 11, 22, 16, 59, 59))  # Sunday before the open
    assert is_open(group, ct(2026, 11, 22, 17, 0))           # Sunday 17:00 CT open
    assert session_trade_date(group, ct(2026, 11, 22, 18, 0)).isoformat() == "2026-11-23"


def test_dst_change_weekend_in_utc():
    # DST ends Sunday 2026-11-01: Friday closes 16:00 CDT = 21:00 UTC, Sunday opens
    # 17:00 CST = 23:00 UTC.
    assert is_open("ES", datetime(2026, 10, 30, 20, 59, tzinfo=UTC))
    assert not is_open("ES", datetime(2026, 10, 30, 21, 0, tzinfo=UTC))
    assert not is_open("ES", datetime(2026, 11, 1, 22, 59, tzinfo=UTC))
    assert is_open("ES", datetime(2026, 11, 1, 23, 0, tzinfo=UTC))
    # spring: DST starts Sunday 2026-03-08, open 17:00 CDT = 22:00 UTC
    assert is_open("ES", datetime(2026, 3, 8, 22, 0, tzinfo=UTC))
    assert not is_open("ES", datetime(2026, 3, 8, 21, 59, tzinfo=UTC))


def test_christmas_2026():
    # Thu Dec 24: early close 12:15 CT (equity index); Fri Dec 25 closed; Sun 17:00 open
    assert is_open("ES", ct(2026, 12, 24, 12, 14))
    assert not is_open("ES", ct(2026, 12, 24, 12, 15))
    assert next_close("ES", ct(2026, 12, 24, 9, 0)) == ct(2026, 12, 24, 12, 15)
    for group in ["ES", "CL", "GC", "ZN", "6E"]:
        assert not is_open(group, ct(2026, 12, 25, 10, 0))
        assert next_open(group, ct(2026, 12, 25, 10, 0)) == ct(2026, 12, 27, 17, 0)


def test_thanksgiving_2026_and_the_early_close_after():
    # Thursday: trading halts at 12:00 CT (equity index, rates, FX), resumes at 17:00 for
    # Friday's trade date; Friday closes early at 12:15 CT.
    for group in ["ES", "ZN", "6E"]:
        assert is_open(group, ct(2026, 11, 26, 11, 59))
        assert not is_open(group, ct(2026, 11, 26, 12, 0))
        assert is_open(group, ct(2026, 11, 26, 17, 0))
        assert is_open(group, ct(2026, 11, 27, 12, 14))
        assert not is_open(group, ct(2026, 11, 27, 12, 15))
        assert next_open(group, ct(2026, 11, 27, 12, 15)) == ct(2026, 11, 29, 17, 0)
    # energy and metals: 13:30 CT halt on Thursday, 13:45 CT close on Friday
    for group in ["CL", "GC"]:
        assert is_open(group, ct(2026, 11, 26, 13, 29))
        assert not is_open(group, ct(2026, 11, 26, 13, 30))
        assert not is_open(group, ct(2026, 11, 27, 13, 45))
        assert is_open(group, ct(2026, 11, 27, 13, 44))


def test_new_year_2027():
    assert not is_open("ES", ct(2027, 1, 1, 10, 0))
    assert next_open("ES", ct(2026, 12, 31, 16, 30)) == ct(2027, 1, 3, 17, 0)


def test_pinned_library_errors():
    """The library days we correct. When one of these fails, the library changed its
    answer: check it against CME's published hours and drop the override if fixed."""
    fx = library_schedule("fx", "2026-11-26", "2026-11-26")
    assert fx["market_close"].iloc[0].tz_convert(CT).strftime("%H:%M") == "16:00"  # wrong
    assert not is_open("6E", ct(2026, 11, 26, 13, 0))  # corrected: 12:00 CT halt
    assert set(OVERRIDES) == {("fx", datetime(2026, 11, 26).date())}
    # Why equity uses "CME Globex Equity" and not CME_Equity: the latter closes Black
    # Friday at 12:00 CT, CME publishes 12:15 CT.
    import pandas_market_calendars as mcal

    raw = mcal.get_calendar("CME_Equity").schedule("2026-11-27", "2026-11-27")
    assert raw["market_close"].iloc[0].tz_convert(CT).strftime("%H:%M") == "12:00"


def test_open_mask_matches_is_open():
    start = to_ns(ct(2026, 11, 20, 0, 0))
    times = start + np.arange(0, 12 * 86_400, 450, dtype=np.int64) * 1_000_000_000
    mask = open_mask("ES", times)
    assert mask.dtype == bool and mask.any() and not mask.all()
    sample = times[::97]
    assert list(open_mask("ES", sample)) == [is_open("ES", int(t)) for t in sample]


def test_groups_and_errors():
    assert group_of("ES") == "equity_index" and group_of("CLF7") == "energy"
    assert group_of("ZN1!") == "interest_rates" and group_of("6E") == "fx"
    with pytest.raises(SessionError, match="neither a product group"):
        is_open("XX", ct(2026, 11, 24, 10, 0))
    with pytest.raises(SessionError, match="naive"):
        is_open("ES", datetime(2026, 11, 24, 10, 0))


def test_session_clock_caches_and_agrees():
    from tickbridge.sessions import SessionClock

    clock = SessionClock("ES")
    start = to_ns(ct(2026, 11, 25, 0, 0))
    times = start + np.arange(0, 6 * 86_400, 300, dtype=np.int64) * 1_000_000_000
    assert [clock.is_open(int(t)) for t in times] == list(open_mask("ES", times))
    # and backwards in time too
    assert [clock.is_open(int(t)) for t in times[::-7]] == list(open_mask("ES", times[::-7]))
