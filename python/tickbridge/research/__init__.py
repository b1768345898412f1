"""Research API: read history into numpy, run the same compiled kernels as live.

Tables are plain ``dict[str, numpy.ndarray]``: a tick table has ``ts`` (int64 UTC ns),
``price``, ``volume`` (float64), ``side`` (uint8: 0 unknown, 1 buy, 2 sell) and, when
the source has a quote, ``bid`` and ``ask`` (float64, 0 = unknown). Every function that
takes a table also takes a pandas DataFrame; :func:`to_frame` gives a DataFrame back.
Volume split by aggressor is named after the side of the book the trade hit:
``bid_volume`` is the volume of *sells* (traded at the bid), ``ask_volume`` of *buys*.

    from tickbridge import research
    ticks = research.load("ESZ6.scid")
    session = research.session_ids(ticks["ts"], "America/Chicago", "17:00")
    bars = research.bars(ticks, "time", "1min", session=session)
    sig = research.signals(ticks, session=session)
    frame = research.to_frame(bars)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge import signals as _signals
from tickbridge.research.csv import read_csv_ticks, write_csv_ticks
from tickbridge.research.follow import ScidFollower, follow_scid
from tickbridge.research.frames import as_table, time_ns, to_frame
from tickbridge.research.ninjatrader import (
    read_ninjatrader_bars,
    read_ninjatrader_ticks,
    write_ninjatrader_ticks,
)
from tickbridge.research.scid import (
    ScidFile,
    ScidFormatError,
    bar_records,
    bars_from_records,
    read_scid,
    tick_records,
    ticks_from_records,
    write_scid,
)
from tickbridge.research.timestamps import (
    NS_PER_SECOND,
    local_to_utc_ns,
    ns_to_datetime64,
    session_ids,
    utc_to_local_ns,
)
from tickbridge.research.units import duration_ns, positive_amount, whole_count
from tickbridge.research.zones import resolve_zone

Table = dict[str, np.ndarray]
TimeSize = timedelta | np.timedelta64 | str


def load(
    path: str | os.PathLike[str],
    *,
    tz: str | ZoneInfo | None = None,
    strict: bool = True,
    drop_partial_record: bool = False,
) -> Table:
    """Read a history file, choosing the reader by extension: ``.scid`` (Sierra Chart;
    a tick file gives a tick table, a bar file a bar table), ``.txt`` (NinjaTrader
    export, ticks or minute bars by its layout; local time: ``tz`` is required, an IANA
    key or a Windows name), ``.csv`` (``tz`` for zone-less times, default UTC).
    ``strict=False`` drops bad records/lines and warns how many."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".scid":
        scid = read_scid(path, strict=strict, drop_partial_record=drop_partial_record)
        return ticks_from_records(scid) if scid.is_tick_file else bars_from_records(scid)
    if suffix == ".txt":
        if tz is None:
            raise ValueError(
                f"{path}: NinjaTrader exports are in the local time of the exporting machine; "
                "pass tz= (e.g. 'America/New_York' or 'Eastern Standard Time')"
            )
        if _ninjatrader_fields(path) == 6:
            return read_ninjatrader_bars(path, tz, strict=strict)
        return read_ninjatrader_ticks(path, tz, strict=strict)
    if suffix == ".csv":
        return read_csv_ticks(path, tz if tz is not None else "UTC")
    raise ValueError(f"{path}: unknown extension {suffix!r}; expected .scid, .txt or .csv")


def _ninjatrader_fields(path: Path) -> int:
    with path.open("r", encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                return len(line.strip().split(";"))
    return 0


def follow(
    path: str | os.PathLike[str], *, poll_interval: float = 0.25, from_start: bool = True,
    stop: Any = None,
):
    """Yield tick (or bar) tables of the records Sierra Chart appends to a live .scid
    file, whole records only, surviving its rewrites (see
    :mod:`tickbridge.research.follow`). ``stop``: a threading.Event or a callable."""
    for chunk in follow_scid(path, poll_interval=poll_interval, from_start=from_start,
                             stop=stop):
        opens = chunk["open"]
        ticks = (opens == 0) | (opens <= np.float32(-1e37))
        yield ticks_from_records(chunk) if ticks.all() else bars_from_records(chunk)


def _require_ticks(table: Table, what: str) -> None:
    if "price" not in table:
        raise ValueError(
            f"{what} needs a tick table (ts, price, volume, side); this table has "
            f"{sorted(table)} -- a .scid bar file is already bars"
        )


def bar_size(kind: str, size: Any) -> float:
    """The kernel's size for a bar kind: ``time`` takes a duration with a unit ('1min',
    timedelta, numpy.timedelta64, pandas.Timedelta) and returns ns; ``tick`` a whole
    number of trades; ``volume`` and ``range`` a positive number."""
    if kind == "time":
        return duration_ns(size, "size")
    if kind == "tick":
        return whole_count(size, "size (trades per tick bar)")
    if kind in ("volume", "range"):
        return positive_amount(size, f"size ({kind} per bar)")
    raise ValueError(f"kind must be one of {_signals.BAR_KINDS}, got {kind!r}")


def bars(
    ticks: Mapping[str, Any] | Any,
    kind: str = "time",
    size: Any = "1min",
    session: np.ndarray | None = None,
) -> Table:
    """Bars from ticks (a table or DataFrame): kind ``time`` (size a duration with a
    unit: '1min', timedelta, numpy.timedelta64, pandas.Timedelta -- a bare number is
    refused), ``tick`` (whole trades per bar), ``volume`` or ``range``.

    Columns: ts (bar open time: the interval start for time bars), open, high, low,
    close, volume, trade_count, bid_volume (sells), ask_volume (buys). The last bar
    may be incomplete. A session change always starts a new bar; when it happens inside
    a time bar's interval, the new bar's ts is its first tick's time, so each bar has
    its own ts."""
    table = as_table(ticks)
    _require_ticks(table, "bars()")
    kernel_size = bar_size(kind, size)
    out = _signals.build_bars(
        kind, kernel_size, table["ts"], table["price"], table["volume"], table["side"],
        None if session is None else np.asarray(session),
    )
    return {name: out[name] for name in out.dtype.names or ()}


def signals(
    ticks: Mapping[str, Any] | Any,
    *,
    session: np.ndarray | None = None,
    ema_period: int = 20,
    band_mult: float = 2.0,
    vol_period: int = 100,
) -> Table:
    """Tick-level signals: ema, vwap (+ stddev, upper, lower bands), cumulative_delta
    (buys minus sells), realized_vol and, when the table has a quote, trade_through."""
    table = as_table(ticks)
    _require_ticks(table, "signals()")
    ema_period = whole_count(ema_period, "ema_period")
    vol_period = whole_count(vol_period, "vol_period")
    price = table["price"]
    vwap = _signals.vwap(price, table["volume"], session, band_mult)
    out: Table = {
        "ts": table["ts"],
        "ema": _signals.ema(price, period=ema_period),
        "vwap": vwap["vwap"],
        "vwap_stddev": vwap["stddev"],
        "vwap_upper": vwap["upper"],
        "vwap_lower": vwap["lower"],
        "cumulative_delta": _signals.cumulative_delta(table["volume"], table["side"], session),
        "realized_vol": _signals.realized_vol(price, vol_period),
    }
    if "bid" in table and "ask" in table:
        out["trade_through"] = _signals.trade_through(price, table["bid"], table["ask"])
    return out


def bar_signals(
    bar_table: Mapping[str, Any] | Any,
    *,
    atr_period: int = 14,
    sma_period: int = 20,
    ema_period: int = 20,
) -> Table:
    """Bar-level signals: atr (``atr_period`` bars), sma (``sma_period``) and ema
    (``ema_period``) of the close; NaN until enough bars."""
    table = as_table(bar_table)
    close = table["close"]
    return {
        "ts": table["ts"],
        "atr": _signals.atr(table["high"], table["low"], close,
                            whole_count(atr_period, "atr_period")),
        "sma": _signals.sma(close, whole_count(sma_period, "sma_period")),
        "ema": _signals.ema(close, period=whole_count(ema_period, "ema_period")),
    }


__all__ = [
    "NS_PER_SECOND",
    "ScidFile",
    "ScidFollower",
    "ScidFormatError",
    "Table",
    "TimeSize",
    "as_table",
    "bar_records",
    "bar_signals",
    "bar_size",
    "bars",
    "bars_from_records",
    "follow",
    "follow_scid",
    "load",
    "local_to_utc_ns",
    "ns_to_datetime64",
    "read_csv_ticks",
    "read_ninjatrader_bars",
    "read_ninjatrader_ticks",
    "read_scid",
    "resolve_zone",
    "session_ids",
    "signals",
    "tick_records",
    "ticks_from_records",
    "time_ns",
    "to_frame",
    "utc_to_local_ns",
    "write_csv_ticks",
    "write_ninjatrader_ticks",
    "write_scid",
]
