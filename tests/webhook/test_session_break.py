"""An alert during the CME maintenance break (16:00-17:00 Chicago) is answered (the
webhook does not judge sessions) and then refused by the engine's session check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tickbridge.sessions import is_open
from tickbridge_dev.webhook.testbed import EngineWithSimulator

from .conftest import Hook, alert, running_hook, webhook_config

# Wednesday 2026-11-18 16:30 in Chicago (CST, UTC-6): inside the daily maintenance break.
BREAK = datetime(2026, 11, 18, 22, 30, tzinfo=timezone.utc)
BREAK_NS = int(BREAK.timestamp()) * 1_000_000_000


@pytest.fixture(scope="module")
def break_bed() -> Iterator[EngineWithSimulator]:
    # The engine's wall clock reads 16:30 Chicago; everything else is real.
    with EngineWithSimulator(clock="wall", wall_clock=lambda: BREAK_NS) as running:
        yield running


@pytest.fixture
def break_hook(tmp_path: Path, break_bed: EngineWithSimulator) -> Iterator[Hook]:
    yield from running_hook(webhook_config(tmp_path), break_bed.control_endpoint,
                            break_bed.token)


def test_the_instant_is_the_maintenance_break():
    assert not is_open("ES", BREAK)
    assert is_open("ES", BREAK.replace(hour=21, minute=59))  # 15:59 Chicago
    assert is_open("ES", BREAK.replace(hour=23, minute=1))   # 17:01 Chicago


def test_alert_in_the_maintenance_break_is_refused_by_the_session_check(break_hook, break_bed):
    body = alert(action="buy", quantity=1)
    r = break_hook.post(body)
    assert r.status_code == 202  # answered; the engine decides
    record = break_hook.outcome(body["alert_id"])
    assert record["state"] == "refused"
    assert "session is closed" in record["outcome"]["error"]
    refusals = break_bed.audited("risk_refusal", strategy="webhook:trend")
    assert [r["reason"] for r in refusals] == ["SESSION_CLOSED"]
    assert not break_bed.audited("order_submit")
    assert break_bed.position("ESZ6") == 0
