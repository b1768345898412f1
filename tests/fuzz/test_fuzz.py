"""Coverage-guided fuzzing of the frame decoders, bounded in time, seeded with the golden
vectors. Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev) and atheris: when
they are missing the test fails, it does not skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("TICKBRIDGE_FUZZ_SECONDS", "15"))


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for vector in (ROOT / "tests" / "vectors").glob("*.bin"):
        shutil.copy(vector, corpus)
    return corpus


def test_libfuzzer_cpp_decoder(tmp_path):
    clang = shutil.which("clang++")
    assert clang, "clang++ is required for the libFuzzer target (apt-get install clang)"
    binary = tmp_path / "decode_fuzz"
    subprocess.run(
        [clang, "-std=c++20", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
         "-fno-sanitize-recover=undefined", f"-I{ROOT / 'cpp' / 'include'}",
         str(ROOT / "cpp" / "fuzz" / "decode_fuzz.cpp"),
         str(ROOT / "cpp" / "src" / "protocol" / "codec.cpp"), "-o", str(binary)],
        check=True,
    )
    run = subprocess.run(
        [str(binary), f"-max_total_time={SECONDS}", "-print_final_stats=1",
         f"-artifact_prefix={tmp_path}/", str(_corpus(tmp_path))],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "stat::number_of_executed_units" in run.stderr


def test_atheris_python_and_cpp_decoders(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fuzz" / "atheris_decode.py"),
         f"-max_total_time={SECONDS}", "-print_final_stats=1",
         f"-artifact_prefix={tmp_path}/", str(_corpus(tmp_path))],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "stat::number_of_executed_units" in run.stderr
