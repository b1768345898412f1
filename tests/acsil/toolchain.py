"""Builds the ACSIL study and its Linux harness, and drives the harness from Python.

The study is built exactly the way acsil/README.md tells a Sierra Chart user to: the two
files TickBridgeStudy.cpp and TickBridgeShim.h copied into one folder (ACS_Source) next to
sierrachart.h (here the stub), compiled as one translation unit, nothing else on the
include path but the system's zmq.h. A missing compiler is a test failure, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "build" / "acsil"
ACSIL = ROOT / "acsil"

WARNINGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror"]
# The study (and the shim inside it) is held to the core library's stricter set as well.
STUDY_WARNINGS = [*WARNINGS, "-Wpedantic", "-Wshadow", "-Wconversion", "-Wno-sign-conversion"]
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


def stage_acs_source() -> Path:
    """A folder laid out like Sierra Chart's ACS_Source after following acsil/README.md."""
    run([sys.executable, str(ACSIL / "amalgamate.py"), "--check"])
    folder = BUILD / "ACS_Source"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("TickBridgeStudy.cpp", "TickBridgeShim.h"):
        shutil.copy2(ACSIL / name, folder / name)
    shutil.copy2(HERE / "stub" / "sierrachart.h", folder / "sierrachart.h")
    return folder


def build_harness(flavor: str = "release") -> Path:
    """The study + harness as one Linux program; cached per flavor within a test session."""
    with _build_lock:
        compiler = require("g++")
        folder = stage_acs_source()
        out = BUILD / flavor
        out.mkdir(parents=True, exist_ok=True)
        binary = out / "harness"
        study_object = out / "TickBridgeStudy.o"
        flags = WARNINGS + FLAVORS[flavor]
        run([compiler, *STUDY_WARNINGS, *FLAVORS[flavor], "-fPIC", "-c",
             str(folder / "TickBridgeStudy.cpp"),
             "-o", str(study_object)])
        run([compiler, *flags, f"-I{folder}", str(HERE / "harness.cpp"), str(study_object),
             "-lzmq", "-pthread", "-o", str(binary)])
        return binary


def build_with_cmake() -> Path:
    """The CMake route (TICKBRIDGE_BUILD_SHIM=ON): the study linked with the tickbridge_shim
    library built from cpp/shim, instead of the generated one-file header."""
    require("cmake")
    out = BUILD / "cmake"
    run(["cmake", "-S", str(ROOT), "-B", str(out), "-DTICKBRIDGE_BUILD_SHIM=ON",
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
                  cancel_on_disconnect: bool = True) -> None:
        self("defaults")
        self(f"input 0 str {engine}")
        self(f"input 1 str {kill}")
        self(f"input 2 str {secret}")
        self(f"input 3 yesno {int(cancel_on_disconnect)}")
        self(f"input 4 int {heartbeat_ms}")
        self(f"input 5 int {silence_beats}")

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
        deadline = time.monotonic() + timeout
        while True:
            names = self.thread_names()
            busy = [n for n in names if n == "tickbridge-shim" or n.startswith("ZMQbg")]
            if not busy or time.monotonic() >= deadline:
                return names
            time.sleep(0.01)

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
