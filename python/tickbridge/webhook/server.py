"""Serving the app with uvicorn: HTTPS when a certificate is configured, plain HTTP on
loopback behind the user's TLS reverse proxy otherwise (non-loopback plain HTTP only with
``insecure_http = true``, and warned about at every start)."""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from tickbridge.config.webhook import WebhookConfig, is_loopback_host
from tickbridge.webhook.connection_limits import ConnectionLimits, limited_h11

log = logging.getLogger("tickbridge.webhook")


# Descriptors beyond the connections: the listening socket, SQLite files, ZeroMQ sockets,
# and connections refused over the limit between accept and close.
_SPARE_FDS = 128


def uvicorn_config(app: Any, config: WebhookConfig, *, log_level: str = "warning",
                   port: int | None = None,
                   report_closed: Callable[[dict[str, int]], None] | None = None
                   ) -> uvicorn.Config:
    """uvicorn's settings for ``config``; ``report_closed`` receives the counts of
    connections closed for slowness or over the limit, once per 10 s at most."""
    if not config.tls and not is_loopback_host(config.host):
        log.warning("INSECURE: plain HTTP on %s (insecure_http = true): alert secrets cross "
                    "the network in clear; use TLS or a TLS reverse proxy", config.host)
    ensure_fd_limit(config.max_connections + _SPARE_FDS)
    limits = ConnectionLimits(header_timeout_s=config.header_timeout_s,
                              body_timeout_s=config.body_timeout_s,
                              max_connections=config.max_connections, report=report_closed)
    return uvicorn.Config(
        app, host=config.host, port=config.port if port is None else port,
        ssl_certfile=str(config.tls_cert_file) if config.tls_cert_file else None,
        ssl_keyfile=str(config.tls_key_file) if config.tls_key_file else None,
        # Behind a reverse proxy the peer is the proxy: believe its X-Forwarded-For only
        # when it is listed, so the allow-list sees the real sender.
        proxy_headers=bool(config.trusted_proxies),
        forwarded_allow_ips=list(config.trusted_proxies) or None,
        log_level=log_level, access_log=False, server_header=False, lifespan="off",
        # h11 (the pure-Python parser; pinned, so installing httptools changes nothing)
        # with the header and body deadlines and the connection cap uvicorn lacks.
        http=limited_h11(limits), ws="none",
        h11_max_incomplete_event_size=config.max_header_bytes,
        timeout_keep_alive=config.keep_alive_s,
        # uvicorn counts the asking connection among the open ones: +1 so its 503 agrees
        # with the cap at accept; it still bounds requests in flight, which can outlive
        # their connection.
        limit_concurrency=config.max_connections + 1,
    )


def ensure_fd_limit(needed: int) -> None:
    """Raises this process's open-file limit to ``needed`` where the hard limit allows: a
    server out of descriptors stops accepting anyone, the sender of a good alert too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        log.warning("webhook: max_connections needs %d open files, the limit is %d (ulimit "
                    "-n): lower webhook.max_connections or raise the limit", needed, target)


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
