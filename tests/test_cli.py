import subprocess
import sys


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "tickbridge", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "bench" in out and "demo" in out
