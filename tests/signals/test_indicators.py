"""EMA, SMA, session VWAP, ATR, realized volatility: streaming == batch exactly, and
each == an independent plain-Python/numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from signal_ticks import random_ticks, take

from tickbridge import signals as sg

SIZES = [0, 1, 2, 3, 50, 700]


def ticks(n: int, seed: int = 11) -> dict[str, np.ndarray]:
    return take(random_ticks(seed, max(n, 1)), n)


def same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# --- EMA -------------------------------------------------------------------------


def ema_reference(x: np.ndarray, alpha: float) -> np.ndarray:
    out = []
    value = 0.0
    for i, v in enumerate(x.tolist()):
        value = v if i == 0 else alpha * v + (1.0 - alpha) * value
        out.append(value)
    return np.array(out)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("period", [1, 2, 20])
def test_ema(n: int, period: int) -> None:
    price = ticks(n)["price"]
    got = sg.ema(price, period=period)
    stream = sg.Ema.from_period(period)
    same([stream.update(p) for p in price.tolist()], got)
    same(got, ema_reference(price, 2.0 / (period + 1)))
    same(sg.ema(price, alpha=0.3), ema_reference(price, 0.3))


def test_ema_arguments() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        sg.ema(np.ones(3))
    with pytest.raises(ValueError, match="alpha must be in"):
        sg.ema(np.ones(3), alpha=0.0)
    assert math.isnan(sg.Ema(0.5).value)


# --- SMA -------------------------------------------------------------------------


def sma_reference(x: np.ndarray, period: int) -> np.ndarray:
    return np.array([math.fsum(x[i + 1 - period:i + 1]) / period if i + 1 >= period else np.nan
                     for i in range(len(x))])


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("period", [1, 3, 40])
def test_sma(n: int, period: int) -> None:
    price = ticks(n)["price"]
    got = sg.sma(price, period)
    stream = sg.Sma(period)
    same([stream.update(p) for p in price.tolist()], got)
    np.testing.assert_allclose(got, sma_reference(price, period), rtol=1e-13, equal_nan=True)


def test_sma_does_not_drift_over_a_long_run() -> None:
    rng = np.random.default_rng(5)
    price = 1e6 + rng.normal(0, 1e3, 200_000)
    got = sg.sma(price, 10)
    np.testing.assert_allclose(got[-5:], sma_reference(price[-14:], 10)[-5:], rtol=1e-14)


# --- session VWAP ----------------------------------------------------------------


def vwap_reference(t: dict[str, np.ndarray], band_mult: float) -> dict[str, np.ndarray]:
    n = len(t["price"])
    out = {k: np.full(n, np.nan) for k in ("vwap", "stddev", "upper", "lower")}
    for i in range(n):
        start = i
        while start > 0 and t["session"][start - 1] == t["session"][i]:
            start -= 1
        p = t["price"][start:i + 1]
        v = t["volume"][start:i + 1]
        if v.sum() == 0:
            continue
        mean = float(np.average(p, weights=v))
        sd = math.sqrt(float(np.average((p - mean) ** 2, weights=v)))
        out["vwap"][i], out["stddev"][i] = mean, sd
        out["upper"][i], out["lower"][i] = mean + band_mult * sd, mean - band_mult * sd
    return out


@pytest.mark.parametrize("n", SIZES)
def test_vwap(n: int) -> None:
    t = ticks(n)
    t["volume"][:3] = 0.0  # a session that opens with zero-volume prints
    got = sg.vwap(t["price"], t["volume"], t["session"], band_mult=1.5)
    stream = sg.SessionVwap(1.5)
    rows = [stream.update(p, v, s) for p, v, s in
            zip(t["price"].tolist(), t["volume"].tolist(), t["session"].tolist(), strict=True)]
    for j, key in enumerate(("vwap", "stddev", "upper", "lower")):
        same([r[j] for r in rows], got[key])
    expected = vwap_reference(t, 1.5)
    for key in ("vwap", "upper", "lower"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got["stddev"], expected["stddev"], rtol=1e-9, atol=1e-9,
                               equal_nan=True)


def test_vwap_resets_at_session_change_and_defaults_to_one_session() -> None:
    price = np.array([10.0, 20.0, 30.0])
    volume = np.array([1.0, 1.0, 2.0])
    assert sg.vwap(price, volume, np.array([0, 0, 1]))["vwap"].tolist() == [10.0, 15.0, 30.0]
    assert sg.vwap(price, volume)["vwap"].tolist() == [10.0, 15.0, 22.5]


# --- ATR -------------------------------------------------------------------------


def atr_reference(h: np.ndarray, lo: np.ndarray, c: np.ndarray, period: int) -> np.ndarray:
    tr = h - lo
    tr[1:] = np.maximum.reduce([tr[1:], np.abs(h[1:] - c[:-1]), np.abs(lo[1:] - c[:-1])])
    out = np.full(len(h), np.nan)
    if len(h) >= period:
        out[period - 1] = tr[:period].mean()
        for i in range(period, len(h)):
            out[i] = (out[i - 1] * (period - 1) + tr[i]) / period
    return out


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("period", [1, 2, 14])
def test_atr(n: int, period: int) -> None:
    rng = np.random.default_rng(n)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    high = close + rng.random(n)
    low = close - rng.random(n)
    got = sg.atr(high, low, close, period)
    stream = sg.Atr(period)
    same([stream.update(a, b, c) for a, b, c in
          zip(high.tolist(), low.tolist(), close.tolist(), strict=True)], got)
    np.testing.assert_allclose(got, atr_reference(high, low, close, period), rtol=1e-12,
                               equal_nan=True)


def test_atr_rejects_low_above_high() -> None:
    with pytest.raises(ValueError, match="element 1: low is above high"):
        sg.atr(np.array([2.0, 2.0]), np.array([1.0, 3.0]), np.array([1.5, 2.0]), 2)


# --- realized volatility ---------------------------------------------------------


def realized_vol_reference(price: np.ndarray, period: int) -> np.ndarray:
    out = np.full(len(price), np.nan)
    r = np.diff(np.log(price))
    for i in range(period, len(price)):
        out[i] = math.sqrt(math.fsum(r[i - period:i] ** 2))
    return out


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("period", [1, 5, 30])
def test_realized_vol(n: int, period: int) -> None:
    price = ticks(n)["price"]
    got = sg.realized_vol(price, period)
    stream = sg.RealizedVol(period)
    same([stream.update(p) for p in price.tolist()], got)
    np.testing.assert_allclose(got, realized_vol_reference(price, period), rtol=1e-9,
                               atol=1e-15, equal_nan=True)


def test_realized_vol_rejects_non_positive_price() -> None:
    with pytest.raises(ValueError, match="element 1: price is not positive"):
        sg.realized_vol(np.array([1.0, 0.0]), 1)
