"""NinjaTrader 8 tick exports (Tools > Historical Data > Export, "Tick" type).

One trade per line, ``;``-separated, in one of two layouts:

    yyyyMMdd HHmmss fffffff;price;volume
    yyyyMMdd HHmmss fffffff;last;bid;ask;volume

``fffffff`` is the fraction of the second in 100 ns units. The time is the local
wall-clock time of the exporting machine (NinjaTrader's time-zone setting), so the
reader takes the zone and converts to UTC ns. The export has no aggressor side; the
five-field layout lets it be inferred (price at or above the ask: buy; at or below
the bid: sell) with ``infer_side=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge.research.timestamps import local_to_utc_ns

_NS_PER_100NS = 100
_SECONDS_PER_DAY = 86_400


def _fail(path: Path, lineno: int, field: str, text: str, why: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: field {field} {text!r}: {why}")


def read_ninjatrader_ticks(
    path: str | os.PathLike[str], tz: str | ZoneInfo, *, infer_side: bool = True
) -> dict[str, np.ndarray]:
    """Read a NinjaTrader tick export into a table of ts (UTC ns), price, volume, side,
    and bid/ask (NaN-free: 0 when the export has no quote, meaning unknown)."""
    path = Path(path)
    days: list[str] = []
    seconds: list[int] = []
    fractions: list[int] = []
    price: list[float] = []
    volume: list[float] = []
    bid: list[float] = []
    ask: list[float] = []
    layout = 0
    with path.open("r", encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(";")
            if layout == 0:
                layout = len(fields)
                if layout not in (3, 5):
                    raise ValueError(
                        f"{path}:{lineno}: {layout} fields; expected 3 "
                        "(time;price;volume) or 5 (time;last;bid;ask;volume)"
                    )
            elif len(fields) != layout:
                raise ValueError(
                    f"{path}:{lineno}: {len(fields)} fields, but line 1 of the data had {layout}"
                )
            stamp = fields[0].split(" ")
            if len(stamp) != 3 or len(stamp[0]) != 8 or len(stamp[1]) != 6 or len(stamp[2]) != 7:
                raise _fail(path, lineno, "time", fields[0], "expected 'yyyyMMdd HHmmss fffffff'")
            date, hms, frac = stamp
            if not (date.isdigit() and hms.isdigit() and frac.isdigit()):
                raise _fail(path, lineno, "time", fields[0], "expected digits")
            hh, mm, ss = int(hms[0:2]), int(hms[2:4]), int(hms[4:6])
            if hh > 23 or mm > 59 or ss > 59:
                raise _fail(path, lineno, "time", fields[0], "hour/minute/second out of range")
            days.append(f"{date[0:4]}-{date[4:6]}-{date[6:8]}")
            seconds.append(hh * 3600 + mm * 60 + ss)
            fractions.append(int(frac))
            try:
                price.append(float(fields[1]))
            except ValueError:
                raise _fail(path, lineno, "price", fields[1], "not a number") from None
            if layout == 5:
                for name, text, column in (("bid", fields[2], bid), ("ask", fields[3], ask)):
                    try:
                        column.append(float(text))
                    except ValueError:
                        raise _fail(path, lineno, name, text, "not a number") from None
            try:
                volume.append(float(fields[-1]))
            except ValueError:
                raise _fail(path, lineno, "volume", fields[-1], "not a number") from None
            if volume[-1] < 0 or not np.isfinite(volume[-1]) or not np.isfinite(price[-1]):
                raise _fail(path, lineno, "price/volume", line, "not finite, or negative volume")
    try:
        day_numbers = np.array(days, dtype="datetime64[D]").astype(np.int64)
    except ValueError as e:
        raise ValueError(f"{path}: a date in the time field is not a calendar date: {e}") from None
    local_ns = (
        day_numbers * _SECONDS_PER_DAY + np.array(seconds, dtype=np.int64)
    ) * 1_000_000_000 + np.array(fractions, dtype=np.int64) * _NS_PER_100NS
    n = len(price)
    table = {
        "ts": local_to_utc_ns(local_ns, tz),
        "price": np.array(price, dtype=np.float64),
        "volume": np.array(volume, dtype=np.float64),
        "side": np.zeros(n, dtype=np.uint8),
        "bid": np.array(bid, dtype=np.float64) if layout == 5 else np.zeros(n),
        "ask": np.array(ask, dtype=np.float64) if layout == 5 else np.zeros(n),
    }
    if layout == 5 and infer_side:
        quoted = (table["bid"] > 0) & (table["ask"] > 0)
        table["side"][quoted & (table["price"] >= table["ask"])] = 1
        table["side"][quoted & (table["price"] <= table["bid"])] = 2
    return table


def write_ninjatrader_ticks(
    path: str | os.PathLike[str], table: dict[str, np.ndarray], tz: str | ZoneInfo
) -> None:
    """Write a table in NinjaTrader's export layout (five fields when it has bid/ask)."""
    from tickbridge.research.timestamps import utc_to_local_ns

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
