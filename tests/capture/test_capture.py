"""Capture round trip: frames recorded are read back byte for byte, in order."""

from __future__ import annotations

import threading

import pytest

from tickbridge.capture import CaptureError, CaptureReader, Direction, FrameRecorder, read_capture
from tickbridge.protocol import RecordType, encode_frame, new_records


def _frame(sequence: int) -> bytes:
    trades = new_records(RecordType.TRADE, 3)
    trades["price"] = [6000.0, 6000.25, 6000.5]
    return encode_frame([trades], session_id=9, sequence=sequence, send_time_ns=sequence)


def test_round_trip(tmp_path) -> None:
    path = tmp_path / "session.tbcap"
    frames = [_frame(i) for i in range(1, 6)]
    with FrameRecorder(path) as rec:
        for i, f in enumerate(frames):
            rec.record(Direction.IN if i % 2 == 0 else Direction.OUT, f, peer=b"shim-A",
                       wall_ns=1000 + i, mono_ns=i)
    entries = list(CaptureReader(path))
    assert [e.frame for e in entries] == frames
    assert [e.direction for e in entries] == [Direction.IN, Direction.OUT] * 2 + [Direction.IN]
    assert entries[3].peer == b"shim-A" and entries[3].wall_ns == 1003
    assert entries[4].decode().header.sequence == 5
    assert [e.index for e in read_capture(path, Direction.OUT)] == [1, 3]


def test_append_to_existing_and_refuse_foreign(tmp_path) -> None:
    path = tmp_path / "c.tbcap"
    with FrameRecorder(path) as rec:
        rec.record(Direction.IN, _frame(1))
    with FrameRecorder(path) as rec:
        rec.record(Direction.IN, _frame(2))
    assert len(list(CaptureReader(path))) == 2
    other = tmp_path / "other.bin"
    other.write_bytes(b"not a capture at all")
    with pytest.raises(CaptureError, match="not a"):
        FrameRecorder(other)
    with pytest.raises(CaptureError, match="not a tickbridge capture"):
        list(CaptureReader(other))


def test_torn_tail_stops_cleanly_and_damage_is_named(tmp_path) -> None:
    path = tmp_path / "c.tbcap"
    with FrameRecorder(path) as rec:
        for i in range(1, 4):
            rec.record(Direction.IN, _frame(i))
    data = path.read_bytes()
    path.write_bytes(data[:-10])  # the process died mid-write
    reader = CaptureReader(path)
    assert len(list(reader)) == 2 and reader.truncated_tail
    damaged = bytearray(data)
    damaged[16 + 32 + 50] ^= 0xFF  # a byte inside the first entry's frame
    path.write_bytes(bytes(damaged))
    with pytest.raises(CaptureError, match="entry 0 at byte 16"):
        list(CaptureReader(path))


def test_threads_record_whole_entries(tmp_path) -> None:
    path = tmp_path / "c.tbcap"
    with FrameRecorder(path, buffer_size=256) as rec:
        def work(direction: Direction) -> None:
            for i in range(1, 201):
                rec.record(direction, _frame(i))
        threads = [threading.Thread(target=work, args=(d,)) for d in Direction]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    entries = list(CaptureReader(path))
    assert len(entries) == 400
    for direction in Direction:
        seqs = [e.decode().header.sequence for e in entries if e.direction == direction]
        assert seqs == list(range(1, 201))
