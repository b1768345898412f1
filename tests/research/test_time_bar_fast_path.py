"""The batch time-bar path (one bar at a time, checks folded into a flag) gives the
streaming builder's bars bit for bit, and the same errors naming the same element."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge import signals

NS = 1_000_000_000


def streaming(ts, price, volume, side, session, interval):
    builder = signals.bar_builder("time", interval)
    out = []
    for i in range(len(ts)):
        out += [b.as_tuple() for b in builder.update(int(ts[i]), float(price[i]),
                                                     float(volume[i]), int(side[i]),
                                                     int(session[i]))]
    last = builder.flush()
    return [*out, last.as_tuple()] if last is not None else out


@pytest.mark.parametrize("seed", range(6))
def test_batch_equals_streaming_with_sessions_changing_mid_bar(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    ts = (1_705_329_000 * NS + np.cumsum(rng.integers(0, 3 * NS, n))).astype(np.int64)
    price = 4800 + 0.25 * np.cumsum(rng.integers(-1, 2, n))
    volume = rng.random(n) * 10  # not integers: sums must match in the same order
    side = rng.integers(0, 3, n).astype(np.uint8)
    session = np.cumsum(rng.random(n) < 0.01).astype(np.int64)  # changes inside bars
    got = signals.build_bars("time", 60 * NS, ts, price, volume, side, session)
    assert [tuple(b.item()) for b in got] == streaming(ts, price, volume, side, session,
                                                       60 * NS)
    assert (np.diff(got["ts"]) > 0).all()


@pytest.mark.parametrize(("index", "column", "value", "message"), [
    (5, "price", np.nan, "element 5: price is not finite"),
    (0, "price", np.inf, "element 0: price is not finite"),
    (7, "volume", -1.0, r"element 7: volume is negative"),
    (9, "side", 3, "element 9: side is 3"),
    (11, "ts", 0, r"element 11: ts goes backwards"),
])
def test_errors_name_the_element(index: int, column: str, value: float, message: str) -> None:
    n = 20
    t = {"ts": (1_705_329_000 * NS + np.arange(n) * 20 * NS).astype(np.int64),
         "price": np.full(n, 4800.0), "volume": np.ones(n), "side": np.ones(n, np.uint8)}
    t[column][index] = value
    with pytest.raises(ValueError, match=message):
        signals.build_bars("time", 60 * NS, t["ts"], t["price"], t["volume"], t["side"])
