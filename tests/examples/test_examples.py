"""The examples run as a user would run them and do what they say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_vwap_fade_trades_against_the_simulator() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "vwap_fade_strategy.py"), "--ticks",
                             "400000"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    fills = re.search(r"(\d+) fills, ([\d,]+) ticks", result.stdout)
    assert fills, result.stdout
    assert int(fills.group(1)) >= 1
    assert int(fills.group(2).replace(",", "")) >= 400_000
    assert re.search(r"ESZ6: position [+-]\d+, realized", result.stdout)
