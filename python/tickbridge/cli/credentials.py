"""The credential every command that talks to the engine's control socket sends.

First found: ``--token-file``, $TICKBRIDGE_TOKEN, $TICKBRIDGE_TOKEN_FILE, the configured
``[[control.clients]]`` entry named by ``--client``, the engine's owner token file (beside
its state store, created by the engine at start; readable only by the user who runs it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine.control import ControlClient
from tickbridge.engine.control_auth import TokenError, cli_token


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help="the control token to send (default: $TICKBRIDGE_TOKEN, "
                        "$TICKBRIDGE_TOKEN_FILE, --client's, or the engine's owner token "
                        "file STATE_STORE.control-token)")
    p.add_argument("--client", metavar="NAME",
                   help="send the token of this [[control.clients]] entry")


def token(args: argparse.Namespace, config: TickbridgeConfig,
          state_store: Path | None = None) -> str | None:
    """The token to send; raises TokenError when a named source cannot be read."""
    return cli_token(config, client=getattr(args, "client", None),
                     token_file=getattr(args, "token_file", None),
                     state_store=state_store or getattr(args, "state_store", None))


def client(args: argparse.Namespace, config: TickbridgeConfig, endpoint: str,
           timeout_s: float = 3.0) -> ControlClient:
    """A control client with the caller's credential (TokenError: it cannot be read)."""
    return ControlClient(endpoint, timeout_ms=int(timeout_s * 1000),
                         token=token(args, config))


__all__ = ["TokenError", "add_arguments", "client", "token"]
