"""The ``tickbridge`` command. Each subcommand lives in its own module with ``register``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tickbridge import __version__
from tickbridge.cli import (
    audit,
    bench,
    config,
    contract,
    copier,
    dashboard,
    demo,
    keys,
    kill,
    replay,
    run,
    sim,
    simulate,
    status,
    webhook,
)
from tickbridge.research import cli as research

COMMANDS = (demo, run, sim, simulate, kill, status, dashboard, copier, webhook, replay, bench,
            config, contract, audit, keys, research)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickbridge",
        description=(
            "Execution bridge from Sierra Chart and NinjaTrader 8 to a risk-checked, "
            "audited execution engine."
        ),
        epilog="Exit codes: 0 success, 1 the command ran and found a failure, 2 bad usage.",
    )
    parser.add_argument("--version", action="version", version=f"tickbridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
