"""Plain CSV tick files, with a header line naming the columns.

Required: ``price``, ``volume`` and one time column, either ``ts`` (int64 UTC
nanoseconds, as written by :func:`write_csv_ticks`) or ``time`` (ISO 8601 text; a
time without an offset is read in zone ``tz``, default UTC). Optional: ``side``
(0 unknown, 1 buy, 2 sell), ``bid``, ``ask``. Other columns are ignored.
"""

from __future__ import annotations

import csv as _csv
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge.research.timestamps import datetime_to_ns
from tickbridge.research.zones import resolve_zone

_FLOAT_COLUMNS = ("price", "volume", "bid", "ask")


def read_csv_ticks(
    path: str | os.PathLike[str], tz: str | ZoneInfo | None = "UTC"
) -> dict[str, np.ndarray]:
    """Read a CSV tick file (see the module docstring for the columns) into a tick
    table; zone-less ``time`` values are read in ``tz`` (an IANA key or a Windows zone
    name). Every error names the file, the line and the field."""
    path = Path(path)
    zone = resolve_zone(tz)
    with path.open("r", newline="", encoding="utf-8-sig") as f:
        reader = _csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file; expected a header line")
        names = [h.strip() for h in header]
        time_column = "ts" if "ts" in names else "time" if "time" in names else None
        missing = [c for c in ("price", "volume") if c not in names]
        if time_column is None or missing:
            need = ", ".join((["ts or time"] if time_column is None else []) + missing)
            raise ValueError(f"{path}:1: header {names} lacks column(s): {need}")
        wanted = [c for c in (time_column, "price", "volume", "side", "bid", "ask") if c in names]
        index = {c: names.index(c) for c in wanted}
        columns: dict[str, list[float | int]] = {c: [] for c in wanted}
        for lineno, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise ValueError(f"{path}:{lineno}: {len(row)} fields, header has {len(names)}")
            for c in wanted:
                text = row[index[c]].strip()
                try:
                    columns[c].append(_parse(c, text, zone))
                except ValueError as e:
                    raise ValueError(f"{path}:{lineno}: field {c} {text!r}: {e}") from None
    n = len(columns["price"])
    table = {
        "ts": np.array(columns[time_column], dtype=np.int64),
        "price": np.array(columns["price"], dtype=np.float64),
        "volume": np.array(columns["volume"], dtype=np.float64),
        "side": np.array(columns.get("side", [0] * n), dtype=np.uint8),
    }
    for c in ("bid", "ask"):
        if c in columns:
            table[c] = np.array(columns[c], dtype=np.float64)
    return table


def _parse(column: str, text: str, zone: ZoneInfo) -> float | int:
    if column == "ts":
        return int(text)
    if column == "time":
        moment = datetime.fromisoformat(text)
        return datetime_to_ns(moment if moment.tzinfo else moment.replace(tzinfo=zone))
    if column == "side":
        side = int(text)
        if side not in (0, 1, 2):
            raise ValueError("side must be 0 unknown, 1 buy or 2 sell")
        return side
    value = float(text)
    if not np.isfinite(value):
        raise ValueError("not finite")
    return value


def write_csv_ticks(path: str | os.PathLike[str], table: dict[str, np.ndarray]) -> None:
    """Write a tick table with a ``ts`` column in UTC ns (lossless round trip)."""
    columns = [c for c in ("ts", "price", "volume", "side", "bid", "ask") if c in table]
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = _csv.writer(f)
        writer.writerow(columns)
        for row in zip(*(table[c].tolist() for c in columns), strict=True):
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
