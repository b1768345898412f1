"""``tickbridge copier status`` / ``tickbridge copier sync``: the trade copier of a
running engine (docs/copier.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tickbridge.cli.status import _ask, _common


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "copier", help="the trade copier: each follower against its target; sync now",
        description="The running engine's trade copier ([copier] in its config). "
                    "Exit codes: 0 every enabled follower connected and on target (status) "
                    "or compared and acted on (sync); 1 the engine did not answer or "
                    "refused, or a follower is off target, refused or not connected; "
                    "2 bad usage or config.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    status = actions.add_parser(
        "status", help="leader and followers: positions, targets, orders, refusals",
        description="Exit codes: 0 every enabled follower connected and on target at its "
                    "last comparison; 1 one is not (or the engine did not answer); 2 bad "
                    "usage.")
    _common(status)
    status.add_argument("--json", action="store_true", help="the raw answer as JSON")
    status.set_defaults(handler=run_status)
    sync = actions.add_parser(
        "sync", help="compare every follower with its target now, and act by the policy",
        description="Each follower's target is the leader's position through its sizing; "
                    "a follower off target is brought back by the policy (resync: orders "
                    "through its risk gate; alert: audited only; halt: that follower "
                    "halted). Needs the trade role. Exit codes: 0 compared (and acted on), "
                    "1 the engine refused or did not answer, or a follower's order was "
                    "refused or it is not connected; 2 bad usage.")
    _common(sync)
    sync.add_argument("--account", help="this follower only (default: every follower)")
    sync.add_argument("--policy", choices=("resync", "alert", "halt"),
                      help="this time only, instead of the configured policy")
    sync.add_argument("--json", action="store_true", help="the raw answer as JSON")
    sync.set_defaults(handler=run_sync)
    p.set_defaults(handler=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_status(args: argparse.Namespace) -> int:
    reply = _ask(args, "copier_status")
    if isinstance(reply, int):
        return reply
    if args.json:
        print(json.dumps(reply, indent=2))
    else:
        print(format_status(reply))
    healthy = all(f["connected"] and f["on_target"] and not f["unmapped"]
                  for f in reply["followers"] if f["enabled"])
    return 0 if healthy else 1


def format_status(reply: dict[str, Any]) -> str:
    leader = reply["leader"]
    positions = ", ".join(f"{s} {q:+d}" for s, q in leader["positions"].items()) or "flat"
    compiled = sum(f.get("compiled", 0) for f in reply["followers"])
    lines = [f"copier: {reply['mode']}, policy {reply['policy']}, "
             f"{compiled} copies sent from the compiled path",
             f"leader {leader['account']} ({leader['platform']}, "
             f"{'up' if leader['connected'] else 'NOT CONNECTED'}): {positions}",
             f"{'follower':<14} {'platform':<13} {'link':<5} {'state':<14} "
             f"{'instrument target/actual':<28} {'orders':>6} {'refused':>7}  last refusal"]
    for f in reply["followers"]:
        link = "up" if f["connected"] else "DOWN"
        state = f["trading_state"] if f["enabled"] else "disabled"
        held = ", ".join(f"{s} {p['target']:+d}/{p['actual']:+d}"
                         + ("" if p["target"] == p["actual"] else " OFF")
                         for s, p in f["positions"].items()) or f["unmapped"] or "-"
        lines.append(f"{f['account']:<14} {f['platform']:<13} {link:<5} {state:<14} "
                     f"{held:<28} {f['orders']:>6} {f['refusals']:>7}  "
                     f"{f['last_refusal'] or '-'}")
    return "\n".join(lines)


def run_sync(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {"source": "cli"}
    if args.account:
        fields["account"] = args.account
    if args.policy:
        fields["policy"] = args.policy
    reply = _ask(args, "copier_sync", **fields)
    if isinstance(reply, int):
        return reply
    if args.json:
        print(json.dumps(reply, indent=2))
    failed = False
    for follower in reply["followers"]:
        for entry in follower["instruments"]:
            action = entry.get("action", "")
            failed |= action in ("refused", "not connected")
            if not args.json:
                actual = "-" if entry["actual"] is None else f"{entry['actual']:+d}"
                print(f"{follower['account']:<14} {entry['symbol']:<10} target "
                      f"{entry['target']:+d} actual {actual}: {action}")
        if not follower["instruments"] and not args.json:
            print(f"{follower['account']:<14} nothing to compare (leader flat everywhere)")
    return 1 if failed else 0
