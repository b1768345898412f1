"""Random and edge-case tick streams shared by the signal tests."""

from __future__ import annotations

import numpy as np

NS = 1_000_000_000


def random_ticks(seed: int, n: int, sessions: bool = True) -> dict[str, np.ndarray]:
    """Trades with equal timestamps, long gaps (across session breaks), zero volumes
    and all three aggressor codes."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([0, 0, 1, 3, 7, 45, 200, 4000], size=n) * NS // 10
    steps[rng.random(n) < 0.01] = 20 * 3600 * NS  # overnight gap
    ts = (1_700_000_000 * NS + np.cumsum(steps)).astype(np.int64)
    price = 4000.0 + 0.25 * np.cumsum(rng.integers(-2, 3, size=n))
    volume = rng.integers(0, 12, size=n).astype(np.float64)
    side = rng.integers(0, 3, size=n).astype(np.uint8)
    session = (ts // (24 * 3600 * NS)).astype(np.int64) if sessions else np.zeros(n, np.int64)
    bid = price - 0.25 * rng.integers(-1, 3, size=n)
    ask = price + 0.25 * rng.integers(-1, 3, size=n)
    bid_size = rng.integers(0, 50, size=n).astype(np.float64)
    ask_size = rng.integers(0, 50, size=n).astype(np.float64)
    return {"ts": ts, "price": price, "volume": volume, "side": side, "session": session,
            "bid": bid, "ask": ask, "bid_size": bid_size, "ask_size": ask_size}


def take(ticks: dict[str, np.ndarray], count: int) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(v[:count]) for k, v in ticks.items()}
