"""`tickbridge webhook` sends a control credential to the engine: the `[[control.clients]]`
entry named ``webhook`` when the config has one, else the engine's owner token file. The
engine, the simulator and the webhook are separate processes on real sockets; the
engine's audit says who placed the alert's order."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack
from tests.waiting import wait_until

SECRET = "trend-secret-0123456789abcdef"
WEBHOOK = """
[webhook]
port = {port}
store = "{store}"

[webhook.strategies.trend]
secret = "{secret}"
"""
CLIENT = """
[[control.clients]]
name = "webhook"
role = "trade"
token_file = "{token_file}"
"""


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    """The running stack, and its config's text before the webhook client was added."""
    s = Stack(tmp_path)
    token_file = tmp_path / "webhook.token"
    token_file.write_text(secrets.token_urlsafe(24))
    token_file.chmod(0o600)
    without_client = s.config.read_text()
    with open(s.config, "a") as f:
        f.write(CLIENT.format(token_file=token_file))
    try:
        s.start_engine()
        s.start_sim(speed=5)
        s.wait_trading()
        yield s, without_client
    finally:
        s.stop()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _placed_by(stack: Stack, alert_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{stack.store}?mode=ro", uri=True) as db:
        rows = [json.loads(p) for (p,) in db.execute(
            "SELECT payload FROM audit_log WHERE kind = 'control_request'")]
    return [r for r in rows if r["request"].get("alert_id") == alert_id]


def _alert_through_webhook(stack: Stack, config: Path, port: int) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, "-m", "tickbridge", "webhook", "--config",
                             str(config), "--log-level", "WARNING"],
                            stdin=subprocess.DEVNULL)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, f"webhook exited {proc.returncode}"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 30, "the webhook")
        ident = f"cred-{time.time_ns()}"
        body = {"strategy": "trend", "secret": SECRET, "action": "buy",
                "symbol": "CME_MINI:ES1!", "quantity": 1, "order_type": "market",
                "alert_id": ident,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        r = httpx.post(f"http://127.0.0.1:{port}/webhook", content=json.dumps(body))
        assert r.status_code == 202, r.text
        (record,) = wait_until(lambda: _placed_by(stack, ident), 30, "the webhook's submit")
        return record
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_webhook_uses_its_configured_client_else_the_owner_token(
        running: tuple[Stack, str]) -> None:
    stack, without_client = running
    port = _port()
    named = stack.folder / "webhook-named.toml"
    named.write_text(stack.config.read_text() + WEBHOOK.format(
        port=port, store=stack.folder / "hook1.sqlite", secret=SECRET))
    record = _alert_through_webhook(stack, named, port)
    assert (record["caller"], record["role"]) == ("webhook", "trade")
    assert record["request"]["cmd"] == "submit"

    port = _port()
    owner = stack.folder / "webhook-owner.toml"  # no client named webhook: the owner file
    owner.write_text(without_client + WEBHOOK.format(
        port=port, store=stack.folder / "hook2.sqlite", secret=SECRET))
    record = _alert_through_webhook(stack, owner, port)
    assert (record["caller"], record["role"]) == ("owner", "risk")
