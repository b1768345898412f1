from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.acsil.peer import EnginePeer
from tests.acsil.toolchain import Harness, build_harness


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def harness_binary() -> Path:
    return build_harness("release")


@pytest.fixture
def peer() -> Iterator[EnginePeer]:
    engine = EnginePeer(heartbeat_interval=0.05).start()
    yield engine
    engine.stop()


@pytest.fixture
def make_harness(harness_binary: Path) -> Iterator[Callable[..., Harness]]:
    started: list[Harness] = []

    def make(binary: Path | None = None, env: dict[str, str] | None = None) -> Harness:
        harness = Harness(binary or harness_binary, env=env)
        started.append(harness)
        return harness

    yield make
    for harness in started:
        harness.close()
