"""The C# codec against the golden vectors and the Python decoder's error codes."""

from __future__ import annotations

import json
import struct
import subprocess

import pytest

from tickbridge.protocol import ProtocolError, decode_frame

from .conftest import VECTORS
from .gen_records import OUT, render


def _manifest() -> dict[str, dict]:
    return {v["file"]: v for v in json.loads((VECTORS / "manifest.json").read_text())}


def _run(host_exe, stdin: str = "") -> list[dict]:
    result = subprocess.run(["mono", str(host_exe), "vectors", str(VECTORS)], input=stdin,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_generated_records_are_up_to_date():
    assert OUT.read_text() == render(), "run tests/ninjascript/gen_records.py"


def test_csharp_decodes_and_reencodes_every_vector(host_exe):
    manifest = _manifest()
    results = {r["file"]: r for r in _run(host_exe) if r["event"] == "vector"}
    assert set(results) == set(manifest)
    for name, expected in manifest.items():
        got = results[name]
        assert "error" not in got, got
        assert got["reencoded_equal"], f"{name}: C# re-encoding differs from the vector bytes"
        for key in ("session_id", "sequence", "send_time_ns"):
            assert got[key] == expected[key], (name, key)
        assert len(got["records"]) == len(expected["records"])
        for record, want in zip(got["records"], expected["records"], strict=True):
            for key, value in want.items():
                assert record[key] == value, (name, key, record[key], value)


def _header(count: int, version: int = 1, header_size: int = 40, magic: int = 0x47524254) -> bytes:
    return struct.pack("<IHHQQqII", magic, version, header_size, 1, 1, 0, count, 0)


def _malformed() -> list[bytes]:
    trade = (VECTORS / "trade.bin").read_bytes()
    record = trade[40:]
    return [
        b"TBRG",                                              # truncated
        _header(0, magic=0x12345678),                         # bad magic
        _header(0, version=2),                                # unsupported version
        _header(0, header_size=48),                           # bad header size
        _header(1) + record[:6],                              # record header past end
        _header(1) + struct.pack("<HHI", 0x0103, 64, 0) + record[8:],  # record past end
        _header(1) + struct.pack("<HHI", 0x0999, 32, 0) + record[8:],  # unknown type
        _header(1) + struct.pack("<HHI", 0x0103, 24, 0) + record[8:],  # bad length
        _header(2) + record,                                  # count mismatch
        _header(1) + record + b"\0" * 8,                      # trailing bytes
        b"\0" * (4 * 1024 * 1024 + 1),                        # too large
    ]


def test_csharp_errors_match_the_python_decoder(host_exe):
    frames = _malformed()
    stdin = "".join(f.hex() + "\n" for f in frames)
    results = [r for r in _run(host_exe, stdin) if r["event"] == "decode"]
    assert len(results) == len(frames)
    for frame, got in zip(frames, results, strict=True):
        with pytest.raises(ProtocolError) as python:
            decode_frame(frame)
        assert not got["ok"]
        assert got["error_code"] == int(python.value.code)
        assert got["error_offset"] == python.value.offset
        assert got["error"] == str(python.value)
