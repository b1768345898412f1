"""``tickbridge config check FILE`` and ``tickbridge config show [FILE]``."""

from __future__ import annotations

import argparse
import os
import sys

from tickbridge.config import ConfigError, default_config, load_config, to_json, to_toml


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check or show a configuration",
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
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def run_check(args: argparse.Namespace) -> int:
    from tickbridge.risk.mode import mode_banner

    try:
        config = load_config(args.file)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{args.file}: ok - {mode_banner(config)}; {len(config.instruments)} instruments, "
          f"{len(config.strategies)} strategies, {len(config.shims)} shims")
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        # the effective config: env overrides apply to the embedded default too
        config = load_config(args.file) if args.file else default_config(os.environ)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(to_json(config) if args.format == "json" else to_toml(config), end="")
    if args.format == "json":
        print()
    return 0
