import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "research_bars.py"


def test_research_example_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    run = subprocess.run([sys.executable, str(EXAMPLE), "-o", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "bars of 300s" in run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
