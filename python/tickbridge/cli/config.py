"""``tickbridge config check FILE`` and ``tickbridge config show [FILE]``."""

from __future__ import annotations

import argparse
import sys

from tickbridge.cli import credentials
from tickbridge.config import (
    ConfigError,
    TickbridgeConfig,
    config_or_default,
    load_config,
    to_json,
    to_toml,
)
from tickbridge.config.loader import engine_problems


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check, show or reload a configuration",
                       description="Validate a TOML config (TICKBRIDGE_* env overrides "
                                   "applied) or print the effective config, secrets masked.")
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    check = actions.add_parser("check", help="validate FILE; list every error (exit 1)")
    check.add_argument("file")
    check.set_defaults(handler=run_check)
    show = actions.add_parser("show", help="print the effective config, secrets masked")
    show.add_argument("file", nargs="?", help="config file; the embedded default when omitted")
    show.add_argument("--format", choices=("toml", "json"), default="toml")
    show.set_defaults(handler=run_show)
    reload = actions.add_parser(
        "reload", help="send new risk limits to the running engine (validated, audited)",
        description="Sends FILE's [risk] tables (or a whole config's) to the engine's control "
                    "socket (with the risk role: the owner token, or --client/--token-file). "
                    "The engine validates them against its config first: on any error "
                    "nothing changes and every error is listed (exit 1); otherwise the new "
                    "limits apply to the next order and the diff is audited.")
    reload.add_argument("file", help="TOML with the [risk] tables")
    reload.add_argument("--config", help="the engine's config, for its control endpoint "
                                         "(default: the embedded one)")
    reload.add_argument("--engine-control", metavar="ENDPOINT",
                        help="override engine.control_endpoint")
    credentials.add_arguments(reload)
    reload.set_defaults(handler=run_reload)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def run_reload(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tickbridge.engine.control import ControlError

    try:
        config = config_or_default(args.config)
        text = Path(args.file).read_text()
        endpoint = args.engine_control or config.engine.control_endpoint
        client = credentials.client(args, config, endpoint)
    except (ConfigError, OSError, credentials.TokenError) as e:
        print(e, file=sys.stderr)
        return 2
    try:
        reply = client.request("reload_risk", toml=text, source="config reload")
    except ControlError as e:
        print(f"tickbridge config reload: {e}", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(reply.get("error"), file=sys.stderr)
        return 1
    changes = reply.get("changes") or []
    print(f"risk limits reloaded: {len(changes)} change(s)")
    for line in changes:
        print(f"  {line}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from tickbridge.risk.mode import mode_banner

    try:
        config = load_config(args.file)
        problems = engine_problems(config) + _strategy_problems(config)
        if problems:
            raise ConfigError(args.file, problems)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{args.file}: ok - {mode_banner(config)}; {len(config.instruments)} instruments, "
          f"{len(config.strategies)} strategies, {len(config.shims)} shims")
    return 0


def _strategy_problems(config: TickbridgeConfig) -> list[str]:
    """The built-in strategies' parameter errors, as `run` would find them (a module:Class
    entry is not imported: checking a config runs no user code)."""
    from tickbridge.engine.build import StrategyLoadError, load_strategy
    from tickbridge.strategies import BUILTIN

    problems = []
    for spec in config.strategies:
        if spec.entry in BUILTIN:
            try:
                load_strategy(spec)
            except StrategyLoadError as e:
                problems.append(str(e))
    return problems


def run_show(args: argparse.Namespace) -> int:
    try:
        # the effective config: env overrides apply to the embedded default too
        config = config_or_default(args.file)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(to_json(config) if args.format == "json" else to_toml(config), end="")
    if args.format == "json":
        print()
    return 0
