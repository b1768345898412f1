"""A running webhook (uvicorn on a free loopback port) in front of a real engine and the
platform simulator; tests talk plain HTTP to it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.waiting import wait_until
from tickbridge.config import default_config
from tickbridge.config.webhook import WebhookConfig
from tickbridge.webhook import ServerThread, WebhookService, create_app, uvicorn_config
from tickbridge_dev.webhook.testbed import EngineWithSimulator

SECRET = "trend-secret-0123456789abcdef"
SIGNED_SECRET = "signed-secret-0123456789abcdef"
HMAC_KEY = "hmac-key-0123456789abcdef0123"
_ids = itertools.count(1)


def alert_id() -> str:
    return f"t{time.time_ns()}-{next(_ids)}"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def alert(**fields: Any) -> dict[str, Any]:
    body = {"strategy": "trend", "secret": SECRET, "action": "buy", "symbol": "CME_MINI:ES1!",
            "quantity": 1, "order_type": "market", "alert_id": alert_id(),
            "timestamp": now_iso()}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def sign(body: bytes, key: str = HMAC_KEY) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Hook:
    url: str
    service: WebhookService
    http: httpx.Client

    def post(self, body: dict[str, Any] | str | bytes, path: str = "/webhook",
             **kwargs: Any) -> httpx.Response:
        if isinstance(body, dict):
            body = json.dumps(body)
        content = body.encode() if isinstance(body, str) else body
        return self.http.post(self.url + path, content=content, **kwargs)

    def record(self, strategy: str, alert_id: str, secret: str = SECRET) -> httpx.Response:
        return self.http.get(f"{self.url}/alerts/{strategy}/{alert_id}",
                             headers={"X-Tickbridge-Secret": secret})

    def outcome(self, alert_id: str, strategy: str = "trend", secret: str = SECRET,
                timeout: float = 10.0) -> dict[str, Any]:
        """The stored record once the router has routed the alert."""

        def routed() -> dict[str, Any] | None:
            r = self.record(strategy, alert_id, secret)
            return r.json() if r.status_code == 200 and r.json()["state"] != "accepted" \
                else None

        return wait_until(routed, timeout, f"alert {alert_id} routed", poll=0.02)


def webhook_config(tmp_path: Path, **overrides: Any) -> WebhookConfig:
    data: dict[str, Any] = {
        "host": "127.0.0.1", "port": 0, "store": str(tmp_path / "webhook.sqlite"),
        "replay_window_s": 60, "max_body_bytes": 2048,
        "strategies": {"trend": {"secret": SECRET},
                       "signed": {"secret": SIGNED_SECRET, "hmac_key": HMAC_KEY}},
    }
    data.update(overrides)
    return WebhookConfig.model_validate(data)


def running_hook(config: WebhookConfig, engine_control: str,
                 token: str | None = None) -> Iterator[Hook]:
    service = WebhookService(config, engine_control, token=token)
    service.start()
    server = ServerThread(uvicorn_config(
        create_app(service), config,
        report_closed=lambda counts: service.audit("webhook_connections_closed", **counts)
    )).start()
    scheme = "https" if config.tls else "http"
    verify: Any = (ssl.create_default_context(cafile=str(config.tls_cert_file))
                   if config.tls else True)
    with httpx.Client(timeout=10.0, verify=verify) as http:
        try:
            yield Hook(f"{scheme}://127.0.0.1:{server.port}", service, http)
        finally:
            server.stop()
            service.close()


# Tests send orders faster than a person would: the rate limits, not the subject here,
# are raised; every other limit is the default config's.
RELAXED = {"TICKBRIDGE_RISK__DEFAULT_ACCOUNT__MAX_ORDERS_PER_SECOND": "100",
           "TICKBRIDGE_RISK__DEFAULT_ACCOUNT__MAX_ORDERS_PER_MINUTE": "1000",
           "TICKBRIDGE_RISK__DEFAULT_ACCOUNT__MAX_ORDERS_PER_HOUR": "10000"}


@pytest.fixture(scope="module")
def bed() -> Iterator[EngineWithSimulator]:
    with EngineWithSimulator(config=default_config(RELAXED)) as running:
        yield running


@pytest.fixture
def hook(tmp_path: Path, bed: EngineWithSimulator) -> Iterator[Hook]:
    yield from running_hook(webhook_config(tmp_path), bed.control_endpoint, bed.token)


