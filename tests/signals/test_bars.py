"""Bar building: streaming == batch exactly; both == a plain-Python reference."""

from __future__ import annotations

import numpy as np
import pytest
from signal_ticks import NS, random_ticks, take

from tickbridge import signals as sg

KINDS = [("time", 60 * NS), ("time", 3600 * NS), ("tick", 1), ("tick", 7),
         ("volume", 25.0), ("volume", 1.0), ("range", 1.0), ("range", 0.25)]


def reference_groups(kind: str, size: float, t: dict[str, np.ndarray]) -> list[list[int]]:
    """Indices of each bar, from the documented rules, by grouping first."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in range(len(t["ts"])):
        if current:
            first = current[0]
            new_session = t["session"][i] != t["session"][first]
            new_bucket = kind == "time" and t["ts"][i] // size != t["ts"][first] // size
            if new_session or new_bucket:
                groups.append(current)
                current = []
        current.append(i)
        prices = [t["price"][j] for j in current]
        full = (
            (kind == "tick" and len(current) >= size)
            or (kind == "volume" and sum(t["volume"][j] for j in current) >= size)
            or (kind == "range" and max(prices) - min(prices) >= size)
        )
        if full:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def reference_bars(kind: str, size: float, t: dict[str, np.ndarray]) -> list[tuple]:
    out = []
    for g in reference_groups(kind, size, t):
        p = t["price"][g]
        v = t["volume"][g]
        s = t["side"][g]
        ts = (t["ts"][g[0]] // size) * size if kind == "time" else t["ts"][g[0]]
        out.append((int(ts), p[0], p.max(), p.min(), p[-1], float(v.sum()), len(g),
                    float(v[s == 2].sum()), float(v[s == 1].sum())))
    return out


def batch(kind: str, size: float, t: dict[str, np.ndarray]) -> list[tuple]:
    bars = sg.build_bars(kind, size, t["ts"], t["price"], t["volume"], t["side"], t["session"])
    assert bars.dtype == sg.BAR_DTYPE
    return [tuple(b.item()) for b in bars]


def streaming(kind: str, size: float, t: dict[str, np.ndarray]) -> list[tuple]:
    builder = sg.bar_builder(kind, size)
    out = []
    for i in range(len(t["ts"])):
        done = builder.update(int(t["ts"][i]), float(t["price"][i]), float(t["volume"][i]),
                              int(t["side"][i]), int(t["session"][i]))
        out.extend(b.as_tuple() for b in done)
    last = builder.flush()
    if last is not None:
        out.append(last.as_tuple())
    return out


@pytest.mark.parametrize(("kind", "size"), KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bars_streaming_equals_batch_equals_reference(kind: str, size: float, seed: int) -> None:
    t = random_ticks(seed, 600)
    expected = reference_bars(kind, size, t)
    got = batch(kind, size, t)
    assert streaming(kind, size, t) == got
    assert got == expected


@pytest.mark.parametrize(("kind", "size"), KINDS)
@pytest.mark.parametrize("count", [0, 1, 2])
def test_bars_tiny_inputs(kind: str, size: float, count: int) -> None:
    t = take(random_ticks(7, 10), count)
    assert batch(kind, size, t) == streaming(kind, size, t) == reference_bars(kind, size, t)
    assert (len(batch(kind, size, t)) == 0) == (count == 0)


def test_time_bar_timestamp_is_interval_start_and_gaps_make_no_bars() -> None:
    ts = np.array([65, 70, 200, 200, 1000], dtype=np.int64) * NS
    price = np.array([1.0, 2.0, 3.0, 0.5, 4.0])
    volume = np.array([1.0, 0.0, 2.0, 3.0, 5.0])
    side = np.array([1, 2, 0, 2, 1], dtype=np.uint8)
    bars = sg.build_bars("time", 60 * NS, ts, price, volume, side)
    assert bars["ts"].tolist() == [60 * NS, 180 * NS, 960 * NS]
    assert bars["open"].tolist() == [1.0, 3.0, 4.0]
    assert bars["low"].tolist() == [1.0, 0.5, 4.0]
    assert bars["trade_count"].tolist() == [2, 2, 1]
    assert bars["ask_volume"].tolist() == [1.0, 0.0, 5.0]
    assert bars["bid_volume"].tolist() == [0.0, 3.0, 0.0]
    assert bars["volume"].tolist() == [1.0, 5.0, 5.0]


def test_time_bars_before_1970_floor() -> None:
    ts = np.array([-1, 0], dtype=np.int64)
    bars = sg.build_bars("time", 10, ts, np.ones(2), np.ones(2), np.zeros(2, np.uint8))
    assert bars["ts"].tolist() == [-10, 0]


def test_session_change_closes_bar_and_new_tick_can_complete_its_own() -> None:
    builder = sg.BarBuilder.ticks(1)
    assert len(builder.update(1, 1.0, 1.0, 1, 0)) == 1
    builder = sg.BarBuilder.volume(5.0)
    assert builder.update(1, 1.0, 1.0, 1, 0) == []
    done = builder.update(2, 2.0, 9.0, 2, 1)  # closes session 0's bar and fills its own
    assert [b.trade_count for b in done] == [1, 1]
    assert builder.current() is None and builder.flush() is None


def test_bar_builder_rejects_bad_input() -> None:
    builder = sg.BarBuilder.time(NS)
    builder.update(10, 1.0, 1.0, 0)
    with pytest.raises(ValueError, match="ts goes backwards"):
        builder.update(9, 1.0, 1.0, 0)
    with pytest.raises(ValueError, match="side is 3"):
        builder.update(11, 1.0, 1.0, 3)
    with pytest.raises(ValueError, match="volume is negative"):
        builder.update(11, 1.0, -1.0, 0)
    with pytest.raises(ValueError, match="price is not finite"):
        builder.update(11, float("nan"), 1.0, 0)
    for kind, size in [("time", 0), ("tick", 0), ("volume", 0.0), ("range", -1.0)]:
        with pytest.raises(ValueError, match="must be"):
            sg.bar_builder(kind, size)
    with pytest.raises(ValueError, match="kind must be"):
        sg.bar_builder("renko", 1)
