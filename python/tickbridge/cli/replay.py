"""``tickbridge replay CAPTURE``: re-run a captured session through a fresh engine."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tickbridge.config import ConfigError, config_or_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="re-run a capture (tickbridge run --capture) through the engine",
        description=(
            "Feeds the frames a captured engine received, in their order, to a fresh engine "
            "with the same config (strategies, risk gate on the market clock) and the "
            "captured run's client-order-id epoch, then compares the order commands it "
            "sends with the captured ones. Control-socket requests and wall-clock timers "
            "are not replayed. Exit codes: 0 the same commands, 1 they differ (the first "
            "difference is printed), 2 bad usage, config or capture."
        ),
    )
    p.add_argument("capture", type=Path, help="capture file")
    p.add_argument("--config", type=Path, help="the captured run's config (default: embedded)")
    p.add_argument("--state-store", type=Path,
                   help="state store for the replay (default: a temporary one, removed)")
    p.add_argument("--json", action="store_true", help="the result as one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tickbridge.capture import CaptureError
    from tickbridge.engine.replay import replay_capture

    if not args.capture.is_file():
        print(f"tickbridge replay: {args.capture}: no such capture file", file=sys.stderr)
        return 2
    try:
        config = config_or_default(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        store = args.state_store or Path(folder) / "replay.sqlite"
        try:
            result = replay_capture(args.capture, config, store)
        except CaptureError as e:
            print(f"tickbridge replay: {e}", file=sys.stderr)
            return 2
    difference = result.first_difference()
    if args.json:
        print(json.dumps({"frames_in": result.frames_in, "ticks": result.ticks,
                          "bars": result.bars, "orders": result.orders, "fills": result.fills,
                          "positions": result.positions,
                          "commands_captured": len(result.captured),
                          "commands_replayed": len(result.replayed),
                          "identical": result.identical, "first_difference": difference}))
    else:
        positions = ", ".join(f"{s} {q:+d}" for s, q in result.positions.items()) or "none"
        print(f"frames {result.frames_in:,} | ticks {result.ticks:,} | bars {result.bars:,} | "
              f"orders {result.orders} | fills {result.fills} | positions {positions}")
        print(f"order commands: {len(result.captured)} captured, {len(result.replayed)} "
              f"replayed: {'identical' if result.identical else 'DIFFERENT'}")
        if difference:
            print(f"first difference: {difference}")
    return 0 if result.identical else 1
