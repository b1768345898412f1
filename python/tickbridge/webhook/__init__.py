"""TradingView alerts into the engine's risk-checked execution path (docs/webhook.md).

``alert`` parses bodies, ``auth`` checks who sent them, ``store`` makes them idempotent,
``symbols`` maps TradingView symbols to the engine's, ``router`` turns them into control
requests after the answer, ``app`` is the Starlette app, ``server`` runs it with uvicorn,
``service`` wires the parts.
"""

from tickbridge.webhook.alert import Alert, AlertError, parse_alert
from tickbridge.webhook.app import create_app
from tickbridge.webhook.server import ServerThread, uvicorn_config
from tickbridge.webhook.service import WebhookService

__all__ = ["Alert", "AlertError", "ServerThread", "WebhookService", "create_app",
           "parse_alert", "uvicorn_config"]
