"""``tickbridge research follow FILE``: print the records Sierra Chart appends to a live
``.scid`` file, one line each, until interrupted (or ``--exit-after`` records)."""

from __future__ import annotations

import argparse
import sys
import threading

import numpy as np

from tickbridge.research.follow import ScidFollower, follow_scid
from tickbridge.research.scid import ScidFormatError, ticks_from_records
from tickbridge.research.timestamps import ns_to_datetime64


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``research`` and its ``follow`` subcommand to the tickbridge command."""
    p = sub.add_parser("research", help="research tools over history files")
    inner = p.add_subparsers(dest="research_command", metavar="SUBCOMMAND")
    f = inner.add_parser(
        "follow",
        help="print records appended to a live Sierra Chart .scid file",
        description=(
            "Polls FILE and prints each whole record Sierra Chart appends, as "
            "'time price volume side bid ask' (UTC; side buy/sell/-). Survives Sierra "
            "Chart's rewrites of the file (see docs/research.md). Exit codes: 0 stopped "
            "(Ctrl-C or --exit-after), 1 the file is corrupt, 2 bad usage."
        ),
    )
    f.add_argument("file", help=".scid file")
    f.add_argument("--poll", type=float, default=0.25, help="seconds between polls")
    f.add_argument("--tail", action="store_true", help="only records appended from now on")
    f.add_argument("--exit-after", type=int, default=None, metavar="N",
                   help="stop after N records (for scripts and tests)")
    f.set_defaults(handler=run_follow)
    p.set_defaults(handler=lambda _args: (p.print_help(), 2)[1])


def run_follow(args: argparse.Namespace) -> int:
    """Handler of ``tickbridge research follow``."""
    if args.poll <= 0:
        print("tickbridge research follow: --poll must be > 0", file=sys.stderr)
        return 2
    stop = threading.Event()
    printed = 0
    sides = np.array(["-", "buy", "sell"])
    try:
        for chunk in follow_scid(args.file, poll_interval=args.poll,
                                 from_start=not args.tail, stop=stop):
            t = ticks_from_records(chunk)
            when = ns_to_datetime64(t["ts"]).astype(str)
            price, bid, ask = t["price"].tolist(), t["bid"].tolist(), t["ask"].tolist()
            for i in range(len(when)):
                print(f"{when[i]} {price[i]!r} {t['volume'][i]:g} {sides[t['side'][i]]} "
                      f"{bid[i]!r} {ask[i]!r}", flush=True)
                printed += 1
                if args.exit_after is not None and printed >= args.exit_after:
                    return 0
    except ScidFormatError as e:
        print(f"tickbridge research follow: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


__all__ = ["ScidFollower", "register", "run_follow"]
