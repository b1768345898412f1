"""``tickbridge dashboard --config FILE``: the live dashboard in the browser, beside a
running engine (``tickbridge run --dashboard`` serves it from the engine's process)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tickbridge.cli import credentials
from tickbridge.config import ConfigError, config_or_default


def add_serving_arguments(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """--host, --port, --tls-cert, --tls-key (``prefix`` 'dashboard-' for `run`)."""
    from tickbridge.dashboard.server import DEFAULT_PORT

    p.add_argument(f"--{prefix}host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1; any non-loopback address "
                        "needs --tls-cert and --tls-key)")
    p.add_argument(f"--{prefix}port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument(f"--{prefix}tls-cert", type=Path, metavar="PEM", help="TLS certificate")
    p.add_argument(f"--{prefix}tls-key", type=Path, metavar="PEM", help="TLS private key")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="the live dashboard in a browser: links, positions, orders, risk, kill",
        description=(
            "Serves the live dashboard of a running engine: its links to the shims, "
            "positions (the engine's beside each platform's), working orders and their "
            "timelines, risk use against the limits, refusals, the trading state and the kill "
            "switch. It asks the engine's control socket at the display rate (--rate) and "
            "pushes each frame to the browsers (Server-Sent Events). Two tokens are made at "
            "start and printed as URLs: read-only, and trading (state changes and the kill "
            "switch, audited with the token's id). Loopback only unless TLS is given. "
            "Exit codes: 0 stopped by a signal or --seconds, 1 could not serve (port in "
            "use), 2 bad usage or config (a non-loopback --host without TLS)."),
    )
    p.add_argument("--config", type=Path, help="config file (default: the embedded one)")
    p.add_argument("--engine-control", metavar="ENDPOINT",
                   help="override engine.control_endpoint")
    p.add_argument("--state-store", type=Path,
                   help="the engine's state store, if overridden at its start (its owner "
                        "token file and its audit log, for order timelines)")
    add_serving_arguments(p)
    p.add_argument("--rate", type=float, default=4.0,
                   help="display rate: frames per second to each browser (default 4)")
    p.add_argument("--seconds", type=float, help="stop after this long (default: until "
                                                 "stopped)")
    credentials.add_arguments(p)
    p.set_defaults(handler=run)


class Served:
    """A dashboard with its feed and its uvicorn thread; ``stop()`` ends both."""

    def __init__(self, dashboard: Any, server: Any, urls: dict[str, str]) -> None:
        self.dashboard, self.server, self.urls = dashboard, server, urls

    def stop(self) -> None:
        self.server.stop()
        self.dashboard.feed.stop()


def serve(config: Any, *, control_endpoint: str, token: Any, state_store: Path | None,
          host: str, port: int, tls_cert: Path | None, tls_key: Path | None,
          rate_hz: float = 4.0) -> Served:
    """Starts the feed and the server (BindError: the bind rule refused; RuntimeError:
    it could not serve)."""
    from tickbridge.dashboard.server import make_dashboard, urls, uvicorn_config
    from tickbridge.webhook.server import ServerThread

    tls = tls_cert is not None
    dashboard = make_dashboard(config, control_endpoint=control_endpoint, token=token,
                               state_store=state_store, rate_hz=rate_hz, tls=tls)
    server = ServerThread(uvicorn_config(dashboard, host=host, port=port, tls_cert=tls_cert,
                                         tls_key=tls_key))
    server.start()
    dashboard.feed.start()
    return Served(dashboard, server, urls(dashboard, host, server.port, tls))


def print_urls(served: Served, out: Any = sys.stdout) -> None:
    print(f"tickbridge dashboard at {served.urls['base']}\n"
          f"  read-only: {served.urls['read']}\n"
          f"  trading:   {served.urls['trade']}\n"
          "  (anyone with the trading URL can halt and flatten: keep it to yourself)",
          file=out, flush=True)


def run(args: argparse.Namespace) -> int:
    from tickbridge.dashboard.server import BindError

    logging.basicConfig(level="INFO", stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_or_default(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    if args.rate <= 0:
        print("tickbridge dashboard: --rate must be positive", file=sys.stderr)
        return 2
    state_store = args.state_store or config.engine.state_store
    try:
        served = serve(config, control_endpoint=args.engine_control or
                       config.engine.control_endpoint,
                       token=lambda: credentials.token(args, config, state_store),
                       state_store=Path(state_store), host=args.host, port=args.port,
                       tls_cert=args.tls_cert, tls_key=args.tls_key, rate_hz=args.rate)
    except BindError as e:
        print(f"tickbridge dashboard: {e}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as e:
        print(f"tickbridge dashboard: cannot serve: {e}", file=sys.stderr)
        return 1
    print_urls(served)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait(args.seconds)
    served.stop()
    return 0
