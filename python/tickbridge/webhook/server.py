"""Serving the app with uvicorn: HTTPS when a certificate is configured, plain HTTP on
loopback behind the user's TLS reverse proxy otherwise (non-loopback plain HTTP only with
``insecure_http = true``, and warned about at every start)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import uvicorn

from tickbridge.config.webhook import WebhookConfig, is_loopback_host

log = logging.getLogger("tickbridge.webhook")


def uvicorn_config(app: Any, config: WebhookConfig, *, log_level: str = "warning",
                   port: int | None = None) -> uvicorn.Config:
    if not config.tls and not is_loopback_host(config.host):
        log.warning("INSECURE: plain HTTP on %s (insecure_http = true): alert secrets cross "
                    "the network in clear; use TLS or a TLS reverse proxy", config.host)
    return uvicorn.Config(
        app, host=config.host, port=config.port if port is None else port,
        ssl_certfile=str(config.tls_cert_file) if config.tls_cert_file else None,
        ssl_keyfile=str(config.tls_key_file) if config.tls_key_file else None,
        # Behind a reverse proxy the peer is the proxy: believe its X-Forwarded-For only
        # when it is listed, so the allow-list sees the real sender.
        proxy_headers=bool(config.trusted_proxies),
        forwarded_allow_ips=list(config.trusted_proxies) or None,
        log_level=log_level, access_log=False, server_header=False, lifespan="off",
        timeout_keep_alive=30,
    )


class ServerThread:
    """uvicorn on a thread of its own (tests, benchmarks); ``port`` is the bound port."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="webhook-http", daemon=True)
        self.port = 0

    def _serve(self) -> None:
        asyncio.run(self.server.serve())

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the webhook server did not start (port taken?)")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
