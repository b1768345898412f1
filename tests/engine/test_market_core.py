"""The engine's compiled tick path (MarketCore.ingest) against the research kernels: the
same trades give the same bars, EMAs, VWAP and delta, to the last bit, whether a trade
goes through the run loop (trades of one instrument in a row, on a local copy of its
state) or one at a time (an instrument with a trigger set)."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge import signals as sg
from tickbridge._core.engine import MarketCore
from tickbridge.protocol import RecordType, encode_frame, make_record

DAY_NS = 86_400 * 10**9
SHIFT_NS = 2 * 3_600 * 10**9  # the trading day changes at 22:00 UTC
# 21:57 UTC: the stream crosses a trading-day change, which restarts VWAP, delta and bars.
START_NS = 20_440 * DAY_NS + 22 * 3_600 * 10**9 - 3 * 60 * 10**9
KNOWN = (1, 2)  # instrument ids defined in the session; 3 is not
BAR_FIELDS = ("ts", "open", "high", "low", "close", "volume", "trade_count", "bid_volume",
              "ask_volume")


def stream(seed: int) -> tuple[list[np.ndarray], dict[int, list[tuple[int, float, int, int]]],
                                 dict[str, int]]:
    """Records in runs (trades of one instrument, quotes, unknown ids, a NaN price, a trade
    older than its instrument's last), the trades each instrument must apply, and the
    counts the core must report."""
    rng = np.random.default_rng(seed)
    clock = {1: START_NS, 2: START_NS}
    price = {1: 6000.0, 2: 21000.0}
    applied: dict[int, list[tuple[int, float, int, int]]] = {1: [], 2: []}
    counts = {"trades": 0, "quotes": 0, "unknown": 0, "out_of_order": 0, "bad": 0}
    records: list[np.ndarray] = []
    while sum(len(a) for a in applied.values()) < 6000:
        kind = rng.choice(["run", "run", "run", "quote", "unknown", "nan", "late"])
        iid = int(rng.choice(KNOWN))
        if kind == "quote":
            counts["quotes"] += 1
            records.append(make_record(RecordType.QUOTE, instrument_id=iid, time_ns=clock[iid],
                                       bid_price=price[iid] - 0.25, ask_price=price[iid],
                                       bid_size=5, ask_size=7))
            continue
        if kind in ("unknown", "nan", "late"):
            counts["trades"] += 1
            if kind == "unknown":
                counts["unknown"] += 1
                iid, t, p = 3, clock[1], 100.0
            elif kind == "nan":
                counts["bad"] += 1
                t, p = clock[iid], float("nan")
            else:
                if not applied[iid]:
                    counts["trades"] -= 1
                    continue
                counts["out_of_order"] += 1
                t, p = clock[iid] - 1, price[iid]
            records.append(make_record(RecordType.TRADE, instrument_id=iid, time_ns=t, price=p,
                                       size=1, aggressor=1))
            continue
        for _ in range(int(rng.integers(1, 80))):
            clock[iid] += int(rng.integers(0, 250_000_000))  # 0 to 250 ms: equal times too
            price[iid] += 0.25 * int(rng.integers(-2, 3))
            size, aggressor = int(rng.integers(0, 20)), int(rng.integers(0, 4))  # 3: unknown
            records.append(make_record(RecordType.TRADE, instrument_id=iid, time_ns=clock[iid],
                                       price=price[iid], size=size, aggressor=aggressor))
            applied[iid].append((clock[iid], price[iid], size, aggressor if aggressor <= 2 else 0))
            counts["trades"] += 1
    return records, applied, counts


def frames_of(records: list[np.ndarray], seed: int) -> list[bytes]:
    """Frames of 1 to 300 records: runs cross frame boundaries."""
    rng = np.random.default_rng(seed + 1)
    frames, i, sequence = [], 0, 1
    while i < len(records):
        n = int(rng.integers(1, 301))
        frames.append(encode_frame(records[i:i + n], session_id=9, sequence=sequence,
                                   send_time_ns=0))
        i, sequence = i + n, sequence + 1
    return frames


def run_core(frames: list[bytes], trigger: bool) -> tuple[MarketCore, list[tuple], list[int]]:
    core = MarketCore()
    session = core.add_session()
    for iid in KNOWN:
        slot = core.define_instrument(session, iid, f"SYM{iid}")
        if trigger:  # never reached: only makes every trade of it take the one-by-one path
            core.add_trigger(slot, 1e9, True)
    events: list[tuple] = []
    totals = [0] * 6
    for frame in frames:
        result = core.ingest(session, frame)
        assert not result.others and not result.fired
        events += [_event_fields(e) for e in result.events]
        counts = (result.trades, result.quotes, result.depth, result.unknown_instrument,
                  result.out_of_order, result.bad_values)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    return core, events, totals


_EVENT_FIELDS = ("kind", "slot", "symbol", "trigger_id", "ts", "open", "high", "low", "close",
                 "volume", "trade_count", "bid_volume", "ask_volume", "ema_fast", "ema_slow",
                 "vwap", "delta")


def _event_fields(event: object) -> tuple:
    """The named SignalEvent as a tuple, in the order the comparisons below index it."""
    return tuple(getattr(event, f) for f in _EVENT_FIELDS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_signals_equal_the_research_kernels_exactly(seed: int) -> None:
    records, applied, counts = stream(seed)
    core, events, totals = run_core(frames_of(records, seed), trigger=False)
    assert totals == [counts["trades"], counts["quotes"], 0, counts["unknown"],
                      counts["out_of_order"], counts["bad"]]
    for iid in KNOWN:
        ts, price, size, side = (np.array(c) for c in zip(*applied[iid], strict=True))
        volume = size.astype(float)
        day = (ts + SHIFT_NS) // DAY_NS
        assert len(np.unique(day)) == 2, "the stream must cross a trading-day change"
        fast, slow = sg.ema(price, period=9), sg.ema(price, period=21)
        vwap = sg.vwap(price, volume, day)["vwap"]
        delta = sg.cumulative_delta(volume, side.astype(np.uint8), day)
        bars = sg.build_bars("time", 60 * 10**9, ts, price, volume, side.astype(np.uint8), day)

        state = core.state(iid - 1)
        assert state["trades"] == len(ts) and state["last_price"] == price[-1]
        assert state["volume"] == volume.sum()
        assert (state["ema_fast"], state["ema_slow"], state["vwap"], state["delta"]) == (
            fast[-1], slow[-1], vwap[-1], delta[-1])

        closed = [e for e in events if e[0] == 1 and e[2] == f"SYM{iid}"]
        assert len(closed) == len(bars) - 1 >= 5  # the last bar is still open
        ends = np.cumsum(bars["trade_count"]) - 1  # each bar's last trade
        for event, bar, last in zip(closed, bars, ends, strict=False):
            assert event[4:13] == tuple(bar[f].item() for f in BAR_FIELDS)
            np.testing.assert_equal(event[13:17], (fast[last], slow[last], vwap[last],
                                                   delta[last]))


@pytest.mark.parametrize("seed", [4, 5])
def test_trades_in_runs_and_one_at_a_time_give_the_same_state(seed: int) -> None:
    records, _, _ = stream(seed)
    frames = frames_of(records, seed)
    runs, run_events, run_totals = run_core(frames, trigger=False)
    single, single_events, single_totals = run_core(frames, trigger=True)
    assert run_totals == single_totals
    np.testing.assert_equal(run_events, single_events)  # NaN equals NaN here
    for slot in range(len(KNOWN)):
        np.testing.assert_equal(runs.state(slot), single.state(slot))


def test_add_copy_names_the_field_at_fault() -> None:
    from tickbridge._core.engine import MarketCore

    core = MarketCore()
    session = core.add_session()
    slot = core.define_instrument(session, 1, "ESZ6")
    args = dict(leader_session=session, leader_slot=slot, follower_slot=slot, session=session,
                instrument_id=1, account="F1", symbol="ESZ6", targets=[-1, 0, 1],
                limit_offset=float("nan"), tick_size=0.25)
    assert core.add_copy(**args) == 1
    for field, value, words in [("session", 7, "session 7 is unknown"),
                                ("follower_slot", 9, "follower_slot 9 is unknown"),
                                ("targets", [0, 1], "odd count"),
                                ("limit_offset", 1.0, "tick size")]:
        bad = {**args, field: value, **({"tick_size": 0.0} if field == "limit_offset" else {})}
        with pytest.raises(ValueError, match=words):
            core.add_copy(**bad)
    assert core.copy_count == 1
