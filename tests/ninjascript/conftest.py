"""Builds the NinjaTrader shim with Mono's mcs against the NinjaTrader stub and runs the
test host under mono. A missing mcs or mono is a failure, not a skip: the shim is part
of the product."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VECTORS = ROOT / "tests" / "vectors"

DLLMAP = """<configuration>
  <dllmap dll="libzmq" target="libzmq.so.5" />
</configuration>
"""


def shim_sources() -> list[Path]:
    return sorted((ROOT / "ninjascript").rglob("*.cs"))


def build_host(out_dir: Path) -> Path:
    """Compiles shim + stub + host with -warnaserror; returns host.exe (with its dllmap)."""
    mcs = shutil.which("mcs")
    if mcs is None or shutil.which("mono") is None:
        pytest.fail("mcs/mono not found: install mono-devel (make setup does)")
    exe = out_dir / "host.exe"
    sources = [
        *shim_sources(),
        *sorted((HERE / "stub").glob("*.cs")),
        *sorted((HERE / "host").glob("*.cs")),
    ]
    command = [
        mcs, "-langversion:5", "-warnaserror", "-nologo", "-optimize+", "-target:exe",
        f"-out:{exe}",
        "-r:System.ComponentModel.DataAnnotations.dll", "-r:System.Xml.dll", "-r:System.Core.dll",
        *map(str, sources),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"mcs failed:\n{result.stdout}\n{result.stderr}")
    (out_dir / "host.exe.config").write_text(DLLMAP)
    return exe


@pytest.fixture(scope="session")
def host_exe(tmp_path_factory) -> Path:
    return build_host(tmp_path_factory.mktemp("ninjascript"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    """The mono test host: one line command in, JSON lines out."""

    def __init__(self, exe: Path, log: Path) -> None:
        self.log = log
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            ["mono", "--debug", str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, bufsize=1,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def command(self, line: str, event: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        want = event or line.split()[0]
        while True:
            try:
                text = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"host gave no {want!r} for {line!r}; log:\n{self.logs()}"
                ) from None
            result = json.loads(text)
            if result["event"] == "error":
                raise AssertionError(f"host failed on {line!r}: {result['message']}")
            if result["event"] == want:
                return result

    def calls(self) -> list[dict[str, Any]]:
        return self.command("calls")["calls"]

    def logs(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(5)
        self._stderr.close()


@pytest.fixture
def make_host(host_exe, tmp_path):
    hosts: list[Host] = []

    def make() -> Host:
        host = Host(host_exe, tmp_path / f"host{len(hosts)}.log")
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


@pytest.fixture
def engine():
    from .peer import EnginePeer

    peers: list[EnginePeer] = []

    def make(**kwargs) -> EnginePeer:
        peer = EnginePeer(**kwargs)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()
