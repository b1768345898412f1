"""Cumulative delta, book imbalance, trade-through: streaming == batch == reference."""

from __future__ import annotations

import numpy as np
import pytest
from signal_ticks import random_ticks, take

from tickbridge import signals as sg

SIZES = [0, 1, 2, 500]


def ticks(n: int) -> dict[str, np.ndarray]:
    return take(random_ticks(23, max(n, 1)), n)


def delta_reference(t: dict[str, np.ndarray]) -> np.ndarray:
    signed = np.where(t["side"] == 1, t["volume"], np.where(t["side"] == 2, -t["volume"], 0.0))
    out = np.empty(len(signed))
    for s in np.unique(t["session"]):
        mask = t["session"] == s
        out[mask] = np.cumsum(signed[mask])  # sessions are contiguous in time
    return out


@pytest.mark.parametrize("n", SIZES)
def test_cumulative_delta(n: int) -> None:
    t = ticks(n)
    got = sg.cumulative_delta(t["volume"], t["side"], t["session"])
    stream = sg.CumulativeDelta()
    np.testing.assert_array_equal(
        [stream.update(v, s, ss) for v, s, ss in
         zip(t["volume"].tolist(), t["side"].tolist(), t["session"].tolist(), strict=True)],
        got)
    np.testing.assert_array_equal(got, delta_reference(t))


def test_cumulative_delta_without_sessions_and_unknown_side() -> None:
    got = sg.cumulative_delta(np.array([5.0, 3.0, 2.0, 0.0]), np.array([1, 2, 0, 1], np.uint8))
    assert got.tolist() == [5.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("n", SIZES)
def test_book_imbalance(n: int) -> None:
    t = ticks(n)
    t["bid_size"][:2] = 0.0
    t["ask_size"][:1] = 0.0
    got = sg.book_imbalance(t["bid_size"], t["ask_size"])
    stream = sg.BookImbalance()
    np.testing.assert_array_equal(
        [stream.update(b, a) for b, a in
         zip(t["bid_size"].tolist(), t["ask_size"].tolist(), strict=True)], got)
    total = t["bid_size"] + t["ask_size"]
    with np.errstate(invalid="ignore"):
        expected = np.where(total > 0, (t["bid_size"] - t["ask_size"]) / total, np.nan)
    np.testing.assert_array_equal(got, expected)
    if n:
        assert np.isnan(got[0])


@pytest.mark.parametrize("n", SIZES)
def test_trade_through(n: int) -> None:
    t = ticks(n)
    t["bid"][:1] = 0.0  # no quote recorded: never a trade-through
    got = sg.trade_through(t["price"], t["bid"], t["ask"])
    assert got.dtype == np.int8
    stream = sg.TradeThrough()
    np.testing.assert_array_equal(
        [stream.update(p, b, a) for p, b, a in
         zip(t["price"].tolist(), t["bid"].tolist(), t["ask"].tolist(), strict=True)], got)
    quoted = (t["bid"] > 0) & (t["ask"] > 0) & (t["bid"] <= t["ask"])
    expected = np.zeros(n, np.int8)
    expected[quoted & (t["price"] > t["ask"])] = 1
    expected[quoted & (t["price"] < t["bid"])] = -1
    np.testing.assert_array_equal(got, expected)
    if n > 50:
        assert (got == 1).any() and (got == -1).any() and (got == 0).any()
