import subprocess
import sys
from pathlib import Path

import numpy as np

from tickbridge import research

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "research_bars.py"
NS = 1_000_000_000


def run_example(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300)


def test_research_example_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    run = run_example(tmp_path, "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "bars of 300s" in run.stdout
    assert "last ATR(14) " in run.stdout and "nan" not in run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_bars_for_atr_says_so_instead_of_nan(tmp_path: Path) -> None:
    path = tmp_path / "short.scid"
    ts = (1_705_329_000 * NS + np.arange(100, dtype=np.int64) * 10 * NS)
    price = np.full(100, 4800.0)
    research.write_scid(path, research.tick_records(ts, price, np.ones(100),
                                                    np.ones(100, np.uint8)))
    run = run_example(tmp_path, str(path), "-o", str(tmp_path / "p.png"))
    assert run.returncode == 0, run.stderr
    assert "ATR(14) needs 14 bars, have 4" in run.stdout  # old code: "last ATR nan"


def test_bar_file_exits_2_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "bars.scid"
    one = np.ones(1)
    research.write_scid(path, research.bar_records(np.zeros(1, np.int64), one, one, one, one,
                                                   one, one, one, one))
    run = run_example(tmp_path, str(path))
    assert run.returncode == 2  # old code: a traceback, exit 1
    assert "holds bars, not ticks" in run.stderr and "Traceback" not in run.stderr


def test_missing_time_zone_exits_2_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "ES 03-24.Last.txt"
    path.write_text("20240115 093000 0000000;4800.25;1\n")
    run = run_example(tmp_path, str(path))
    assert run.returncode == 2
    assert "pass tz=" in run.stderr and "Traceback" not in run.stderr
