"""Signal kernels: bars, indicators and order-flow features, compiled in the C++ core.

Every kernel exists twice with one implementation: a streaming class (``update`` one
tick at a time, as live) and a batch function over numpy arrays (as research) that
loops over the very same update step in C++, with the GIL released. Batch functions
take 1-D arrays of exactly the stated dtype (no silent conversion), use them without
a copy when C-contiguous, and raise ``ValueError`` naming the argument and element for
a wrong dtype, shape, length, NaN or out-of-range value.

Conventions (docs/signals.md): timestamps are int64 UTC nanoseconds; prices and
volumes float64; aggressor side uint8 with 0 unknown, 1 buy, 2 sell (the wire
protocol's codes); outputs are NaN while undefined (warm-up, no volume yet).
"""

from __future__ import annotations

import numpy as np

from tickbridge._core import signals as _k

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

#: Structured dtype of the bars returned by :func:`build_bars`.
BAR_DTYPE: np.dtype = _k.BAR_DTYPE

SIDE_UNKNOWN, SIDE_BUY, SIDE_SELL = 0, 1, 2
BAR_KINDS = ("time", "tick", "volume", "range")


def bar_builder(kind: str, size: float) -> BarBuilder:
    """A fresh builder: ``time`` (size = interval in ns), ``tick`` (trades per bar),
    ``volume`` (volume per bar) or ``range`` (price range per bar)."""
    if kind == "time":
        return BarBuilder.time(int(size))
    if kind == "tick":
        return BarBuilder.ticks(int(size))
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
    """Bars of all ticks as a ``BAR_DTYPE`` array; the last bar may be incomplete."""
    return _k.build_bars(bar_builder(kind, size), ts, price, volume, side, session)


def ema_alpha(period: int | None = None, alpha: float | None = None) -> float:
    if (period is None) == (alpha is None):
        raise ValueError("give exactly one of period or alpha")
    if alpha is not None:
        return float(alpha)
    if period is None or period < 1:
        raise ValueError(f"ema period must be >= 1, got {period}")
    return 2.0 / (period + 1.0)


def ema(price: np.ndarray, period: int | None = None, alpha: float | None = None) -> np.ndarray:
    """EMA seeded with the first price; alpha = 2 / (period + 1) unless given."""
    return _k.ema(ema_alpha(period, alpha), price)


def sma(price: np.ndarray, period: int) -> np.ndarray:
    return _k.sma(period, price)


def vwap(
    price: np.ndarray,
    volume: np.ndarray,
    session: np.ndarray | None = None,
    band_mult: float = 2.0,
) -> dict[str, np.ndarray]:
    """Session-anchored VWAP: dict of ``vwap``, ``stddev``, ``upper``, ``lower``."""
    return dict(_k.vwap(band_mult, price, volume, session))


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    return _k.atr(period, high, low, close)


def realized_vol(price: np.ndarray, period: int) -> np.ndarray:
    return _k.realized_vol(period, price)


def cumulative_delta(
    volume: np.ndarray, side: np.ndarray, session: np.ndarray | None = None
) -> np.ndarray:
    return _k.cumulative_delta(volume, side, session)


def book_imbalance(bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    return _k.book_imbalance(bid_size, ask_size)


def trade_through(price: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """int8 per trade: +1 printed above the ask, -1 below the bid, 0 otherwise."""
    return _k.trade_through(price, bid, ask)


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
