"""Issue 16: sizes with units, whole counts, pandas in and out, distinct bar times across
a session change, and a separate EMA period for bar signals."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tickbridge import research, signals

NS = 1_000_000_000


def ticks(n: int = 2000, seed: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = (1_705_329_000 * NS + np.cumsum(rng.integers(0, 200_000_000, n))).astype(np.int64)
    return {"ts": ts, "price": 4800 + 0.25 * np.cumsum(rng.integers(-1, 2, n)),
            "volume": rng.integers(1, 9, n).astype(np.float64),
            "side": rng.integers(0, 3, n).astype(np.uint8)}


@pytest.mark.parametrize("size", ["1min", "60s", timedelta(minutes=1), np.timedelta64(60, "s"),
                                  np.timedelta64(1, "m"), pd.Timedelta("1min")])
def test_time_sizes_with_units_are_one_minute(size: object) -> None:
    t = ticks()
    got = research.bars(t, "time", size)
    want = signals.build_bars("time", 60 * NS, t["ts"], t["price"], t["volume"], t["side"])
    assert got["ts"].tolist() == want["ts"].tolist()


@pytest.mark.parametrize("size", [60, 60.0, 60 * NS, np.int64(60), "60"])
def test_a_bare_number_for_a_time_size_is_refused(size: object) -> None:
    # old code: size=60 meant 60 ns and built a bar per tick
    with pytest.raises((TypeError, ValueError), match="bare number"):
        research.bars(ticks(), "time", size)


def test_generic_timedelta64_is_refused() -> None:
    with pytest.raises(TypeError, match="has no unit"):
        research.bars(ticks(), "time", np.timedelta64(60))


@pytest.mark.parametrize("size", [2.7, 0.5, float("nan")])
def test_fractional_tick_bar_size_is_refused(size: float) -> None:
    with pytest.raises(ValueError, match="not a whole number"):  # old code: 2.7 became 2
        research.bars(ticks(), "tick", size)
    with pytest.raises(ValueError, match="not a whole number"):
        signals.bar_builder("tick", size)


def test_whole_float_tick_size_is_accepted() -> None:
    assert len(research.bars(ticks(), "tick", 10.0)["ts"]) == 200


def test_kernels_take_pandas_series_and_datetime64() -> None:
    t = ticks()
    frame = pd.DataFrame({"ts": t["ts"].view("datetime64[ns]"), "price": t["price"],
                          "volume": t["volume"], "side": t["side"]})
    want = signals.build_bars("time", 60 * NS, t["ts"], t["price"], t["volume"], t["side"])
    got = signals.build_bars("time", 60 * NS, frame["ts"], frame["price"], frame["volume"],
                             frame["side"])
    assert got.tolist() == want.tolist()
    np.testing.assert_array_equal(signals.ema(frame["price"], period=5),
                                  signals.ema(t["price"], period=5))
    np.testing.assert_array_equal(
        signals.cumulative_delta(frame["volume"], frame["side"]),
        signals.cumulative_delta(t["volume"], t["side"]))
    np.testing.assert_array_equal(signals.vwap(frame["price"], frame["volume"])["vwap"],
                                  signals.vwap(t["price"], t["volume"])["vwap"])


def test_datetime64_ns_is_viewed_not_copied() -> None:
    t = ticks()
    when = t["ts"].view("datetime64[ns]")
    assert np.shares_memory(research.time_ns(when), t["ts"])
    series = pd.Series(t["price"], copy=False)
    assert np.shares_memory(signals._arr(series), t["price"])


def test_other_datetime_units_and_tz_aware_times_become_utc_ns() -> None:
    t = ticks()
    us = t["ts"].view("datetime64[ns]").astype("datetime64[us]")
    assert research.time_ns(us).tolist() == (t["ts"] // 1000 * 1000).tolist()
    aware = pd.DatetimeIndex(t["ts"].view("datetime64[ns]"), tz="UTC").tz_convert(
        "America/Chicago")
    assert research.time_ns(aware).tolist() == t["ts"].tolist()


def test_dataframe_in_and_out() -> None:
    t = ticks()
    frame = research.to_frame(t)
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"
    bars = research.bars(frame, "time", "1min")  # a DataFrame indexed by time is a table
    assert bars["ts"].tolist() == research.bars(t, "time", "1min")["ts"].tolist()
    out = research.to_frame(bars)
    assert list(out.columns) == ["open", "high", "low", "close", "volume", "trade_count",
                                 "bid_volume", "ask_volume"]
    assert out.index[0] == pd.Timestamp(int(bars["ts"][0]), tz="UTC")
    raw = signals.build_bars("time", 60 * NS, t["ts"], t["price"], t["volume"], t["side"])
    assert research.to_frame(raw).shape == out.shape
    sig = research.to_frame(research.signals(frame))
    assert len(sig) == len(t["ts"]) and "vwap" in sig


def test_session_change_inside_a_bar_gives_distinct_times() -> None:
    base = 1_705_329_000 * NS  # a whole minute
    ts = np.array([base + 10 * NS, base + 20 * NS, base + 30 * NS, base + 70 * NS], np.int64)
    price = np.array([1.0, 2.0, 3.0, 4.0])
    volume = np.ones(4)
    side = np.zeros(4, np.uint8)
    session = np.array([0, 0, 1, 1], np.int64)
    bars = research.bars({"ts": ts, "price": price, "volume": volume, "side": side},
                         "time", "1min", session=session)
    # old code: [base, base, base + 60 s]
    assert bars["ts"].tolist() == [base, base + 30 * NS, base + 60 * NS]
    assert bars["trade_count"].tolist() == [2, 1, 1]
    builder = signals.bar_builder("time", "1min")  # the streaming builder: the same rule
    done = [b.ts for i in range(4) for b in builder.update(int(ts[i]), float(price[i]), 1.0, 0,
                                                           int(session[i]))]
    assert [*done, builder.flush().ts] == bars["ts"].tolist()


def test_bar_signals_ema_period_is_its_own() -> None:
    bars = research.bars(ticks(), "tick", 10)
    sig = research.bar_signals(bars, sma_period=3, ema_period=7)
    np.testing.assert_array_equal(sig["ema"], signals.ema(bars["close"], period=7))
    np.testing.assert_array_equal(sig["sma"], signals.sma(bars["close"], 3))
