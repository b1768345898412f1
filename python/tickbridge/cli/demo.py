"""``tickbridge demo``: the main job on the embedded defaults."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on bundled data")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("tickbridge demo: not built yet")
