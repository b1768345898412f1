"""``tickbridge contract resolve SYMBOL [--on DATE] [--to FORMAT]``."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from tickbridge.contracts import FORMATS, SymbolError, load_specs, resolve


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("contract", help="resolve contract symbols and roll dates")
    actions = p.add_subparsers(dest="contract_action", metavar="ACTION")
    r = actions.add_parser("resolve", help="which contract SYMBOL means on a date, and why",
                           description="Symbols: ES, ES1!, CME_MINI:ES1!, ESZ6, ESZ26, "
                                       "MNQZ2026, 'ES 12-26', ESZ26-CME.")
    r.add_argument("symbol")
    r.add_argument("--on", type=date.fromisoformat, default=None,
                   help="YYYY-MM-DD (default: today)")
    r.add_argument("--to", choices=FORMATS, default=None,
                   help="print only the symbol in this platform's format")
    r.add_argument("--contracts-file", default=None, help="user contract table over the default")
    r.set_defaults(handler=run_resolve)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def run_resolve(args: argparse.Namespace) -> int:
    try:
        specs = load_specs(args.contracts_file)
        c = resolve(args.symbol, on=args.on, specs=specs)
    except (SymbolError, ValueError, OSError) as e:
        print(f"tickbridge contract resolve: {e}", file=sys.stderr)
        return 1
    if args.to:
        print(c.format(args.to))
        return 0
    print(c.reason)
    print(f"  {c.spec.name} ({c.spec.exchange}, {c.spec.group}): tick {c.tick_size:g}, "
          f"point value {c.point_value:g}, expires {c.expiry}, rolls {c.roll_date}"
          + (f", first notice {c.first_notice}" if c.first_notice else ""))
    print("  " + "  ".join(f"{to}: {c.format(to)}" for to in FORMATS))
    return 0
