"""UTC ns convention and the conversions at the edges."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tickbridge.research.timestamps import (
    datetime_to_ns,
    local_to_utc_ns,
    ns_to_scdatetime_us,
    scdatetime_us_to_ns,
    session_ids,
    utc_to_local_ns,
)

NS = 1_000_000_000


def ns(text: str, tz: str = "UTC") -> int:
    return datetime_to_ns(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)))


def test_scdatetime_epoch_is_1899_12_30() -> None:
    assert scdatetime_us_to_ns(np.array([0]))[0] == ns("1899-12-30T00:00:00")
    unix = np.array([25_569 * 86_400 * 1_000_000], dtype=np.int64)
    assert scdatetime_us_to_ns(unix)[0] == 0
    ts = np.array([ns("2024-03-10T12:00:00.123456")], np.int64)
    assert scdatetime_us_to_ns(ns_to_scdatetime_us(ts))[0] == ts[0]


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("2024-01-15T09:30:00", "2024-01-15T14:30:00"),  # EST, UTC-5
        ("2024-07-15T09:30:00", "2024-07-15T13:30:00"),  # EDT, UTC-4
        ("2024-03-10T01:59:59", "2024-03-10T06:59:59"),  # just before spring forward
        ("2024-03-10T03:00:00", "2024-03-10T07:00:00"),  # just after
        ("2024-11-03T01:30:00", "2024-11-03T05:30:00"),  # repeated hour: first (EDT) taken
    ],
)
def test_local_to_utc_new_york(local: str, utc: str) -> None:
    local_ns = np.array([ns(local)], np.int64)  # wall clock read as if UTC
    assert local_to_utc_ns(local_ns, "America/New_York")[0] == ns(utc)
    if local != "2024-11-03T01:30:00":
        assert utc_to_local_ns(np.array([ns(utc)]), "America/New_York")[0] == local_ns[0]


def test_local_to_utc_matches_zoneinfo_on_random_times() -> None:
    rng = np.random.default_rng(2)
    local = rng.integers(ns("2023-01-01T00:00:00"), ns("2025-01-01T00:00:00"), 300)
    zone = ZoneInfo("Europe/Berlin")
    got = local_to_utc_ns(local, zone)
    for wall, utc in zip(local.tolist(), got.tolist(), strict=True):
        naive = datetime(1970, 1, 1) + (datetime.fromtimestamp(wall // NS, timezone.utc)
                                        .replace(tzinfo=None) - datetime(1970, 1, 1))
        expected = datetime_to_ns(naive.replace(tzinfo=zone)) + wall % NS
        assert utc == expected


def test_session_ids_cme_evening_open() -> None:
    chicago = "America/Chicago"
    ts = np.array([ns("2024-01-14T17:00:00", chicago),   # Sunday open
                   ns("2024-01-15T08:30:00", chicago),   # Monday RTH: same session
                   ns("2024-01-15T16:59:59", chicago),   # Monday close: same session
                   ns("2024-01-15T17:00:00", chicago)])  # Monday evening: next session
    ids = session_ids(ts, chicago, "17:00")
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert ids[3] - ids[0] == 1
    assert np.datetime64(int(ids[0]), "D") == np.datetime64("2024-01-14")


def test_empty_arrays() -> None:
    empty = np.array([], np.int64)
    assert local_to_utc_ns(empty, "UTC").size == 0
    assert session_ids(empty).size == 0


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        datetime_to_ns(datetime(2024, 1, 1))
