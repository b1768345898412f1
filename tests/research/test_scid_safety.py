"""Issue 16: a .scid file is never destroyed and never crashes the reading process.

The crash cases run in a child process: the old memory-mapped reader died of SIGBUS.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scid_bytes import SC_US, header, ticks

from tickbridge.research import read_scid, write_scid


def run_child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)


def test_writing_back_what_was_read_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    data = header() + ticks(100_000)
    path.write_bytes(data)
    run = run_child(f"""
        from tickbridge.research import read_scid, write_scid
        f = read_scid({str(path)!r})
        write_scid({str(path)!r}, f.records)
        print(len(f))
    """, tmp_path)
    assert run.returncode == 0, (run.returncode, run.stderr)  # old code: -7 (SIGBUS)
    assert path.read_bytes() == data  # old code: 0 bytes


def test_file_truncated_after_read_does_not_crash_or_read_zeros(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header() + ticks(100_000))
    run = run_child(f"""
        import os
        from tickbridge.research import read_scid
        f = read_scid({str(path)!r})
        os.truncate({str(path)!r}, 56)
        print(int(f.records["datetime_us"][-1]), float(f.records["close"][:].sum()))
    """, tmp_path)
    assert run.returncode == 0, (run.returncode, run.stderr)  # old code: SIGBUS
    last, _total = run.stdout.split()
    assert int(last) == SC_US + 99_999 * 1000


def test_small_file_truncated_after_read_keeps_its_values(tmp_path: Path) -> None:
    path = tmp_path / "small.scid"
    path.write_bytes(header() + ticks(10))  # 456 bytes
    f = read_scid(path)
    with path.open("r+b") as g:
        g.truncate(56)
    # old code: the mapped pages past the end read as zeros
    assert f.records["datetime_us"].tolist() == [SC_US + i * 1000 for i in range(10)]


def test_writer_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    path.write_bytes(header() + ticks(3))
    before = path.stat().st_ino
    records = read_scid(path).records.copy()  # a copy: the old reader's map would SIGBUS
    write_scid(path, records[:2])
    assert path.stat().st_ino != before  # a new file renamed into place, not rewritten
    assert len(read_scid(path)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ES.scid"]  # no temporary left


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "ES.scid"
    data = header() + ticks(3)
    path.write_bytes(data)
    with pytest.raises(ValueError, match="RECORD_DTYPE"):
        write_scid(path, np.zeros(3))
    assert path.read_bytes() == data
