"""Signal kernels: bars, indicators and order-flow features, compiled in the C++ core.

Every kernel exists twice with one implementation: a streaming class (``update`` one
tick at a time, as live) and a batch function over numpy arrays (as research) that
loops over the very same update step in C++, with the GIL released. Batch functions
take 1-D arrays of exactly the stated dtype (no silent conversion), use them without
a copy when C-contiguous, and raise ``ValueError`` naming the argument and element for
a wrong dtype, shape, length, NaN or out-of-range value. pandas Series are accepted
(their numpy array, no copy when numpy-backed), and ``ts`` may be ``datetime64`` (a
view when ``datetime64[ns]``; naive times are UTC).

Conventions (docs/signals.md): timestamps are int64 UTC nanoseconds; prices and
volumes float64; aggressor side uint8 with 0 unknown, 1 buy, 2 sell (the wire
protocol's codes); outputs are NaN while undefined (warm-up, no volume yet).
"""

from __future__ import annotations

import numpy as np

from tickbridge._core import signals as _k


def _arr(values: object) -> object:
    """A pandas Series/Index as its numpy array (no copy when numpy-backed); numpy
    arrays and anything else pass through to the kernel's own dtype checks."""
    if isinstance(values, np.ndarray) or values is None:
        return values
    to_numpy = getattr(values, "to_numpy", None)
    return to_numpy() if to_numpy is not None else values


def _ts(values: object) -> object:
    """datetime64 arrays and pandas times as int64 UTC ns (a view for datetime64[ns]);
    anything else goes to the kernel's own checks, which name a wrong dtype."""
    if isinstance(values, np.ndarray) and values.dtype.kind != "M":
        return values
    if isinstance(values, np.ndarray) or hasattr(values, "to_numpy"):
        from tickbridge.research.frames import time_ns

        dtype = getattr(values, "dtype", None)
        if getattr(dtype, "kind", None) == "M" or getattr(dtype, "tz", None) is not None:
            return time_ns(values)
        return _arr(values)
    return values


Bar = _k.Bar
BarBuilder = _k.BarBuilder
Ema = _k.Ema
Sma = _k.Sma
SessionVwap = _k.SessionVwap
Atr = _k.Atr
RealizedVol = _k.RealizedVol
CumulativeDelta = _k.CumulativeDelta
BookImbalance = _k.BookImbalance
TradeThrough = _k.TradeThrough

# The compiled classes' docstrings, set here where the Python API is documented.
Bar.__doc__ = ("One bar: ts (open time, UTC ns), open, high, low, close, volume, trade_count, "
               "bid_volume (sells), ask_volume (buys).")
BarBuilder.__doc__ = ("Streaming bar builder; make one with bar_builder(kind, size); update() "
                      "returns the bars a trade completes, flush() the open one.")
Ema.__doc__ = "Streaming EMA seeded with the first price: Ema(alpha).update(price)."
Sma.__doc__ = "Streaming simple moving average: Sma(period).update(price)."
SessionVwap.__doc__ = ("Streaming session-anchored VWAP with stddev bands: "
                       "SessionVwap(band_mult).update(price, volume, session).")
Atr.__doc__ = "Streaming average true range (Wilder): Atr(period).update(high, low, close)."
RealizedVol.__doc__ = ("Streaming realized volatility over the last period log returns: "
                       "RealizedVol(period).update(price).")
CumulativeDelta.__doc__ = ("Streaming buy-minus-sell volume, reset per session: "
                           "CumulativeDelta().update(volume, side, session).")
BookImbalance.__doc__ = ("Best bid/ask size imbalance in [-1, 1]: "
                         "BookImbalance().update(bid_size, ask_size).")
TradeThrough.__doc__ = ("+1 for a trade above the ask, -1 below the bid, else 0: "
                        "TradeThrough().update(price, bid, ask).")

#: Structured dtype of the bars returned by :func:`build_bars`.
BAR_DTYPE: np.dtype = _k.BAR_DTYPE

SIDE_UNKNOWN, SIDE_BUY, SIDE_SELL = 0, 1, 2
BAR_KINDS = ("time", "tick", "volume", "range")


def bar_builder(kind: str, size: object) -> BarBuilder:
    """A fresh builder: ``time`` (size = interval: int ns, or a duration with a unit such
    as '1min', timedelta, numpy.timedelta64, pandas.Timedelta), ``tick`` (a whole number
    of trades per bar; 2.7 is refused), ``volume`` (volume per bar) or ``range`` (price
    range per bar)."""
    from tickbridge.research.units import duration_ns, whole_count

    if kind == "time":
        # The kernel's unit is ns: a bare int here is ns, as documented above.
        is_int = isinstance(size, int | np.integer) and not isinstance(size, bool)
        return BarBuilder.time(int(size) if is_int else duration_ns(size, "size"))
    if kind == "tick":
        return BarBuilder.ticks(whole_count(size, "size (trades per tick bar)"))
    if kind == "volume":
        return BarBuilder.volume(float(size))
    if kind == "range":
        return BarBuilder.range(float(size))
    raise ValueError(f"kind must be one of {BAR_KINDS}, got {kind!r}")


def build_bars(
    kind: str,
    size: float,
    ts: np.ndarray,
    price: np.ndarray,
    volume: np.ndarray,
    side: np.ndarray,
    session: np.ndarray | None = None,
) -> np.ndarray:
    """Bars of all ticks as a ``BAR_DTYPE`` array; the last bar may be incomplete.
    ``size`` as for :func:`bar_builder`; bid_volume is sells, ask_volume buys."""
    return _k.build_bars(bar_builder(kind, size), _ts(ts), _arr(price), _arr(volume),
                         _arr(side), _arr(session))


def ema_alpha(period: int | None = None, alpha: float | None = None) -> float:
    """The EMA smoothing factor: ``alpha`` as given, or 2 / (period + 1)."""
    if (period is None) == (alpha is None):
        raise ValueError("give exactly one of period or alpha")
    if alpha is not None:
        return float(alpha)
    if period is None or period < 1:
        raise ValueError(f"ema period must be >= 1, got {period}")
    return 2.0 / (period + 1.0)


def ema(price: np.ndarray, period: int | None = None, alpha: float | None = None) -> np.ndarray:
    """EMA seeded with the first price; alpha = 2 / (period + 1) unless given."""
    return _k.ema(ema_alpha(period, alpha), _arr(price))


def sma(price: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average of the last ``period`` prices; NaN for the first period-1."""
    return _k.sma(period, _arr(price))


def vwap(
    price: np.ndarray,
    volume: np.ndarray,
    session: np.ndarray | None = None,
    band_mult: float = 2.0,
) -> dict[str, np.ndarray]:
    """Session-anchored VWAP: dict of ``vwap``, ``stddev``, ``upper``, ``lower``."""
    return dict(_k.vwap(band_mult, _arr(price), _arr(volume), _arr(session)))


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average true range over ``period`` bars (Wilder's smoothing, docs/signals.md);
    NaN until ``period`` bars."""
    return _k.atr(period, _arr(high), _arr(low), _arr(close))


def realized_vol(price: np.ndarray, period: int) -> np.ndarray:
    """sqrt of the sum of squared log returns over the last ``period`` returns (not
    annualized, not demeaned); NaN until ``period`` returns exist; prices must be > 0."""
    return _k.realized_vol(period, _arr(price))


def cumulative_delta(
    volume: np.ndarray, side: np.ndarray, session: np.ndarray | None = None
) -> np.ndarray:
    """Running buy volume minus sell volume, reset at each session change."""
    return _k.cumulative_delta(_arr(volume), _arr(side), _arr(session))


def book_imbalance(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """(bid_size - ask_size) / (bid_size + ask_size) per quote; NaN for an empty book."""
    return _k.book_imbalance(_arr(bid_size), _arr(ask_size))


def trade_through(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """int8 per trade: +1 printed above the ask, -1 below the bid, 0 otherwise."""
    return _k.trade_through(_arr(price), _arr(bid), _arr(ask))


__all__ = [
    "BAR_DTYPE",
    "BAR_KINDS",
    "SIDE_BUY",
    "SIDE_SELL",
    "SIDE_UNKNOWN",
    "Atr",
    "Bar",
    "BarBuilder",
    "BookImbalance",
    "CumulativeDelta",
    "Ema",
    "RealizedVol",
    "SessionVwap",
    "Sma",
    "TradeThrough",
    "atr",
    "bar_builder",
    "book_imbalance",
    "build_bars",
    "cumulative_delta",
    "ema",
    "ema_alpha",
    "realized_vol",
    "sma",
    "trade_through",
    "vwap",
]
