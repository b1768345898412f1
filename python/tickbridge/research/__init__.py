"""Research API: read history into numpy, run the same compiled kernels as live.

Tables are plain ``dict[str, numpy.ndarray]`` (no pandas): a tick table has ``ts``
(int64 UTC ns), ``price``, ``volume`` (float64), ``side`` (uint8: 0 unknown, 1 buy,
2 sell) and, when the source has a quote, ``bid`` and ``ask`` (float64, 0 = unknown).

    from tickbridge import research
    ticks = research.load("ESZ6.scid")
    session = research.session_ids(ticks["ts"], "America/Chicago", "17:00")
    bars = research.bars(ticks, "time", 60 * research.NS_PER_SECOND, session=session)
    sig = research.signals(ticks, session=session)
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from tickbridge import signals as _signals
from tickbridge.research.csv import read_csv_ticks, write_csv_ticks
from tickbridge.research.ninjatrader import read_ninjatrader_ticks, write_ninjatrader_ticks
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

Table = dict[str, np.ndarray]


def load(
    path: str | os.PathLike[str],
    *,
    tz: str | ZoneInfo | None = None,
    drop_partial_record: bool = False,
) -> Table:
    """Read a history file, choosing the reader by extension: ``.scid`` (Sierra Chart;
    a tick file gives a tick table, a bar file a bar table), ``.txt`` (NinjaTrader tick
    export, local time: ``tz`` is required), ``.csv`` (``tz`` for zone-less times)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".scid":
        scid = read_scid(path, drop_partial_record=drop_partial_record)
        return ticks_from_records(scid) if scid.is_tick_file else bars_from_records(scid)
    if suffix == ".txt":
        if tz is None:
            raise ValueError(
                f"{path}: NinjaTrader exports are in the local time of the exporting machine; "
                "pass tz= (e.g. 'America/New_York')"
            )
        return read_ninjatrader_ticks(path, tz)
    if suffix == ".csv":
        return read_csv_ticks(path, tz if tz is not None else "UTC")
    raise ValueError(f"{path}: unknown extension {suffix!r}; expected .scid, .txt or .csv")


def _require_ticks(table: Table, what: str) -> None:
    if "price" not in table:
        raise ValueError(
            f"{what} needs a tick table (ts, price, volume, side); this table has "
            f"{sorted(table)} -- a .scid bar file is already bars"
        )


def bars(
    ticks: Table, kind: str = "time", size: float = 60 * NS_PER_SECOND,
    session: np.ndarray | None = None,
) -> Table:
    """Bars from ticks: kind ``time`` (size in ns), ``tick``, ``volume`` or ``range``.
    The last bar may be incomplete. Columns: ts (bar open time), open, high, low, close,
    volume, trade_count, bid_volume, ask_volume."""
    _require_ticks(ticks, "bars()")
    out = _signals.build_bars(
        kind, size, ticks["ts"], ticks["price"], ticks["volume"], ticks["side"], session
    )
    return {name: out[name] for name in out.dtype.names or ()}


def signals(
    ticks: Table,
    *,
    session: np.ndarray | None = None,
    ema_period: int = 20,
    band_mult: float = 2.0,
    vol_period: int = 100,
) -> Table:
    """Tick-level signals: ema, vwap (+ stddev, upper, lower bands), cumulative_delta,
    realized_vol and, when the table has a quote, trade_through."""
    _require_ticks(ticks, "signals()")
    price = ticks["price"]
    vwap = _signals.vwap(price, ticks["volume"], session, band_mult)
    out: Table = {
        "ts": ticks["ts"],
        "ema": _signals.ema(price, period=ema_period),
        "vwap": vwap["vwap"],
        "vwap_stddev": vwap["stddev"],
        "vwap_upper": vwap["upper"],
        "vwap_lower": vwap["lower"],
        "cumulative_delta": _signals.cumulative_delta(ticks["volume"], ticks["side"], session),
        "realized_vol": _signals.realized_vol(price, vol_period),
    }
    if "bid" in ticks and "ask" in ticks:
        out["trade_through"] = _signals.trade_through(price, ticks["bid"], ticks["ask"])
    return out


def bar_signals(bar_table: Table, *, atr_period: int = 14, sma_period: int = 20) -> Table:
    """Bar-level signals: atr, sma and ema of the close."""
    close = bar_table["close"]
    return {
        "ts": bar_table["ts"],
        "atr": _signals.atr(bar_table["high"], bar_table["low"], close, atr_period),
        "sma": _signals.sma(close, sma_period),
        "ema": _signals.ema(close, period=sma_period),
    }


__all__ = [
    "NS_PER_SECOND",
    "ScidFile",
    "ScidFormatError",
    "Table",
    "bar_records",
    "bar_signals",
    "bars",
    "bars_from_records",
    "load",
    "local_to_utc_ns",
    "ns_to_datetime64",
    "read_csv_ticks",
    "read_ninjatrader_ticks",
    "read_scid",
    "session_ids",
    "signals",
    "tick_records",
    "ticks_from_records",
    "utc_to_local_ns",
    "write_csv_ticks",
    "write_ninjatrader_ticks",
    "write_scid",
]
