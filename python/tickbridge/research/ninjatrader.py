"""NinjaTrader 8 exports (Tools > Historical Data > Export): ticks and minute bars.

Tick export, one trade per line, ``;``-separated, in one of two layouts:

    yyyyMMdd HHmmss fffffff;price;volume
    yyyyMMdd HHmmss fffffff;last;bid;ask;volume

``fffffff`` is the fraction of the second in 100 ns units. Minute-bar export:

    yyyyMMdd HHmmss;open;high;low;close;volume

where the time is the bar's *end* (NinjaTrader stamps a bar with its close time); the
reader returns ``ts`` = the bar's open time (end - ``bar_minutes``), the convention of
every bar table here, and ``ts_end``.

Times are the local wall-clock time of the exporting machine (NinjaTrader's time-zone
setting), so the readers take the zone -- an IANA key or the Windows name NinjaTrader
shows, e.g. "Eastern Standard Time" -- and convert to UTC ns. The repeated hour of a
DST fall-back is resolved by file order (see
:func:`tickbridge.research.timestamps.ordered_local_to_utc_ns`); a time that goes
backwards otherwise is an error naming the line. Every error names the file, the line
and the field. ``strict=False`` drops bad lines instead, and reports how many in a
``UserWarning``.

The tick export has no aggressor side; the five-field layout lets it be inferred
(price at or above the ask: buy; at or below the bid: sell) with ``infer_side=True``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge.research.timestamps import (
    NS_PER_MINUTE,
    NS_PER_SECOND,
    ordered_local_to_utc_ns,
    utc_to_local_ns,
)

_NS_PER_100NS = 100
_SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class _LineError(ValueError):
    pass


def _fail(path: Path, lineno: int, field: str, text: str, why: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: field {field} {text!r}: {why}")


def _local_ns(stamp: str, with_fraction: bool) -> int:
    """``yyyyMMdd HHmmss[ fffffff]`` to naive local ns; raises _LineError(why)."""
    parts = stamp.split(" ")
    want = 3 if with_fraction else 2
    layout = "yyyyMMdd HHmmss fffffff" if with_fraction else "yyyyMMdd HHmmss"
    if len(parts) != want or len(parts[0]) != 8 or len(parts[1]) != 6 or (
        with_fraction and len(parts[2]) != 7
    ):
        raise _LineError(f"expected '{layout}'")
    if not all(p.isdigit() for p in parts):
        raise _LineError("expected digits")
    d, hms = parts[0], parts[1]
    try:
        day = date(int(d[0:4]), int(d[4:6]), int(d[6:8]))
    except ValueError as e:
        raise _LineError(f"not a calendar date ({e})") from None
    hh, mm, ss = int(hms[0:2]), int(hms[2:4]), int(hms[4:6])
    if hh > 23 or mm > 59 or ss > 59:
        raise _LineError("hour/minute/second out of range")
    seconds = (day.toordinal() - _EPOCH_ORDINAL) * _SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss
    fraction = int(parts[2]) * _NS_PER_100NS if with_fraction else 0
    return seconds * NS_PER_SECOND + fraction


def _number(text: str, *, non_negative: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _LineError("not a number") from None
    if not math.isfinite(value):
        raise _LineError("not finite")
    if non_negative and value < 0:
        raise _LineError("negative")
    return value


def _read_lines(
    path: Path, layouts: dict[int, str]
) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    layout = 0
    with path.open("r", encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(";")
            if layout == 0:
                layout = len(fields)
                if layout not in layouts:
                    expected = " or ".join(f"{k} ({v})" for k, v in layouts.items())
                    raise ValueError(f"{path}:{lineno}: {layout} fields; expected {expected}")
            elif len(fields) != layout:
                raise ValueError(
                    f"{path}:{lineno}: {len(fields)} fields, but the first data line has "
                    f"{layout}"
                )
            rows.append((lineno, fields))
    return rows


def _report(path: Path, dropped: list[str]) -> None:
    if dropped:
        shown = "; ".join(dropped[:3]) + ("; ..." if len(dropped) > 3 else "")
        warnings.warn(f"{path}: dropped {len(dropped)} bad line(s): {shown}", UserWarning,
                      stacklevel=4)  # _report, _parse, the reader: the caller's line


def _parse(path: Path, rows: list[tuple[int, list[str]]], names: tuple[str, ...],
           tz: str | ZoneInfo | None, *, fraction: bool, strict: bool,
           check: Callable[[list[float]], tuple[int, str] | None]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Each line's time (UTC ns, converted in file order) and numbers (a column each
    after the time). A bad line is an error naming its line and field; ``check`` gives
    the column and the reason of a line whose numbers disagree. ``strict=False``: bad
    lines are dropped, with one warning."""
    local: list[int] = []
    lines: list[int] = []
    values: list[list[float]] = []
    dropped: list[str] = []
    for lineno, fields in rows:
        column = 0
        try:
            stamp = _local_ns(fields[0], fraction)
            numbers = []
            for column in range(1, len(names)):
                numbers.append(_number(fields[column], non_negative=names[column] == "volume"))
            bad = check(numbers)
            if bad is not None:
                column = bad[0]
                raise _LineError(bad[1])
        except _LineError as e:
            error = _fail(path, lineno, names[column], fields[column], str(e))
            if strict:
                raise error from None
            dropped.append(str(error))
            continue
        local.append(stamp)
        lines.append(lineno)
        values.append(numbers)
    _report(path, dropped)
    ts = ordered_local_to_utc_ns(np.array(local, dtype=np.int64), tz,
                                 lambda i: f"{path}:{lines[i]}")
    return ts, np.array(values, dtype=np.float64).reshape(len(values), len(names) - 1)


def _brackets(numbers: list[float]) -> tuple[int, str] | None:
    """A bar's low and high bracket its open and close, or (the field at fault, why)."""
    o, h, lo, c = numbers[:4]
    if lo <= min(o, c) and max(o, c) <= h:
        return None
    return 3 if lo > min(o, c) else 2, f"low {lo} / high {h} do not bracket open {o}, close {c}"


def read_ninjatrader_ticks(
    path: str | os.PathLike[str],
    tz: str | ZoneInfo | None,
    *,
    infer_side: bool = True,
    strict: bool = True,
) -> dict[str, np.ndarray]:
    """Read a NinjaTrader tick export into a table of ts (UTC ns), price, volume, side,
    and bid/ask (0 when the export has no quote, meaning unknown). Prices, bid and ask
    must be finite, volumes finite and non-negative; a quoted line with bid > ask is
    refused."""
    path = Path(path)
    rows = _read_lines(path, {3: "time;price;volume", 5: "time;last;bid;ask;volume"})
    layout = len(rows[0][1]) if rows else 3
    names = ("time", "price", "volume") if layout == 3 else (
        "time", "last", "bid", "ask", "volume")
    ts, v = _parse(path, rows, names, tz, fraction=True, strict=strict, check=lambda n: (
        (2, f"bid {n[1]} is above ask {n[2]}")
        if layout == 5 and n[1] > 0 and n[2] > 0 and n[1] > n[2] else None))
    n = len(v)
    table = {
        "ts": ts,
        "price": v[:, 0].copy(),
        "volume": v[:, -1].copy(),
        "side": np.zeros(n, dtype=np.uint8),
        "bid": v[:, 1].copy() if layout == 5 else np.zeros(n),
        "ask": v[:, 2].copy() if layout == 5 else np.zeros(n),
    }
    if layout == 5 and infer_side:
        quoted = (table["bid"] > 0) & (table["ask"] > 0)
        table["side"][quoted & (table["price"] >= table["ask"])] = 1
        table["side"][quoted & (table["price"] <= table["bid"])] = 2
    return table


def read_ninjatrader_bars(
    path: str | os.PathLike[str],
    tz: str | ZoneInfo | None,
    *,
    bar_minutes: int = 1,
    strict: bool = True,
) -> dict[str, np.ndarray]:
    """Read a NinjaTrader minute-bar export (``yyyyMMdd HHmmss;o;h;l;c;v``, stamped with
    the bar's end) into a bar table: ts (bar open, UTC ns), ts_end, open, high, low,
    close, volume. Prices must be finite with low <= open, close <= high; volume finite
    and non-negative."""
    if isinstance(bar_minutes, bool) or not isinstance(bar_minutes, int) or bar_minutes < 1:
        raise ValueError(f"bar_minutes must be a whole number >= 1, got {bar_minutes!r}")
    path = Path(path)
    rows = _read_lines(path, {6: "time;open;high;low;close;volume"})
    names = ("time", "open", "high", "low", "close", "volume")
    end, v = _parse(path, rows, names, tz, fraction=False, strict=strict,
                    check=_brackets)
    return {
        "ts": end - bar_minutes * NS_PER_MINUTE,
        "ts_end": end,
        "open": v[:, 0].copy(),
        "high": v[:, 1].copy(),
        "low": v[:, 2].copy(),
        "close": v[:, 3].copy(),
        "volume": v[:, 4].copy(),
    }


def write_ninjatrader_ticks(
    path: str | os.PathLike[str], table: dict[str, np.ndarray], tz: str | ZoneInfo
) -> None:
    """Write a table in NinjaTrader's tick export layout (five fields when it has
    bid/ask), times as local wall-clock time in ``tz``."""
    local = utc_to_local_ns(table["ts"], tz)
    day = np.floor_divide(local, _SECONDS_PER_DAY * 1_000_000_000)
    dates = day.astype("datetime64[D]").astype(str)
    in_day = local - day * _SECONDS_PER_DAY * 1_000_000_000
    quoted = "bid" in table and "ask" in table
    with Path(path).open("w", encoding="utf-8") as f:
        for i in range(len(local)):
            ns = int(in_day[i])
            sec, frac = divmod(ns, 1_000_000_000)
            stamp = (
                f"{dates[i].replace('-', '')} {sec // 3600:02d}{sec // 60 % 60:02d}"
                f"{sec % 60:02d} {frac // _NS_PER_100NS:07d}"
            )
            mid = f";{float(table['bid'][i])!r};{float(table['ask'][i])!r}" if quoted else ""
            f.write(f"{stamp};{float(table['price'][i])!r}{mid};{int(table['volume'][i])}\n")
