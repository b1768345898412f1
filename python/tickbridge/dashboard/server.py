"""Putting the dashboard together and serving it: the engine's control socket as its
source, the kill switch's two paths as its kill, uvicorn on a thread of its own.

The bind rule, as the webhook's: loopback by default; any other address only with TLS
(a certificate and its key), since the tokens and the cookie would cross the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from tickbridge.config.models import TickbridgeConfig
from tickbridge.config.webhook import is_loopback_host
from tickbridge.dashboard.actions import Actions
from tickbridge.dashboard.app import Dashboard, create_app
from tickbridge.dashboard.feed import DISPLAY_HZ, Feed
from tickbridge.dashboard.tokens import DashboardTokens

log = logging.getLogger("tickbridge.dashboard")

DEFAULT_PORT = 8765
EXCHANGE_TZ = "America/Chicago"  # CME: the instruments the project trades


class BindError(ValueError):
    """A bind the rule refuses; the message names the option at fault."""


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None) -> None:
    if (tls_cert is None) != (tls_key is None):
        raise BindError("--tls-cert and --tls-key: give both or neither")
    if tls_cert is None and not is_loopback_host(host):
        raise BindError(f"--host {host}: not a loopback address, so it needs TLS "
                        "(--tls-cert and --tls-key): the tokens would cross the network")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise BindError(f"{option} {path}: no such file")


def make_dashboard(config: TickbridgeConfig, *, control_endpoint: str,
                   token: Callable[[], str | None], state_store: Path | None,
                   tokens: DashboardTokens | None = None, rate_hz: float = DISPLAY_HZ,
                   tls: bool = False, timeout_s: float = 1.0) -> Dashboard:
    """``token``: the control credential, read at each request (the engine may make its
    owner token file after the dashboard starts)."""
    from tickbridge.cli.kill import kill_everywhere
    from tickbridge.engine.control import ControlClient
    from tickbridge.risk.kill_switch import shim_targets

    def control(cmd: str, **fields: Any) -> dict[str, Any]:
        return ControlClient(control_endpoint, timeout_ms=int(timeout_s * 1000),
                             token=token()).request(cmd, **fields)

    def kill(flatten: bool, account: str | None, source: str) -> Any:
        try:
            credential = token()
        except Exception as e:  # the direct path needs none: it still runs
            log.warning("dashboard kill: no control credential (%s)", e)
            credential = None
        return kill_everywhere(flatten=flatten, account=account, control=control_endpoint,
                               token=credential, targets=shim_targets(config, account),
                               state_store=state_store or config.engine.state_store,
                               source=source)

    actions = Actions(control=control, kill=kill,
                      accounts=[a.name for a in config.accounts],
                      shims_of=lambda account: [t.name for t in shim_targets(config, account)])
    feed = Feed(lambda: control("dashboard"), rate_hz=rate_hz)
    return Dashboard(feed=feed, actions=actions, tokens=tokens or DashboardTokens(),
                     store=state_store, exchange_tz=EXCHANGE_TZ, tls=tls)


def uvicorn_config(dashboard: Dashboard, *, host: str, port: int, tls_cert: Path | None,
                   tls_key: Path | None, log_level: str = "warning") -> uvicorn.Config:
    check_bind(host, tls_cert, tls_key)
    return uvicorn.Config(
        create_app(dashboard), host=host, port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=log_level, access_log=False, server_header=False, lifespan="off",
        http="h11", ws="none",
        # Open event streams would hold a stop forever: they are cut after this long.
        timeout_graceful_shutdown=2)


def urls(dashboard: Dashboard, host: str, port: int, tls: bool) -> dict[str, str]:
    shown = f"[{host}]" if ":" in host else host
    base = f"{'https' if tls else 'http'}://{shown}:{port}/"
    return {"base": base, "read": f"{base}?token={dashboard.tokens.read}",
            "trade": f"{base}?token={dashboard.tokens.trade}"}
