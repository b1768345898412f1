"""Tick sources for the simulator, merged into one ``MarketTape``.

Sources: the bundled generator (``generated_tape``), any arrays (``tape_from_arrays``),
and history files read by ``tickbridge.research`` (``tape_from_file``: Sierra Chart
``.scid``, NinjaTrader ``.txt`` exports, CSV). The research package is written in
parallel on another branch; this module imports it only when a file is asked for and
adapts its tick table (``ts``, ``price``, ``volume``, ``side``, optional ``bid``/``ask``),
so any reader returning those arrays plugs in through ``tape_from_table``.

The tape precomputes its Trade and Quote records once (numpy, column-wise): replay then
only slices them, so the socket loop does no per-tick encoding work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tickbridge.protocol import RecordType, new_records
from tickbridge.sim.generator import BUILTIN, InstrumentSpec, TickArrays, generate_session

DEFAULT_LEVEL_SIZE = 10  # displayed size assumed when a history file has no quote sizes


class FeedError(ValueError):
    """A tick source that cannot be used, with what to do about it."""


@dataclass
class MarketTape:
    """Every instrument's ticks merged by time; ``instrument_id`` 1..n indexes ``specs``."""

    specs: list[InstrumentSpec]
    instrument_id: np.ndarray  # uint32
    ticks: TickArrays
    quote_changed: np.ndarray  # bool: a Quote record precedes this row's Trade
    trades: np.ndarray  # Trade records, one per row
    quotes: np.ndarray  # Quote records, one per row (sent where quote_changed)

    def __len__(self) -> int:
        return len(self.instrument_id)

    def records(self, start: int, stop: int) -> list[np.ndarray]:
        """Rows [start, stop) as record arrays in wire order (views, no copies)."""
        out: list[np.ndarray] = []
        quote_rows = np.flatnonzero(self.quote_changed[start:stop]) + start
        run_start = start
        for row in quote_rows.tolist():
            if row > run_start:
                out.append(self.trades[run_start:row])
            out.append(self.quotes[row:row + 1])
            run_start = row
        if stop > run_start:
            out.append(self.trades[run_start:stop])
        return out

    def record_count(self, start: int, stop: int) -> int:
        return (stop - start) + int(np.count_nonzero(self.quote_changed[start:stop]))


def tape_from_arrays(sources: list[tuple[InstrumentSpec, TickArrays]]) -> MarketTape:
    """Merges instruments by time (stable: equal times keep source order)."""
    if not sources:
        raise FeedError("no instruments to replay")
    ids = np.concatenate([np.full(len(t), i, np.uint32) for i, (_, t) in
                          enumerate(sources, start=1)])
    columns = {name: np.concatenate([getattr(t, name) for _, t in sources])
               for name in TickArrays.__dataclass_fields__}
    order = np.argsort(columns["time_ns"], kind="stable")
    ids = ids[order]
    ticks = TickArrays(**{name: col[order] for name, col in columns.items()})
    changed = np.zeros(len(ids), bool)
    for iid in range(1, len(sources) + 1):
        rows = np.flatnonzero(ids == iid)
        if not len(rows):
            continue
        quote = np.stack([ticks.bid[rows], ticks.ask[rows],
                          ticks.bid_size[rows].astype(np.float64),
                          ticks.ask_size[rows].astype(np.float64)])
        moved = np.ones(len(rows), bool)
        moved[1:] = np.any(quote[:, 1:] != quote[:, :-1], axis=0)
        changed[rows] = moved
    trades = new_records(RecordType.TRADE, len(ids))
    trades["instrument_id"] = ids
    trades["time_ns"] = ticks.time_ns
    trades["price"] = ticks.price
    trades["size"] = ticks.size
    trades["aggressor"] = ticks.aggressor
    quotes = new_records(RecordType.QUOTE, len(ids))
    quotes["instrument_id"] = ids
    quotes["time_ns"] = ticks.time_ns
    quotes["bid_price"] = ticks.bid
    quotes["ask_price"] = ticks.ask
    quotes["bid_size"] = ticks.bid_size
    quotes["ask_size"] = ticks.ask_size
    return MarketTape([s for s, _ in sources], ids, ticks, changed, trades, quotes)


def generated_tape(symbols: list[str], *, seed: int, ticks_per_instrument: int) -> MarketTape:
    """The bundled ES/NQ generator, one session per symbol, same seed."""
    if len({s.upper() for s in symbols}) != len(symbols):
        raise FeedError(f"symbols {symbols} name an instrument twice")
    sources = []
    for symbol in symbols:
        spec = BUILTIN.get(symbol.upper())
        if spec is None:
            raise FeedError(f"no generator for {symbol!r}; choose from {', '.join(BUILTIN)}")
        sources.append((spec, generate_session(spec, seed=seed, ticks=ticks_per_instrument)))
    return tape_from_arrays(sources)


def arrays_from_table(table: Mapping[str, np.ndarray], spec: InstrumentSpec) -> TickArrays:
    """Adapts a research tick table (ts, price, volume, side, bid?, ask?). Where the file
    has no quote, the quote is inferred from the trade: a buy lifted the ask, a sell hit
    the bid, the spread is one tick; sizes are unknown and set to DEFAULT_LEVEL_SIZE."""
    missing = [k for k in ("ts", "price", "volume", "side") if k not in table]
    if missing:
        raise FeedError(f"tick table lacks {missing}: a bar file cannot be replayed as ticks")
    price = np.asarray(table["price"], np.float64)
    n = len(price)
    side = np.asarray(table["side"], np.uint8)
    tick = spec.tick_size
    inferred_bid = np.where(side == 1, price - tick, price)
    bid = np.asarray(table.get("bid", np.zeros(n)), np.float64)
    ask = np.asarray(table.get("ask", np.zeros(n)), np.float64)
    bid = np.where(bid > 0, bid, inferred_bid)
    ask = np.where(ask > 0, ask, bid + tick)
    sizes = np.full(n, DEFAULT_LEVEL_SIZE, np.uint32)
    return TickArrays(
        time_ns=np.asarray(table["ts"], np.int64), price=price,
        size=np.maximum(1, np.rint(np.asarray(table["volume"], np.float64))).astype(np.uint32),
        aggressor=side, bid=bid, ask=ask, bid_size=sizes, ask_size=sizes.copy(),
    )


def tape_from_file(path: str | os.PathLike[str], spec: InstrumentSpec,
                   tz: str | None = None) -> MarketTape:
    """A history file through ``tickbridge.research.load`` (choice of reader by
    extension: .scid, .txt NinjaTrader export (needs tz), .csv)."""
    path = Path(path)
    if not path.exists():
        raise FeedError(f"{path}: no such file")
    try:
        from tickbridge import research  # type: ignore[attr-defined]
    except ImportError as exc:
        raise FeedError(
            f"{path}: reading history files needs tickbridge.research, which this build "
            "does not have yet; use the generator (--symbols) meanwhile"
        ) from exc
    try:
        table = research.load(path, tz=tz)
    except (ValueError, OSError) as exc:
        raise FeedError(str(exc)) from exc
    return tape_from_arrays([(spec, arrays_from_table(table, spec))])


def rebased(tape: MarketTape, first_time_ns: int) -> MarketTape:
    """The same tape shifted so its first tick is at ``first_time_ns`` (replaying old or
    generated data 'now', so an engine's staleness checks see fresh data)."""
    if not len(tape):
        return tape
    shift = np.int64(first_time_ns - int(tape.ticks.time_ns[0]))
    time_ns = tape.ticks.time_ns + shift
    ticks = TickArrays(**{**tape.ticks.__dict__, "time_ns": time_ns})
    trades, quotes = tape.trades.copy(), tape.quotes.copy()
    trades["time_ns"] = time_ns
    quotes["time_ns"] = time_ns
    return MarketTape(tape.specs, tape.instrument_id, ticks, tape.quote_changed, trades, quotes)


def truncated(tape: MarketTape, rows: int) -> MarketTape:
    """The first ``rows`` rows (``--ticks``)."""
    if rows >= len(tape):
        return tape
    ticks = TickArrays(**{k: v[:rows] for k, v in tape.ticks.__dict__.items()})
    return MarketTape(tape.specs, tape.instrument_id[:rows], ticks, tape.quote_changed[:rows],
                      tape.trades[:rows], tape.quotes[:rows])
