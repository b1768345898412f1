"""``tickbridge status`` and ``tickbridge state STATE``: ask a running engine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tickbridge.cli import credentials
from tickbridge.config import ConfigError, config_or_default

STATES = ("active", "reducing-only", "halted")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="config file (default: the embedded one)")
    p.add_argument("--engine-control", metavar="ENDPOINT",
                   help="override engine.control_endpoint")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    p.add_argument("--state-store", type=Path,
                   help="the engine's state store, if overridden at its start (its owner "
                        "token file is beside it)")
    credentials.add_arguments(p)


def register(sub: argparse._SubParsersAction) -> None:
    status = sub.add_parser(
        "status", help="a running engine's mode, trading state, shims, positions, orders",
        description="Asks the engine's control socket. Exit codes: 0 answered, 1 the engine "
                    "did not answer (not running, or hung), 2 bad usage or config.")
    _common(status)
    status.add_argument("--json", action="store_true", help="the raw answer as JSON")
    status.set_defaults(handler=run_status)
    state = sub.add_parser(
        "state", help="set the trading state: active, reducing-only or halted",
        description="Sets the engine's trading state (audited). reducing-only lets only "
                    "orders that shrink a position through; halted refuses every new order. "
                    "A stricter state needs the trade role; a looser one (leaving halted or "
                    "reducing-only) needs the risk role (the owner token has it). "
                    "Exit codes: 0 set, 1 the engine did not answer or refused, 2 bad usage.")
    _common(state)
    state.add_argument("state", choices=STATES)
    state.add_argument("--account", help="only this account (default: every account)")
    state.set_defaults(handler=run_state)


def _ask(args: argparse.Namespace, cmd: str, **fields: Any) -> dict[str, Any] | int:
    from tickbridge.engine.control import ControlError

    try:
        config = config_or_default(args.config)
        endpoint = args.engine_control or config.engine.control_endpoint
        client = credentials.client(args, config, endpoint, args.timeout)
    except (ConfigError, credentials.TokenError) as e:
        print(e, file=sys.stderr)
        return 2
    try:
        reply = client.request(cmd, **fields)
    except ControlError as e:
        print(f"tickbridge {args.command}: {e}", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(f"tickbridge {args.command}: {reply.get('error')}", file=sys.stderr)
        return 1
    return reply


def run_status(args: argparse.Namespace) -> int:
    reply = _ask(args, "status")
    if isinstance(reply, int):
        return reply
    if args.json:
        print(json.dumps(reply, indent=2))
        return 0
    print(reply["mode"])
    accounts = ", ".join(f"{a} {st}" for a, st in reply.get("accounts", {}).items())
    print(f"trading state {reply['trading_state']}{f' ({accounts})' if accounts else ''} | "
          f"ticks {reply['ticks']:,} | frames {reply['frames']:,}")
    print(f"{'shim':<24} {'account':<12} {'kind':<10} {'link':<8} {'broker':<16} instruments")
    for s in reply["shims"]:
        link = "REFUSED" if s["refused"] else "lost" if s["lost"] else "up"
        kind = "simulated" if s["simulated"] else "LIVE"
        # The platform's own order connection (PlatformStatus); orders refused unless up.
        platform = s.get("platform") or {}
        broker = platform.get("orders") or "-"
        if platform.get("orders_refused"):
            broker += " (refusing)"
        print(f"{s['name']:<24} {s['account']:<12} {kind:<10} {link:<8} {broker:<16} "
              f"{', '.join(s['instruments'])}")
    positions = reply["positions"]
    print("positions: " + (", ".join(f"{k} {v:+d}" for k, v in positions.items()) or "none"))
    orders = reply["working_orders"]
    print(f"working orders: {len(orders)}")
    for o in orders:
        print(f"  {o['client_order_id']} {o['instrument']} {o['side']} {o['filled']}/{o['qty']}"
              f" {o['status']}")
    return 0


def run_state(args: argparse.Namespace) -> int:
    reply = _ask(args, "set_state", state=args.state, account=args.account, source="cli")
    if isinstance(reply, int):
        return reply
    print(f"trading state {reply['trading_state']} ({args.account or 'all accounts'})")
    return 0
