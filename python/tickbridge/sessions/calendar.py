"""CME Globex session hours per product group, from pandas-market-calendars plus overrides.

A session is [open, close) in UTC nanoseconds: the Sunday 17:00 CT open, the daily
16:00-17:00 CT maintenance break (the gap between one trade date's close and the next
one's open), holidays (no session) and early closes come from the library's calendar for
the group, corrected by ``overrides.OVERRIDES``. Lookups are a binary search over two
sorted int64 arrays, built once per group for ``YEARS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge.sessions.overrides import OVERRIDES

CHICAGO = ZoneInfo("America/Chicago")
YEARS = (2020, 2032)

# Product group -> pandas-market-calendars calendar. "CME Globex Equity" and "CME Globex
# Fixed Income" rather than CME_Equity / CME_Bond: CME_Equity closes Black Friday and
# Christmas Eve at 12:00 CT where CME publishes 12:15 CT (docs/sessions.md).
LIBRARY_CALENDARS = {
    "equity_index": "CME Globex Equity",
    "energy": "CMEGlobex_Energy",
    "metals": "CMEGlobex_Metals",
    "interest_rates": "CME Globex Fixed Income",
    "fx": "CMEGlobex_FX",
}
GROUPS = tuple(LIBRARY_CALENDARS)


class SessionError(ValueError):
    pass


@dataclass(frozen=True)
class Sessions:
    group: str
    trade_dates: np.ndarray   # datetime64[D]
    opens: np.ndarray         # int64 UTC ns, sorted
    closes: np.ndarray        # int64 UTC ns


def library_schedule(group: str, start: str, end: str):  # -> pandas.DataFrame
    """The library's raw schedule (market_open, market_close in UTC) for a group."""
    import pandas_market_calendars as mcal  # slow import: only when a calendar is built

    return mcal.get_calendar(LIBRARY_CALENDARS[group]).schedule(start, end)


@cache
def sessions(group: str) -> Sessions:
    if group not in LIBRARY_CALENDARS:
        raise SessionError(f"unknown product group {group!r}; one of {', '.join(GROUPS)}")
    schedule = library_schedule(group, f"{YEARS[0]}-01-01", f"{YEARS[1]}-12-31")
    trade_dates = schedule.index.values.astype("datetime64[D]")
    opens, closes = (schedule[column].dt.tz_convert(None).to_numpy()
                     .astype("datetime64[ns]").astype(np.int64)
                     for column in ("market_open", "market_close"))
    keep = np.ones(len(opens), dtype=bool)
    for (g, day), close in OVERRIDES.items():
        if g != group:
            continue
        hit = np.nonzero(trade_dates == np.datetime64(day, "D"))[0]
        if not len(hit):
            continue
        if close is None:
            keep[hit[0]] = False
        else:
            closes[hit[0]] = to_ns(datetime.combine(day, close, CHICAGO))
    return Sessions(group, trade_dates[keep], opens[keep], closes[keep])


def to_ns(instant: datetime | int) -> int:
    """UTC nanoseconds of an aware datetime (naive ones are refused) or of an int."""
    if isinstance(instant, int | np.integer):
        return int(instant)
    if instant.tzinfo is None:
        raise SessionError(f"{instant}: naive datetime; give a timezone (e.g. America/Chicago)")
    delta = instant.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def from_ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc).astimezone(CHICAGO)


def _in_range(s: Sessions, t: int) -> None:
    if not (s.opens[0] <= t <= s.closes[-1]):
        raise SessionError(f"{from_ns(t)} is outside the {s.group} calendar "
                           f"({YEARS[0]}-{YEARS[1]})")


def is_open_ns(s: Sessions, t: int) -> bool:
    i = int(np.searchsorted(s.opens, t, side="right")) - 1
    return i >= 0 and t < int(s.closes[i])


def open_mask_ns(s: Sessions, times_ns: np.ndarray) -> np.ndarray:
    t = np.asarray(times_ns, dtype=np.int64)
    i = np.searchsorted(s.opens, t, side="right") - 1
    valid = i >= 0
    return valid & (t < s.closes[np.where(valid, i, 0)])


def next_open_ns(s: Sessions, t: int) -> int:
    """The first session open strictly after ``t``."""
    _in_range(s, t)
    i = int(np.searchsorted(s.opens, t, side="right"))
    if i >= len(s.opens):
        raise SessionError(f"no {s.group} session after {from_ns(t)} in the calendar")
    return int(s.opens[i])


def next_close_ns(s: Sessions, t: int) -> int:
    """The close of the session open at ``t``, or of the next one."""
    _in_range(s, t)
    i = int(np.searchsorted(s.opens, t, side="right")) - 1
    if i >= 0 and t < int(s.closes[i]):
        return int(s.closes[i])
    return int(s.closes[i + 1])


def trade_date(s: Sessions, t: int) -> date | None:
    """The CME trade date of the session open at ``t`` (the Sunday evening is Monday's)."""
    i = int(np.searchsorted(s.opens, t, side="right")) - 1
    if i >= 0 and t < int(s.closes[i]):
        return s.trade_dates[i].astype(object)
    return None
