"""Builds the ACSIL study and its Linux harness, and drives the harness from Python.

The study is built exactly the way acsil/README.md tells a Sierra Chart user to: the two
files TickBridgeStudy.cpp and TickBridgeShim.h copied into one folder (ACS_Source), compiled
as one C++17 translation unit against Sierra Chart's real ACSIL headers (sierrachart.h and
what it includes) and the system's zmq.h. The headers are Sierra Chart's, never copied into
the project: TICKBRIDGE_ACSIL_HEADERS names their folder (a Sierra Chart user's
C:\\SierraChart\\ACS_Source, or the copy CI provides). Without it the tests that need them
are skipped, saying how to run them; a missing compiler is a test failure, not a skip.

On Linux the headers' <windows.h> and <io.h> come from tests/acsil/winstandin (the
project's own few declarations). The headers are system includes there (their own warnings
are Sierra Chart's, not the project's) and -fpermissive lets GCC accept sierrachart.h's
`fp_ACSCustomChartBarFunction fp_ACSCustomChartBarFunction` (a member named like its type,
which MSVC and MinGW accept); the MinGW build checks the project's code without it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from tests.waiting import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "build" / "acsil"
ACSIL = ROOT / "acsil"

HEADERS_ENV = "TICKBRIDGE_ACSIL_HEADERS"
# Warnings GCC reports at the study's lines for code of Sierra Chart's headers inlined there
# (system-header suppression does not reach them): SCString::Copy's strncpy (SCString.h).
HEADER_CODE_WARNINGS_OFF = ["-Wno-stringop-truncation"]
WINSTANDIN = HERE / "winstandin"

WARNINGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror"]
# The study (and the shim inside it) is C++17, what Sierra Chart's build passes
# (/std:c++17), and held to the core library's stricter warning set as well.
STUDY_WARNINGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow",
                  "-Wconversion", "-Wno-sign-conversion"]
FLAVORS = {
    "release": ["-O2", "-g"],
    "tsan": ["-O1", "-g", "-fsanitize=thread"],
    "asan": ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=undefined"],
}
_build_lock = threading.Lock()


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise AssertionError(f"{tool} not found: run `make setup` (Debian packages) first")
    return path


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"command failed ({result.returncode}): {' '.join(command)}\n"
            f"{result.stdout}\n{result.stderr}")
    return result


def acsil_headers() -> Path:
    """The folder of Sierra Chart's ACSIL headers; skips the test when none is configured."""
    import pytest

    configured = os.environ.get(HEADERS_ENV, "")
    if not configured:
        pytest.skip(f"{HEADERS_ENV} is not set: point it at the folder holding Sierra Chart's "
                    f"sierrachart.h (ACS_Source; CI: ../shared/sierrachart-acsil-2784) and "
                    f"rerun, e.g. {HEADERS_ENV}=/path/to/ACS_Source pytest tests/acsil")
    folder = Path(configured)
    if not folder.is_absolute():
        folder = (ROOT / folder).resolve()
    if not (folder / "sierrachart.h").is_file():
        raise AssertionError(f"{HEADERS_ENV}={configured}: no sierrachart.h in {folder}")
    return folder


def header_flags() -> list[str]:
    """Compiler flags that put the real headers (and, on Linux, the Windows stand-in) in."""
    return ["-isystem", str(WINSTANDIN), "-isystem", str(acsil_headers()), "-fpermissive",
            *HEADER_CODE_WARNINGS_OFF]


def stage_acs_source() -> Path:
    """A folder laid out like Sierra Chart's ACS_Source after following acsil/README.md
    (the study's two files; Sierra Chart's own headers stay where they are)."""
    run([sys.executable, str(ACSIL / "amalgamate.py"), "--check"])
    folder = BUILD / "ACS_Source"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    for name in ("TickBridgeStudy.cpp", "TickBridgeShim.h"):
        shutil.copy2(ACSIL / name, folder / name)
    return folder


def build_harness(flavor: str = "release") -> Path:
    """The study + harness as one Linux program; cached per flavor within a test session."""
    with _build_lock:
        compiler = require("g++")
        headers = header_flags()
        folder = stage_acs_source()
        out = BUILD / flavor
        out.mkdir(parents=True, exist_ok=True)
        binary = out / "harness"
        study_object = out / "TickBridgeStudy.o"
        flags = ["-std=c++17", "-Wall", "-Wextra", "-Werror", *FLAVORS[flavor]]
        run([compiler, *STUDY_WARNINGS, *FLAVORS[flavor], *headers, "-fPIC", "-c",
             str(folder / "TickBridgeStudy.cpp"),
             "-o", str(study_object)])
        run([compiler, *flags, *headers, str(HERE / "harness.cpp"), str(study_object),
             "-lzmq", "-pthread", "-o", str(binary)])
        return binary


def build_with_cmake() -> Path:
    """The CMake route (TICKBRIDGE_BUILD_SHIM=ON): the study linked with the tickbridge_shim
    library built from cpp/shim, instead of the generated one-file header."""
    require("cmake")
    headers = acsil_headers()
    out = BUILD / "cmake"
    run(["cmake", "-S", str(ROOT), "-B", str(out), "-DTICKBRIDGE_BUILD_SHIM=ON",
         f"-DTICKBRIDGE_ACSIL_HEADERS={headers}",
         "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_COMPILE_WARNING_AS_ERROR=ON"])
    run(["cmake", "--build", str(out), "-j2", "--target", "tickbridge_acsil_harness"])
    return out / "tickbridge_acsil_harness"


def build_shim_unit(flavor: str = "release") -> Path:
    """tests/acsil/shim_unit.cpp linked with the library sources themselves (cpp/shim)."""
    compiler = require("g++")
    out = BUILD / flavor
    out.mkdir(parents=True, exist_ok=True)
    binary = out / "shim_unit"
    run([compiler, *STUDY_WARNINGS, *FLAVORS[flavor], f"-I{ROOT / 'cpp' / 'include'}",
         str(HERE / "shim_unit.cpp"), str(ROOT / "cpp" / "shim" / "shim.cpp"),
         str(ROOT / "cpp" / "src" / "protocol" / "codec.cpp"), "-lzmq", "-pthread",
         "-o", str(binary)])
    return binary


def build_codec_vectors() -> Path:
    compiler = require("g++")
    out = BUILD / "codec_vectors"
    BUILD.mkdir(parents=True, exist_ok=True)
    run([compiler, *WARNINGS, "-O1", f"-I{ROOT / 'cpp' / 'include'}",
         str(HERE / "codec_vectors.cpp"), str(ROOT / "cpp" / "src" / "protocol" / "codec.cpp"),
         "-o", str(out)])
    return out


class Harness:
    """One harness process: one Sierra Chart chart with the study on it."""

    def __init__(self, binary: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
        self.closed = False

    def __call__(self, line: str) -> list[str]:
        """Sends one command; returns the lines it printed before OK."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        out: list[str] = []
        while True:
            answer = self.process.stdout.readline()
            if not answer:
                raise AssertionError(f"harness died on {line!r}: {self.stderr()}")
            answer = answer.rstrip("\n")
            if answer == "OK":
                return out
            if answer.startswith("ERR"):
                raise AssertionError(f"harness: {answer} (on {line!r})")
            out.append(answer)

    def configure(self, engine: str, kill: str = "", secret: str = "s3cret",
                  heartbeat_ms: int = 100, silence_beats: int = 3,
                  cancel_on_disconnect: bool = True, kill_deadline_s: int = 30) -> None:
        self("defaults")
        self(f"input 0 str {engine}")
        self(f"input 1 str {kill}")
        self(f"input 2 str {secret}")
        self(f"input 3 yesno {int(cancel_on_disconnect)}")
        self(f"input 4 int {heartbeat_ms}")
        self(f"input 5 int {silence_beats}")
        self(f"input 15 int {kill_deadline_s}")

    def calls(self) -> list[str]:
        return [line.removeprefix("CALL ") for line in self("calls")]

    def log(self) -> list[str]:
        return [line.removeprefix("LOG ") for line in self("log")]

    def threads(self) -> int:
        (line,) = self("threads")
        return int(line.split()[1])

    def thread_names(self) -> list[str]:
        (line,) = self("threads")
        return line.split(maxsplit=2)[2].split(",")

    def threads_left(self, timeout: float = 2.0) -> list[str]:
        """Thread names once no socket thread (ours or ZeroMQ's) is listed, or at timeout.
        A joined thread stays in /proc/self/task for a moment after the join returns
        (longer on a loaded machine): the kernel reaps it just after it wakes the joiner."""
        def settled() -> bool:
            return not [n for n in self.thread_names()
                        if n == "tickbridge-shim" or n.startswith("ZMQbg")]

        with contextlib.suppress(WaitTimeout):  # the caller asserts on the names
            wait_until(settled, timeout, "the socket threads to leave")
        return self.thread_names()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr
        return self.process.stderr.read()

    def close(self) -> tuple[int, str]:
        """Ends the process (after `last` if the test did not send it); returns rc, stderr."""
        if self.closed:
            return self.process.returncode, ""
        self.closed = True
        try:
            _, err = self.process.communicate("quit\n", timeout=30)
        except (BrokenPipeError, ValueError):
            _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err
