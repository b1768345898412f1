from __future__ import annotations

import pytest

from tests.fake_shim import ScriptedShim
from tickbridge.engine import Engine, EngineSettings, Strategy


class Recorder(Strategy):
    """Records every callback; tests call ctx methods through it."""

    name = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, object]] = []
        self.ctx = None

    def on_start(self, ctx) -> None:
        self.ctx = ctx

    def on_instrument(self, ctx, symbol) -> None:
        self.calls.append(("instrument", symbol))

    def on_bar(self, ctx, bar) -> None:
        self.calls.append(("bar", bar))

    def on_trigger(self, ctx, event) -> None:
        self.calls.append(("trigger", event))

    def on_order(self, ctx, update) -> None:
        self.calls.append(("order", update))

    def on_fill(self, ctx, fill) -> None:
        self.calls.append(("fill", fill))

    def of(self, kind: str) -> list:
        return [payload for k, payload in self.calls if k == kind]


@pytest.fixture
def audit_log() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def strategy() -> Recorder:
    return Recorder()


@pytest.fixture
def settings_overrides() -> dict:
    """EngineSettings fields a test sets: @pytest.mark.parametrize("settings_overrides",
    [{"command_timeout_ms": 200}])."""
    return {}


@pytest.fixture
def engine(strategy, audit_log, settings_overrides):
    settings = EngineSettings(**{"endpoint": "tcp://127.0.0.1:*", "heartbeat_ms": 100,
                                 "bar_interval_s": 60.0, "command_timeout_ms": 2000,
                                 **settings_overrides})
    engine = Engine(settings, [strategy], audit=lambda kind, **p: audit_log.append((kind, p)))
    engine.start()
    yield engine
    engine.close()


@pytest.fixture
def shim(engine):
    peer = ScriptedShim(engine.endpoint)
    yield peer
    peer.close()
