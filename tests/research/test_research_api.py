"""The research API end to end: load -> bars -> signals, equal to the kernels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickbridge import research, signals

NS = 1_000_000_000


@pytest.fixture
def scid_ticks(tmp_path: Path) -> Path:
    rng = np.random.default_rng(9)
    n = 5000
    ts = (1_705_329_000 * NS + np.cumsum(rng.integers(0, 60_000_000, n)) * 1000)
    price = 4800 + 0.25 * np.cumsum(rng.integers(-1, 2, n))
    recs = research.tick_records(ts.astype(np.int64), price, rng.integers(1, 9, n).astype(float),
                                 rng.integers(0, 3, n).astype(np.uint8), price - 0.25,
                                 price + 0.25)
    path = tmp_path / "ESH4.scid"
    research.write_scid(path, recs)
    return path


def test_load_bars_signals(scid_ticks: Path) -> None:
    ticks = research.load(scid_ticks)
    session = research.session_ids(ticks["ts"], "America/Chicago", "17:00")
    bars = research.bars(ticks, "time", "60s", session=session)
    assert set(bars) == set(signals.BAR_DTYPE.names)
    assert bars["volume"].sum() == ticks["volume"].sum()
    assert bars["trade_count"].sum() == len(ticks["ts"])
    sig = research.signals(ticks, session=session, ema_period=10)
    np.testing.assert_array_equal(sig["ema"], signals.ema(ticks["price"], period=10))
    np.testing.assert_array_equal(
        sig["cumulative_delta"],
        signals.cumulative_delta(ticks["volume"], ticks["side"], session))
    assert (sig["vwap_upper"] >= sig["vwap_lower"]).all()
    assert set(sig) >= {"vwap", "trade_through", "realized_vol"}
    per_bar = research.bar_signals(bars, atr_period=5)
    assert np.isnan(per_bar["atr"][:4]).all() and not np.isnan(per_bar["atr"][4:]).any()


def test_bars_refuse_a_bar_table(tmp_path: Path) -> None:
    path = tmp_path / "bars.scid"
    one = np.ones(1)
    research.write_scid(path, research.bar_records(np.zeros(1, np.int64), one, one, one, one,
                                                   one, one, one, one))
    with pytest.raises(ValueError, match="already bars"):
        research.bars(research.load(path))


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown extension '\.parquet'"):
        research.load(tmp_path / "x.parquet")
