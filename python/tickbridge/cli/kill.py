"""``tickbridge kill [--flatten] [--account A]``: the kill switch, by two paths."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tickbridge.cli import credentials
from tickbridge.config import ConfigError, config_or_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kill",
        help="cancel every working order (and flatten) through the engine and at each shim",
        description=(
            "The kill switch. Path 1: the engine's control socket (the engine halts trading "
            "and sends cancel-all, and flatten, to its shims). Path 2, independently: a Kill "
            "frame straight to each shim's own kill endpoint with its secret, which works "
            "with the engine hung or dead. Both paths always run. The table says what each "
            "did. Exit codes: 0 every shim confirmed and the engine answered; 1 something "
            "was not reached or refused (read the table); 2 bad usage or config. When the "
            "engine does not answer, the action is journaled beside its state store and "
            "audited at its next start."
        ),
    )
    p.add_argument("--flatten", action="store_true", help="also close every position")
    p.add_argument("--account", help="only the shims of this account (default: every shim)")
    p.add_argument("--config", type=Path, help="config file (default: the embedded one)")
    p.add_argument("--engine-control", metavar="ENDPOINT",
                   help="override engine.control_endpoint ('none' skips the engine path)")
    p.add_argument("--shim", action="append", default=[], metavar="NAME=ENDPOINT",
                   help="a kill endpoint instead of the config's shims (repeatable); its "
                        "secret comes from $TICKBRIDGE_KILL_SECRET")
    p.add_argument("--state-store", type=Path,
                   help="override engine.state_store (where the journal goes when the engine "
                        "does not answer)")
    p.add_argument("--timeout", type=float, default=3.0,
                   help="seconds to wait for the engine's answer (default 3)")
    p.add_argument("--shim-timeout", type=float, default=10.0,
                   help="seconds to wait for each shim's answer (default 10): a shim "
                        "answers once its platform ran the kill (Sierra Chart at the "
                        "study's next call, within its own kill deadline)")
    credentials.add_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tickbridge.risk.kill_switch import (
        ShimTarget,
        direct_flatten,
        journal_kill,
        kill_at_shim,
        kill_via_engine,
        shim_targets,
    )

    try:
        config = config_or_default(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        token = credentials.token(args, config)
    except credentials.TokenError as e:
        # The direct path needs no control token: the kill still runs, the engine path
        # is refused and says so in the table.
        print(f"warning: {e}", file=sys.stderr)
        token = None
    if args.shim:
        secret = os.environ.get("TICKBRIDGE_KILL_SECRET", "")
        targets = []
        for item in args.shim:
            name, sep, endpoint = item.partition("=")
            if not sep or not endpoint:
                print(f"tickbridge kill: --shim {item!r}: expected NAME=ENDPOINT",
                      file=sys.stderr)
                return 2
            targets.append(ShimTarget(name, endpoint, secret))
    else:
        targets = shim_targets(config, args.account)
        if args.account and not targets:
            known = ", ".join(a.name for a in config.accounts) or "none"
            print(f"tickbridge kill: no shim holds account {args.account!r} (accounts: "
                  f"{known})", file=sys.stderr)
            return 2
    action = "cancel all and flatten" if args.flatten else "cancel all"
    print(f"KILL: {action}, account {args.account or 'all'}", file=sys.stderr)
    outcomes = []
    engine = None
    control = args.engine_control or config.engine.control_endpoint
    if control != "none":
        engine = kill_via_engine(control, flatten=args.flatten, account=args.account,
                                 timeout_s=args.timeout, token=token)
        outcomes.append(engine)
    # The direct path runs whatever the engine said: a hung engine may still answer.
    for target in targets:
        flatten = args.flatten and direct_flatten(target, engine)
        outcome = kill_at_shim(target, flatten=flatten, timeout_s=args.shim_timeout)
        if args.flatten and not flatten and outcome.ok:
            outcome.detail += " (its flatten came by the engine path)"
        outcomes.append(outcome)
    print(f"{'path':<7} {'target':<16} {'result':<7} detail")
    for o in outcomes:
        print(f"{o.path:<7} {o.target:<16} {'ok' if o.ok else 'FAILED':<7} {o.detail}")
    engine_answered = any(o.path == "engine" and o.ok for o in outcomes)
    if not engine_answered:
        # Not answered, or refused (no credential with the trade role): either way the
        # engine's chain does not have this action yet.
        try:
            path = journal_kill(args.state_store or config.engine.state_store,
                                flatten=args.flatten, account=args.account, outcomes=outcomes)
        except OSError as e:
            print(f"warning: the engine did not take this action and it could not be "
                  f"journaled ({e}): it is not in the audit log", file=sys.stderr)
        else:
            print(f"the engine did not take this action: it is journaled in {path} and goes "
                  "into the audit log at the engine's next start", file=sys.stderr)
    else:
        # The engine audited its own half; it audits the direct path's results too.
        from tickbridge.engine.control import ControlClient, ControlError

        try:
            ControlClient(control, timeout_ms=int(args.timeout * 1000), token=token).request(
                "audit_kill", flatten=args.flatten, account=args.account,
                outcomes=[o.__dict__ for o in outcomes if o.path == "shim"])
        except ControlError as e:
            print(f"warning: the direct path's results were not audited: {e}", file=sys.stderr)
    if not targets:
        print("warning: no shim kill endpoints configured; only the engine path ran",
              file=sys.stderr)
    return 0 if outcomes and all(o.ok for o in outcomes) else 1
