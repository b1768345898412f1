"""Issue 16: following a live .scid file -- appends, a flush that stops mid-record,
truncation and Sierra Chart's rewrites."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from scid_bytes import SC_US, header, record, ticks

from tickbridge import research
from tickbridge.research import ScidFormatError

RECORD = 40


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


def times(chunk) -> list[int]:
    return [int(t) - SC_US for t in chunk["datetime_us"]]


def test_appends_pause_mid_record_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    follower = research.ScidFollower(path)
    assert len(follower.poll()) == 0  # no file yet
    path.write_bytes(header()[:30])
    assert len(follower.poll()) == 0  # header still being written
    path.write_bytes(header() + ticks(2))
    assert times(follower.poll()) == [0, 1000]
    assert len(follower.poll()) == 0

    more = ticks(2, SC_US + 2000)
    append(path, more[: RECORD + 17])  # a flush that stops 17 bytes into a record
    assert times(follower.poll()) == [2000]
    assert len(follower.poll()) == 0  # the cut record is not returned
    append(path, more[RECORD + 17:])
    assert times(follower.poll()) == [3000]

    # Sierra Chart rewrites the file: truncated, then the same history plus new records.
    with path.open("r+b") as f:
        f.truncate(56 + RECORD)
    assert len(follower.poll()) == 0
    path.write_bytes(header() + ticks(6))
    assert times(follower.poll()) == [4000, 5000]  # nothing returned twice
    assert follower.rewrites == 1


def test_replaced_file_is_followed_from_the_last_time_returned(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header() + ticks(3))
    follower = research.ScidFollower(path)
    assert len(follower.poll()) == 3
    research.write_scid(path, research.read_scid(tmp_path / "ES.scid").records[:1])
    assert len(follower.poll()) == 0  # a shorter replacement: nothing new
    replacement = tmp_path / "new.scid"
    replacement.write_bytes(header() + ticks(5))
    replacement.replace(path)  # a different file under the same name
    assert times(follower.poll()) == [3000, 4000]


def test_tail_skips_existing_records(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header() + ticks(1000))
    follower = research.ScidFollower(path, from_start=False)
    assert len(follower.poll()) == 0
    append(path, ticks(1, SC_US + 1000 * 1000))
    assert times(follower.poll()) == [1000 * 1000]


def test_corrupt_appended_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header() + ticks(2))
    follower = research.ScidFollower(path)
    follower.poll()
    append(path, record(SC_US + 5000, c=float("nan")))
    with pytest.raises(ScidFormatError, match=r"ES\.scid record 2 \(offset 136\): Close is nan"):
        follower.poll()


def test_follow_generator_with_a_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header())
    data = ticks(10)
    stop = threading.Event()

    def writer() -> None:
        for i in range(0, len(data), 25):  # 25-byte writes: most end mid-record
            append(path, data[i:i + 25])
            time.sleep(0.001)

    thread = threading.Thread(target=writer)
    thread.start()
    got: list[float] = []
    deadline = time.monotonic() + 30
    for table in research.follow(path, poll_interval=0.005, stop=stop):
        got.extend(table["price"].tolist())
        if len(got) >= 10 or time.monotonic() > deadline:
            stop.set()
    thread.join()
    assert got == [4800.0 + 0.25 * (i % 8) for i in range(10)]


def test_cli_follow_prints_appended_records(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header() + ticks(2))
    err = (tmp_path / "stderr").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tickbridge", "research", "follow", str(path), "--poll", "0.02",
         "--exit-after", "4"], stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        lines = [proc.stdout.readline()]  # the CLI is up and has read the file
        assert lines[0] == "2024-01-02T14:30:00.000000000 4800.0 1 buy 4800.25 4800.5\n"
        append(path, ticks(2, SC_US + 2000)[:50])
        append(path, ticks(2, SC_US + 2000)[50:])
        lines += proc.stdout.readlines()  # until the CLI exits after 4 records
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        err.close()
    assert proc.returncode == 0, (tmp_path / "stderr").read_text()
    assert [line.split()[0][-9:] for line in lines] == [
        "000000000", "001000000", "002000000", "003000000"]
