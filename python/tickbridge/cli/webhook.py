"""``tickbridge webhook``: TradingView alerts in, orders through the engine's control socket."""

from __future__ import annotations

import argparse
import logging
import signal
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "webhook",
        help="serve the TradingView alert webhook (orders go through the engine's risk checks)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "An HTTP(S) server for TradingView alerts. Each alert (JSON or key=value text)\n"
            "is checked (source, secret, optional HMAC signature, replay window, symbol),\n"
            "answered at once (202, or 400/401/403/413/422), stored once by its alert id\n"
            "(a repeat gets the first answer and places nothing), then routed to a running\n"
            "engine's control socket: the same contract mapping, risk checks, session hours,\n"
            "order state machine and audit log as every other order.\n\n"
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
    # trade), else the owner's token file (docs/security-control.md).
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
    server = uvicorn.Server(uvicorn_config(create_app(service), hook, port=args.port,
                                           log_level=args.log_level.lower()))
    try:
        server.run()
    except _Stopped:
        pass
    finally:
        service.close()
    return 0 if server.started else 1


class _Stopped(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signal.Signals(signum).name)
