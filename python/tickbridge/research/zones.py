"""Time-zone names: IANA keys, and the Windows names NinjaTrader shows.

NinjaTrader 8 runs on Windows and names its time-zone setting with Windows names
("Eastern Standard Time" -- which, despite the name, observes daylight saving). They
are mapped to IANA keys through ``tzlocal``'s table, generated from the Unicode CLDR
``windowsZones.xml`` (the maintained mapping; no table is written here).

Fixed-offset abbreviations in the tz database (``EST``, ``MST``, ``HST``) are
refused: ``"EST"`` means UTC-5 all year, never the New York time a user typing it
means. A fixed offset stays available under its explicit name (``Etc/GMT+5``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FIXED_ABBREVIATIONS = {
    "EST": "America/New_York",
    "MST": "America/Denver (or America/Phoenix, which has no DST)",
    "HST": "Pacific/Honolulu",
}


def windows_zone_names() -> dict[str, str]:
    """Windows time-zone name -> IANA key, from CLDR via ``tzlocal``."""
    try:
        from tzlocal.windows_tz import win_tz
    except ImportError as e:  # pragma: no cover - tzlocal is a research dependency
        raise ImportError(
            "Windows time-zone names need the 'tzlocal' package (pip install "
            "'tickbridge[research]')"
        ) from e
    return dict(win_tz)


def resolve_zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    """A ZoneInfo for an IANA key, a Windows zone name or a ZoneInfo; None and
    fixed-offset abbreviations (EST, MST, HST) are refused with a message saying what
    to pass instead."""
    if isinstance(tz, ZoneInfo):
        if tz.key in _FIXED_ABBREVIATIONS:
            return resolve_zone(tz.key)
        return tz
    if tz is None:
        raise ValueError(
            "tz is required: the times are local wall-clock times; pass the zone of the "
            "machine that wrote them, e.g. 'America/New_York' or NinjaTrader's "
            "'Eastern Standard Time'"
        )
    if not isinstance(tz, str):
        raise TypeError(f"tz must be a zone name or a ZoneInfo, got {type(tz).__name__}")
    if tz in _FIXED_ABBREVIATIONS:
        raise ValueError(
            f"tz {tz!r} is a fixed offset with no daylight saving in the tz database; "
            f"for local exchange time pass {_FIXED_ABBREVIATIONS[tz]} (or an explicit "
            "'Etc/GMT+N' if a fixed offset is really meant)"
        )
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    # Not an IANA key: a Windows name? (IANA keys have no spaces; Windows names do.)
    windows = windows_zone_names()
    if tz in windows:
        return ZoneInfo(windows[tz])
    raise ValueError(
        f"tz {tz!r} is neither an IANA zone (e.g. 'America/New_York') nor a Windows "
        "zone name (e.g. 'Eastern Standard Time')"
    )
