"""Batch functions reject wrong dtypes, shapes, lengths and NaN with a ValueError
naming the argument; strided input is accepted and gives the same answer."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge import signals as sg


def test_wrong_dtype_names_argument() -> None:
    with pytest.raises(ValueError, match="price must have dtype float64, got float32"):
        sg.ema(np.ones(3, np.float32), period=3)
    with pytest.raises(ValueError, match="side must have dtype uint8, got int64"):
        sg.cumulative_delta(np.ones(3), np.ones(3, np.int64))
    with pytest.raises(ValueError, match="ts must have dtype int64"):
        sg.build_bars("tick", 1, np.ones(3), np.ones(3), np.ones(3), np.ones(3, np.uint8))
    with pytest.raises(ValueError, match="price must be a 1-D numpy array of float64, got list"):
        sg.sma([1.0, 2.0], 2)  # type: ignore[arg-type]


def test_wrong_shape_and_length() -> None:
    with pytest.raises(ValueError, match="price must be 1-D"):
        sg.ema(np.ones((2, 2)), period=3)
    with pytest.raises(ValueError, match="volume has length 2 but price has length 3"):
        sg.vwap(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="session has length 2"):
        sg.cumulative_delta(np.ones(3), np.ones(3, np.uint8), np.zeros(2, np.int64))


def test_nan_and_inf_are_rejected_with_index_and_argument() -> None:
    price = np.array([1.0, 2.0, np.nan])
    for call in (lambda: sg.ema(price, period=2), lambda: sg.sma(price, 2),
                 lambda: sg.realized_vol(price, 1), lambda: sg.vwap(price, np.ones(3))):
        with pytest.raises(ValueError, match=r"element 2: price is not finite"):
            call()
    with pytest.raises(ValueError, match=r"element 0: volume is not finite"):
        sg.cumulative_delta(np.array([np.inf]), np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match=r"element 1: ask is not finite"):
        sg.trade_through(np.ones(2), np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"element 0: bid_size is negative"):
        sg.book_imbalance(np.array([-1.0]), np.ones(1))


def test_bad_side_and_backwards_time_in_batch() -> None:
    ts = np.array([3, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="element 1: ts goes backwards"):
        sg.build_bars("tick", 5, ts, np.ones(2), np.ones(2), np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="element 1: side is 7"):
        sg.cumulative_delta(np.ones(2), np.array([1, 7], np.uint8))


def test_strided_and_readonly_inputs_work() -> None:
    rng = np.random.default_rng(0)
    base = 100 + rng.random(40)
    strided = base[::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(sg.ema(strided, period=5),
                                  sg.ema(np.ascontiguousarray(strided), period=5))
    frozen = base.copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(sg.sma(frozen, 4), sg.sma(base, 4))
    assert not np.shares_memory(sg.ema(base, period=3), base)


def test_bad_periods() -> None:
    with pytest.raises(ValueError, match="sma period must be >= 1, got 0"):
        sg.sma(np.ones(3), 0)
    with pytest.raises(ValueError, match="atr period must be >= 1"):
        sg.Atr(0)
    with pytest.raises(ValueError, match="band_mult"):
        sg.vwap(np.ones(2), np.ones(2), band_mult=-1.0)
