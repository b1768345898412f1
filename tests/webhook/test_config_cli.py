"""The [webhook] config section, TLS serving and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_until
from tickbridge.config import ConfigError, parse_config, to_toml

from .conftest import SECRET, alert, running_hook, webhook_config

BASE = {"accounts": [{"name": "SIM101", "mode": "paper"}], "instruments": [{"symbol": "ES"}]}


def _config(**webhook):
    return parse_config({**BASE, "webhook": webhook}, "test.toml", environ={})


def test_secrets_are_masked_in_config_show():
    config = _config(strategies={"trend": {"secret": SECRET, "hmac_key": SECRET + "x"}})
    text = to_toml(config)
    assert "[webhook.strategies.trend]" in text
    assert SECRET not in text and 'secret = "**********"' in text


@pytest.mark.parametrize(("webhook", "expected"), [
    ({"strategies": {"trend": {"secret": "short"}}},
     "webhook.strategies.trend.secret: must be at least 16 bytes"),
    ({"strategies": {"bad name": {"secret": SECRET}}}, "webhook.strategies: strategy name"),
    ({"host": "0.0.0.0"}, "webhook: host '0.0.0.0' is not loopback and no TLS certificate"),
    ({"tls_cert_file": "/nonexistent.pem"}, "webhook: tls_cert_file and tls_key_file go together"),
    ({"allowed_sources": ["1.2.3.4", "tradingview"]},
     "webhook.allowed_sources: [1] 'tradingview' is not an IP address"),
    ({"max_body_bytes": 10}, "webhook.max_body_bytes: Input should be greater than or equal"),
    ({"port": 70000}, "webhook.port"),
    ({"header_timeout_s": 0}, "webhook.header_timeout_s: Input should be greater than 0"),
    ({"body_timeout_s": 301}, "webhook.body_timeout_s: Input should be less than or equal"),
    ({"max_connections": 0}, "webhook.max_connections: Input should be greater than or equal"),
    ({"max_header_bytes": 100}, "webhook.max_header_bytes: Input should be greater than or"),
    ({"keep_alive_s": "soon"}, "webhook.keep_alive_s: Input should be a valid integer"),
    ({"secrets": {}}, "webhook.secrets: Extra inputs are not permitted"),
])
def test_validation_errors_name_the_field(webhook, expected):
    with pytest.raises(ConfigError) as e:
        _config(**webhook)
    assert any(line.startswith(expected) for line in e.value.errors), e.value.errors
    assert "short" not in str(e.value)  # a secret is never echoed


def test_insecure_http_beyond_loopback_is_explicit():
    assert _config(host="0.0.0.0", insecure_http=True).webhook.host == "0.0.0.0"


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_tls_when_given_a_certificate(tmp_path, bed):
    cert, key = _self_signed(tmp_path)
    config = webhook_config(tmp_path, tls_cert_file=str(cert), tls_key_file=str(key))
    for hook in running_hook(config, bed.control_endpoint, bed.token):
        assert hook.url.startswith("https://")
        body = alert(action="cancel", symbol=None, quantity=None)
        assert hook.post(body).status_code == 202
        assert hook.outcome(body["alert_id"])["state"] == "done"


def test_cli_help_and_missing_section(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tickbridge", "webhook", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--engine-control" in out and "TradingView" in out
    path = tmp_path / "c.toml"
    path.write_text('[[accounts]]\nname = "SIM101"\nmode = "paper"\n')
    run = subprocess.run([sys.executable, "-m", "tickbridge", "webhook", "--config", str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "no [webhook] section" in run.stderr


def test_cli_serves_and_stops_cleanly_on_sigterm(tmp_path):
    import signal
    import socket
    import time

    import httpx

    from tickbridge.audit import read_records
    from tickbridge.store.connection import open_reader

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port, dead = s.getsockname()[1], f"tcp://127.0.0.1:{s.getsockname()[1] + 1}"
    path = tmp_path / "c.toml"
    path.write_text(f'[[accounts]]\nname = "SIM101"\nmode = "paper"\n\n[webhook]\nport = {port}\n'
                    f'store = "{tmp_path / "hook.sqlite"}"\nengine_timeout_ms = 200\n\n'
                    f'[webhook.strategies.trend]\nsecret = "{SECRET}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "tickbridge", "webhook", "--config",
                             str(path), "--engine-control", dead, "--log-level", "WARNING"])
    try:
        def healthy() -> bool:
            assert proc.poll() is None, f"the webhook exited with {proc.returncode}"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 30, "the webhook's /health", poll=0.1)
        r = httpx.post(f"http://127.0.0.1:{port}/webhook/trend/{SECRET}",
                       content=f"action=close symbol=ES1! timestamp={int(time.time())}")
        assert r.status_code == 202
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    with open_reader(tmp_path / "hook.sqlite") as conn:
        kinds = [r.kind for r in read_records(conn)]
    assert kinds == ["webhook_start", "webhook_alert", "webhook_routed", "webhook_stop"]
