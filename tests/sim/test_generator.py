"""The bundled session generator and the tape built from it."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge.protocol import RecordType, decode_frame, encode_frame
from tickbridge.sim.feed import (
    FeedError,
    arrays_from_table,
    generated_tape,
    rebased,
    tape_from_arrays,
    truncated,
)
from tickbridge.sim.generator import ES, NQ, generate_session


@pytest.mark.parametrize("spec", [ES, NQ])
def test_session_is_deterministic_for_a_seed(spec):
    a = generate_session(spec, seed=7, ticks=5000)
    b = generate_session(spec, seed=7, ticks=5000)
    c = generate_session(spec, seed=8, ticks=5000)
    for name in a.__dataclass_fields__:
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.price, c.price)


@pytest.mark.parametrize("spec", [ES, NQ])
def test_session_is_sane(spec):
    t = generate_session(spec, seed=3, ticks=50_000)
    assert t.time_ns.dtype == np.int64 and t.size.dtype == np.uint32
    assert np.all(np.diff(t.time_ns) >= 0)
    for prices in (t.price, t.bid, t.ask):
        ticks = prices / spec.tick_size
        assert np.allclose(ticks, np.round(ticks), rtol=0, atol=1e-9)
    assert np.all(t.bid < t.ask)
    assert np.all((t.price == t.bid) | (t.price == t.ask))
    assert np.all(t.price[t.aggressor == 1] == t.ask[t.aggressor == 1])
    assert set(np.unique(t.aggressor)) <= {1, 2}
    assert t.size.min() >= 1 and t.bid_size.min() >= 1
    # Plausible: a few hours, a move of at most a few percent, more trades near the open.
    hours = (t.time_ns[-1] - t.time_ns[0]) / 3.6e12
    assert 0.2 < hours < 10
    assert abs(t.price[-1] / t.price[0] - 1) < 0.05
    first, last = np.diff(t.time_ns[:2000]).mean(), np.diff(t.time_ns[-2000:]).mean()
    assert first < last  # the open burst


def test_tape_merges_by_time_and_encodes():
    tape = generated_tape(["ES", "NQ"], seed=1, ticks_per_instrument=3000)
    assert len(tape) == 6000
    assert np.all(np.diff(tape.ticks.time_ns) >= 0)
    assert set(np.unique(tape.instrument_id)) == {1, 2}
    records = tape.records(100, 1100)
    count = sum(len(r) for r in records)
    assert count == tape.record_count(100, 1100)
    frame = decode_frame(encode_frame(records, session_id=1, sequence=1, send_time_ns=0))
    trades = frame.of(RecordType.TRADE)
    assert len(trades) == 1000
    assert np.array_equal(trades["price"], tape.ticks.price[100:1100])
    # Every trade row's quote is either sent right before it or unchanged from before.
    kinds = [t for t, _ in frame]
    assert kinds.count(RecordType.QUOTE) == int(tape.quote_changed[100:1100].sum())


def test_rebase_and_truncate():
    tape = generated_tape(["ES"], seed=1, ticks_per_instrument=100)
    moved = rebased(tape, 10**18)
    assert moved.ticks.time_ns[0] == 10**18 and moved.trades["time_ns"][0] == 10**18
    assert np.array_equal(np.diff(moved.ticks.time_ns), np.diff(tape.ticks.time_ns))
    assert len(truncated(tape, 10)) == 10


def test_research_table_plugs_in_with_inferred_quotes():
    table = {"ts": np.array([1, 2, 3], np.int64), "price": np.array([6000.0, 6000.25, 6000.0]),
             "volume": np.array([1.0, 2.0, 3.0]), "side": np.array([2, 1, 0], np.uint8)}
    arrays = arrays_from_table(table, ES)
    assert list(arrays.bid) == [6000.0, 6000.0, 6000.0]
    assert list(arrays.ask) == [6000.25, 6000.25, 6000.25]
    tape = tape_from_arrays([(ES, arrays)])
    assert len(tape) == 3 and list(tape.quote_changed) == [True, False, False]
    with pytest.raises(FeedError):
        arrays_from_table({"ts": table["ts"]}, ES)


def test_history_files_come_through_the_research_reader(tmp_path):
    """A real .scid file, written in Sierra Chart's layout, replayed by the simulator."""
    from tickbridge.research.scid import tick_records, write_scid
    from tickbridge.sim.feed import tape_from_file

    path = tmp_path / "ESZ6.scid"
    ts = np.array([1_795_000_000_000_000_000, 1_795_000_000_250_000_000], np.int64)
    write_scid(path, tick_records(ts, np.array([6000.0, 6000.25]), np.array([1, 4]),
                                  np.array([2, 1]), bid=np.array([6000.0, 6000.0]),
                                  ask=np.array([6000.25, 6000.25])))
    tape = tape_from_file(path, ES)
    assert list(tape.ticks.size) == [1, 4] and list(tape.ticks.aggressor) == [2, 1]
    assert list(tape.ticks.price) == [6000.0, 6000.25]
    assert list(tape.ticks.time_ns) == list(ts)
    assert tape.specs == [ES]
