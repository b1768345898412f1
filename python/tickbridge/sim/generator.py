"""A seeded generator of realistic ES and NQ sessions, bundled so the simulator, the
demo and the tests run on a machine with no market data at all.

The model, kept simple on purpose but with the features that break naive code:
- the mid moves on the tick grid only (prices are exact multiples of tick_size);
- volatility clusters: calm and busy regimes of random length multiply the chance of a
  price move and the trade rate;
- a burst at the open: trade rate and size decay from several times normal to normal over
  the first minutes, as on the CME cash open;
- trades carry an aggressor: buys lift the ask, sells hit the bid, and the aggressor leans
  with the next move (order flow leads price a little);
- the spread is one tick, sometimes two in busy regimes.
Everything is vectorised numpy and deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS_PER_SECOND = 1_000_000_000
# 2026-11-18 14:30:00 UTC: the New York cash open (09:30 ET) on a Wednesday.
DEFAULT_OPEN_NS = 1_795_530_600 * NS_PER_SECOND


@dataclass(frozen=True)
class InstrumentSpec:
    """A futures contract as the platform describes it (InstrumentDefinition)."""

    symbol: str
    exchange: str
    tick_size: float
    point_value: float
    start_price: float
    trades_per_second: float  # normal-regime trade rate
    move_probability: float  # chance a trade row moves the mid one tick, calm regime
    mean_trade_size: float
    mean_level_size: float  # displayed size at the best bid/ask


ES = InstrumentSpec("ESZ6", "CME", 0.25, 50.0, 6012.75, 25.0, 0.045, 2.5, 180.0)
NQ = InstrumentSpec("NQZ6", "CME", 0.25, 20.0, 21437.50, 18.0, 0.22, 1.6, 12.0)
# The micro contract at ES's price (the copier maps ES to MES); its own random path.
MES = InstrumentSpec("MESZ6", "CME", 0.25, 5.0, 6012.75, 25.0, 0.045, 4.0, 300.0)
BUILTIN: dict[str, InstrumentSpec] = {"ES": ES, "NQ": NQ, "MES": MES}


@dataclass(frozen=True)
class TickArrays:
    """One instrument's ticks: one row per trade, with the quote in force at that trade."""

    time_ns: np.ndarray  # int64 UTC ns, non-decreasing
    price: np.ndarray  # float64 trade price
    size: np.ndarray  # uint32 contracts
    aggressor: np.ndarray  # uint8: 0 unknown, 1 buy, 2 sell
    bid: np.ndarray  # float64 best bid
    ask: np.ndarray  # float64 best ask
    bid_size: np.ndarray  # uint32 displayed size at the bid
    ask_size: np.ndarray  # uint32 displayed size at the ask

    def __len__(self) -> int:
        return len(self.time_ns)


def _regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Volatility multiplier per row: piecewise-constant regimes of random length."""
    lengths = rng.geometric(1 / 2000, size=max(4, n // 500 + 4))
    levels = rng.choice([0.6, 1.0, 1.0, 1.6, 2.8], size=len(lengths))
    out = np.repeat(levels, lengths)
    while len(out) < n:  # geometric draws came up short: extend with calm
        out = np.concatenate([out, np.ones(n - len(out))])
    return out[:n]


def generate_session(
    spec: InstrumentSpec,
    *,
    seed: int,
    ticks: int,
    open_ns: int = DEFAULT_OPEN_NS,
    open_burst: float = 4.0,
    burst_decay_s: float = 300.0,
) -> TickArrays:
    """``ticks`` trade rows of one instrument from the open at ``open_ns``."""
    rng = np.random.default_rng([seed, _stable_hash(spec.symbol)])
    n = int(ticks)
    regime = _regimes(rng, n)
    # Trade times: exponential gaps at a rate boosted near the open. The boost depends on
    # the time, which depends on the gaps: a first pass at the base rate estimates it.
    base_gap = rng.exponential(1.0 / spec.trades_per_second, size=n)
    approx_t = np.cumsum(base_gap / (1 + (open_burst - 1) * 0.5))
    boost = 1.0 + (open_burst - 1.0) * np.exp(-approx_t / burst_decay_s)
    gaps_ns = (base_gap / (boost * np.sqrt(regime)) * NS_PER_SECOND).astype(np.int64)
    time_ns = open_ns + np.cumsum(gaps_ns)
    # Mid moves: one tick (rarely two) with a probability scaled by regime and burst.
    p_move = np.clip(spec.move_probability * regime * np.sqrt(boost), 0.0, 0.9)
    moves = (rng.random(n) < p_move) * rng.choice([-1, 1], size=n)
    moves *= np.where(rng.random(n) < 0.05, 2, 1)
    moves[0] = 0
    bid_ticks = np.round(spec.start_price / spec.tick_size) + np.cumsum(moves)
    spread_ticks = np.where(rng.random(n) < 0.03 * regime, 2, 1)
    bid = bid_ticks * spec.tick_size
    ask = (bid_ticks + spread_ticks) * spec.tick_size
    # Aggressor leans with the next move: buyers lift before an up-tick.
    next_move = np.append(moves[1:], 0)
    p_buy = np.where(next_move > 0, 0.7, np.where(next_move < 0, 0.3, 0.5))
    buy = rng.random(n) < p_buy
    aggressor = np.where(buy, 1, 2).astype(np.uint8)
    price = np.where(buy, ask, bid)
    size = 1 + rng.geometric(1.0 / (spec.mean_trade_size * np.sqrt(boost)), size=n) - 1
    # Displayed sizes: redrawn when the price moves and on about a third of the other
    # trades, otherwise unchanged (so quote updates are rarer than trades, as on CME).
    level = spec.mean_level_size
    redraw = (moves != 0) | (rng.random(n) < 0.3)
    redraw[0] = True
    last_draw = np.maximum.accumulate(np.where(redraw, np.arange(n), 0))
    bid_size = np.maximum(1, rng.gamma(2.0, level / 2.0, size=n)).astype(np.uint32)[last_draw]
    ask_size = np.maximum(1, rng.gamma(2.0, level / 2.0, size=n)).astype(np.uint32)[last_draw]
    return TickArrays(
        time_ns=time_ns.astype(np.int64),
        price=price.astype(np.float64),
        size=size.astype(np.uint32),
        aggressor=aggressor,
        bid=bid.astype(np.float64),
        ask=ask.astype(np.float64),
        bid_size=bid_size,
        ask_size=ask_size,
    )


def _stable_hash(text: str) -> int:
    """A process-independent hash (Python's hash() is salted per process)."""
    value = 0
    for byte in text.encode():
        value = (value * 131 + byte) % (1 << 31)
    return value
