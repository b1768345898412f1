"""``tickbridge webhook``: TradingView alerts in, orders through the engine's control socket."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "webhook",
        help="serve the TradingView alert webhook (orders go through the engine's risk checks)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "An HTTP(S) server for TradingView alerts. Each alert (JSON or key=value text)\n"
            "is checked (source, secret, optional HMAC signature, replay window, symbol),\n"
            "answered at once (202, or 400/401/403/409/413/422), stored once by its alert\n"
            "id (a repeat gets the first answer and places nothing; the same id with another\n"
            "body is a 409), then routed to a running engine's control socket: the same\n"
            "contract mapping, risk checks, session hours, order state machine and audit\n"
            "log as every other order. Slow or idle connections are closed (header_timeout_s,\n"
            "body_timeout_s, keep_alive_s) and their number capped (max_connections).\n\n"
            "Needs a [webhook] section in the config (see docs/webhook.md). HTTPS when\n"
            "tls_cert_file and tls_key_file are set; plain HTTP on loopback otherwise, for a\n"
            "TLS reverse proxy in front."
        ),
        epilog=(
            "Query an alert:  curl -H 'X-Tickbridge-Secret: SECRET' "
            "http://127.0.0.1:8088/alerts/STRATEGY/ALERT_ID\n"
            "Audit log:       tickbridge audit tail --db tickbridge-webhook.sqlite\n"
            "Exit codes: 0 clean stop (Ctrl-C), 1 runtime failure, 2 bad config or usage."
        ),
    )
    p.add_argument("--config", required=True, metavar="FILE", help="tickbridge TOML config")
    p.add_argument("--engine-control", default=None, metavar="ENDPOINT",
                   help="the engine's control endpoint (default: webhook.engine_control, "
                        "else engine.control_endpoint)")
    p.add_argument("--port", type=int, default=None, help="override webhook.port")
    p.add_argument("--log-level", default="INFO",
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default INFO")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tickbridge.config import ConfigError, load_config

    _restart_with_system_malloc()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    hook = config.webhook
    if hook is None or not hook.strategies:
        print(f"{args.config}: no [webhook] section with at least one [webhook.strategies.NAME]"
              " (secret = ...); see docs/webhook.md", file=sys.stderr)
        return 2
    import uvicorn

    from tickbridge.engine.control import ControlError
    from tickbridge.engine.control_auth import TokenError, cli_token
    from tickbridge.webhook import WebhookService, create_app, uvicorn_config

    endpoint = args.engine_control or hook.engine_control or config.engine.control_endpoint
    # The engine link's credential: the [[control.clients]] entry named "webhook" (role
    # trade), else the owner's token file (docs/security.md).
    # Read at each request: the owner's file appears when the engine starts, which may be
    # after the webhook; an unreadable one fails that request (ControlError), said why.
    named = "webhook" if any(c.name == "webhook" for c in config.control.clients) else None

    def token() -> str | None:
        try:
            return cli_token(config, client=named)
        except TokenError as e:
            raise ControlError(str(e)) from None

    try:
        service = WebhookService(hook, endpoint, token=token)
    except OSError as e:
        print(f"webhook: cannot open {hook.store}: {e}", file=sys.stderr)
        return 1
    service.start()
    scheme = "https" if hook.tls else "http"
    logging.getLogger("tickbridge.webhook").info(
        "webhook on %s://%s:%s for %s; engine control %s; store %s", scheme, hook.host,
        args.port if args.port is not None else hook.port, ", ".join(sorted(hook.strategies)),
        endpoint, hook.store)
    # uvicorn handles SIGINT/SIGTERM itself, then raises the signal again once it has
    # stopped serving: make that an exception, so the router drains and the store closes.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server = uvicorn.Server(uvicorn_config(
        create_app(service), hook, port=args.port, log_level=args.log_level.lower(),
        report_closed=lambda counts: service.audit("webhook_connections_closed", **counts)))
    try:
        server.run()
    except _Stopped:
        pass
    finally:
        service.close()
    return 0 if server.started else 1


class _Stopped(Exception):
    pass


def _restart_with_system_malloc() -> None:
    """Runs the server on the C library's malloc (``PYTHONMALLOC=malloc``), by replacing
    this process with itself so launched (same pid, same arguments).

    Why: a flood of connections leaves Python's own allocator with arenas that a few
    long-lived objects pin; measured here, 15 MB of a 60 MB server never came back after
    1,500 slow connections. glibc's heap gives its free pages back (``malloc_trim``, run
    after the server closed slow peers), so the same flood leaves ~2 MB. An explicit
    PYTHONMALLOC (e.g. ``pymalloc``) is respected. Only when started as the
    ``tickbridge`` command itself, never from within another program (a test runner)."""
    if "PYTHONMALLOC" in os.environ or not sys.platform.startswith("linux"):
        return
    launched_as = Path(sys.argv[0]).name
    if launched_as not in ("tickbridge", "__main__.py") or "webhook" not in sys.argv[1:]:
        return
    os.execve(sys.executable, [sys.executable, "-m", "tickbridge", *sys.argv[1:]],
              {**os.environ, "PYTHONMALLOC": "malloc"})


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signal.Signals(signum).name)
