"""The one timestamp convention: int64 UTC nanoseconds since the Unix epoch in every
array. Everything else (Sierra Chart's SCDateTimeMS, NinjaTrader's local wall-clock
exports, ISO text) is converted here, at the edge.

Time-zone offsets come from ``zoneinfo`` and are looked up once per distinct
15-minute bucket, not per tick: zone transitions fall on quarter-hour boundaries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge.research.zones import resolve_zone

NS_PER_US = 1_000
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
_BUCKET_NS = 15 * NS_PER_MINUTE

# Sierra Chart's SCDateTimeMS: int64 microseconds since 1899-12-30 00:00 UTC.
# 1899-12-30 to 1970-01-01 is 25569 days.
SC_EPOCH_OFFSET_US = 25_569 * 86_400 * 1_000_000

_UNIX_EPOCH = datetime(1970, 1, 1)


def scdatetime_us_to_ns(sc_us: np.ndarray) -> np.ndarray:
    """SCDateTimeMS (int64 us since 1899-12-30 UTC) to int64 UTC ns since 1970."""
    sc = np.asarray(sc_us, dtype=np.int64)
    out = sc - SC_EPOCH_OFFSET_US
    out *= NS_PER_US  # in place: one temporary less over a 10M-record file
    return out


def ns_to_scdatetime_us(ts_ns: np.ndarray) -> np.ndarray:
    """int64 UTC ns to SCDateTimeMS; sub-microsecond precision is floored away."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    return np.floor_divide(ts, NS_PER_US) + SC_EPOCH_OFFSET_US


def _zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    return resolve_zone(tz)


def local_to_utc_ns(local_ns: np.ndarray, tz: str | ZoneInfo | None) -> np.ndarray:
    """Naive local wall-clock ns (as if the local clock were UTC) to UTC ns in zone ``tz``.

    In the repeated hour of a fall-back transition the first (daylight) occurrence is
    taken, and a time inside a spring-forward gap uses the offset before the gap:
    ``zoneinfo``'s ``fold=0`` rule. A local-time export cannot tell them apart.
    """
    zone = _zone(tz)
    local = np.asarray(local_ns, dtype=np.int64)
    if local.size == 0:
        return local.copy()
    buckets, inverse = np.unique(np.floor_divide(local, _BUCKET_NS), return_inverse=True)
    offsets = np.empty(buckets.size, dtype=np.int64)
    for i, b in enumerate(buckets.tolist()):
        wall = _UNIX_EPOCH + timedelta(microseconds=b * (_BUCKET_NS // NS_PER_US))
        offset = wall.replace(tzinfo=zone).utcoffset() or timedelta(0)
        offsets[i] = int(offset.total_seconds()) * NS_PER_SECOND
    return local - offsets[inverse.reshape(-1)]


def utc_to_local_ns(ts_ns: np.ndarray, tz: str | ZoneInfo | None) -> np.ndarray:
    """UTC ns to the wall-clock ns of zone ``tz`` (for session rules and display)."""
    zone = _zone(tz)
    ts = np.asarray(ts_ns, dtype=np.int64)
    if ts.size == 0:
        return ts.copy()
    buckets, inverse = np.unique(np.floor_divide(ts, _BUCKET_NS), return_inverse=True)
    offsets = np.empty(buckets.size, dtype=np.int64)
    for i, b in enumerate(buckets.tolist()):
        instant = datetime.fromtimestamp(b * (_BUCKET_NS // NS_PER_SECOND), tz=timezone.utc)
        offset = instant.astimezone(zone).utcoffset() or timedelta(0)
        offsets[i] = int(offset.total_seconds()) * NS_PER_SECOND
    return ts + offsets[inverse.reshape(-1)]


def session_ids(
    ts_ns: np.ndarray, tz: str | ZoneInfo = "America/Chicago", session_start: str = "17:00"
) -> np.ndarray:
    """Session id per tick: the local date (days since 1970-01-01) on which the session
    that contains the tick opened. Sessions open daily at ``session_start`` local time
    (CME Globex: 17:00 America/Chicago), so a Sunday-evening tick and the following
    Monday-morning tick share an id. Feed the result to VWAP, delta and bars."""
    hours, minutes = (int(part) for part in session_start.split(":"))
    start_ns = (hours * 60 + minutes) * NS_PER_MINUTE
    local = utc_to_local_ns(ts_ns, tz)
    return np.floor_divide(local - start_ns, NS_PER_DAY)


def datetime_to_ns(moment: datetime) -> int:
    """An aware datetime to UTC ns (naive datetimes are refused: say which zone)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive; attach a zone (e.g. ZoneInfo('UTC'))")
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * NS_PER_US


def ns_to_datetime64(ts_ns: np.ndarray) -> np.ndarray:
    """View int64 UTC ns as numpy datetime64[ns] (for plotting); no copy."""
    return np.asarray(ts_ns, dtype=np.int64).view("datetime64[ns]")


def _bucket_offsets(buckets: list[int], zone: ZoneInfo, fold: int) -> np.ndarray:
    offsets = np.empty(len(buckets), dtype=np.int64)
    for i, b in enumerate(buckets):
        wall = _UNIX_EPOCH + timedelta(microseconds=b * (_BUCKET_NS // NS_PER_US))
        offset = wall.replace(tzinfo=zone, fold=fold).utcoffset() or timedelta(0)
        offsets[i] = int(offset.total_seconds()) * NS_PER_SECOND
    return offsets


def _local_text(local_ns: int) -> str:
    return str(np.datetime64(int(local_ns), "ns").astype("datetime64[s]")).replace("T", " ")


def ordered_local_to_utc_ns(
    local_ns: np.ndarray, tz: str | ZoneInfo | None, where: Callable[[int], str]
) -> np.ndarray:
    """Local wall-clock ns of records *in file order* (a NinjaTrader export) to UTC ns,
    resolving the DST fall-back hour by that order; ``where(i)`` names record i
    ("file:line") in errors.

    Rule: a local time that occurs twice (01:00-01:59 on a fall-back night in New
    York) is read as the first, daylight-time occurrence until the local times step
    backwards inside that hour -- the clock fell back -- and as the second,
    standard-time occurrence from that record on. A record whose local time does not
    exist (the spring-forward gap), a second step back in the same repeated hour, and
    any other step back in time are errors naming the record and, near a change, the
    DST change. Without a step back the repeated hour is read as daylight time (an
    export cannot tell a lone second pass from a first one).
    """
    zone = _zone(tz)
    local = np.asarray(local_ns, dtype=np.int64)
    if local.size == 0:
        return local.copy()
    buckets, inverse = np.unique(np.floor_divide(local, _BUCKET_NS), return_inverse=True)
    inverse = inverse.reshape(-1)
    keys = buckets.tolist()
    off0 = _bucket_offsets(keys, zone, 0)[inverse]
    off1 = _bucket_offsets(keys, zone, 1)[inverse]
    utc0 = local - off0
    # Round trip through UTC: a time in the spring-forward gap comes back different.
    back = utc_to_local_ns(utc0, zone)
    gap = back != local
    if gap.any():
        i = int(np.argmax(gap))
        raise ValueError(
            f"{where(i)}: local time {_local_text(local[i])} does not exist in {zone.key} "
            "(the clock jumps forward at the DST change); the export's time zone is wrong"
        )
    ambiguous = off0 != off1
    fold = np.zeros(local.size, dtype=bool)
    if ambiguous.any():
        idx = np.flatnonzero(ambiguous)
        # One group per repeated hour (per fall-back night): split where the local day
        # of consecutive ambiguous records changes.
        day = np.floor_divide(local[idx], NS_PER_DAY)
        for group in np.split(idx, np.flatnonzero(np.diff(day)) + 1):
            steps = np.flatnonzero(np.diff(local[group]) < 0)
            if steps.size > 1:
                i = int(group[steps[1] + 1])
                raise ValueError(
                    f"{where(i)}: local time {_local_text(local[i])} steps back a second time "
                    f"inside the repeated hour of the DST fall-back in {zone.key}; the clock "
                    "falls back once"
                )
            if steps.size == 1:
                fold[group[steps[0] + 1]:group[-1] + 1] = True
    utc = np.where(fold, local - off1, utc0)
    back_steps = np.flatnonzero(np.diff(utc) < 0)
    if back_steps.size:
        i = int(back_steps[0]) + 1
        near = ambiguous[max(i - 1, 0)] or ambiguous[i]
        why = (
            f"; it is in the repeated hour of the DST fall-back in {zone.key}, and the "
            "records around it are not in the order the clock showed them"
            if near else ""
        )
        raise ValueError(
            f"{where(i)}: time {_local_text(local[i])} is earlier than the record before it "
            f"({_local_text(local[i - 1])} local){why}; records must be in time order"
        )
    return utc
