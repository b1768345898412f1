"""The control commands the webhook added (position, cancel) and an engine that does not
answer: the alert is still answered at once, and recorded as failed, nothing placed."""

from __future__ import annotations

import socket
import time

from tickbridge.engine.control import ControlError
from tickbridge.webhook.engine_link import EngineLink

from .conftest import alert, running_hook, webhook_config


def test_position_and_cancel_commands(bed):
    client = bed.client
    assert client.request("position", symbol="ESZ6")["ok"]
    unknown = client.request("position", symbol="ESH7")
    assert not unknown["ok"] and "ESZ6" in unknown["error"]
    assert client.request("cancel", source="webhook:nobody") == {"ok": True, "canceled": []}
    assert not client.request("cancel", source="webhook:nobody", symbol="ESH7")["ok"]


def _dead_endpoint() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def test_engine_link_times_out_and_recovers(bed):
    link = EngineLink(_dead_endpoint(), timeout_ms=100)
    start = time.monotonic()
    try:
        link.request("status")
    except ControlError as e:
        assert "no answer from the engine" in str(e)
    assert time.monotonic() - start < 1
    link.close()
    link = EngineLink(bed.control_endpoint, timeout_ms=2000, token=bed.token)
    assert link.request("status")["ok"] and link.request("symbols")["ok"]
    link.close()


def test_engine_down_alert_answered_fast_and_recorded_failed(tmp_path):
    config = webhook_config(tmp_path, engine_timeout_ms=300)
    for hook in running_hook(config, _dead_endpoint()):
        body = alert()
        r = hook.post(body)
        assert r.status_code == 202
        assert r.elapsed.total_seconds() < 1.0
        record = hook.outcome(body["alert_id"])
        assert record["state"] == "failed"
        assert "nothing placed" in record["outcome"]["error"]
