"""``tickbridge kill [--flatten] [--account A]``: the kill switch, by two paths."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tickbridge.cli import credentials
from tickbridge.config import ConfigError, config_or_default
from tickbridge.risk.kill_switch import (
    KillOutcome,
    ShimTarget,
    direct_flatten,
    journal_kill,
    kill_at_shim,
    kill_via_engine,
    shim_targets,
)


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


@dataclass
class KillReport:
    """What ``kill_everywhere`` did: each path's outcome, and where the action is recorded."""

    outcomes: list[KillOutcome]
    engine_answered: bool
    journal: Path | None = None  # the engine did not take it: journaled here
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)


def kill_everywhere(*, flatten: bool, account: str | None, control: str | None,
                    token: str | None, targets: list[ShimTarget], state_store: str | Path,
                    timeout_s: float = 3.0, shim_timeout_s: float = 10.0,
                    source: str = "kill cli") -> KillReport:
    """The kill switch by both paths: the engine's control socket (``control``; None
    skips it), then a Kill straight to each shim in ``targets`` whatever the engine said.
    Used by ``tickbridge kill`` and the dashboard's kill button; ``source`` names who
    asked in the audit log. When the engine does not take the action it is journaled
    beside ``state_store`` (audited at the engine's next start)."""
    outcomes: list[KillOutcome] = []
    engine = None
    if control is not None:
        engine = kill_via_engine(control, flatten=flatten, account=account,
                                 timeout_s=timeout_s, token=token, source=source)
        outcomes.append(engine)
    # The direct path runs whatever the engine said: a hung engine may still answer.
    for target in targets:
        direct = flatten and direct_flatten(target, engine)
        outcome = kill_at_shim(target, flatten=direct, timeout_s=shim_timeout_s)
        if flatten and not direct and outcome.ok:
            outcome.detail += " (its flatten came by the engine path)"
        outcomes.append(outcome)
    report = KillReport(outcomes, any(o.path == "engine" and o.ok for o in outcomes))
    if not report.engine_answered:
        # Not answered, or refused (no credential with the trade role): either way the
        # engine's chain does not have this action yet.
        try:
            report.journal = journal_kill(state_store, flatten=flatten, account=account,
                                          outcomes=outcomes,
                                          source=None if source == "kill cli" else source)
        except OSError as e:
            report.warnings.append(f"the engine did not take this action and it could not "
                                   f"be journaled ({e}): it is not in the audit log")
    else:
        # The engine audited its own half; it audits the direct path's results too.
        from tickbridge.engine.control import ControlClient, ControlError

        assert control is not None
        try:
            ControlClient(control, timeout_ms=int(timeout_s * 1000), token=token).request(
                "audit_kill", flatten=flatten, account=account, source=source,
                outcomes=[o.__dict__ for o in outcomes if o.path == "shim"])
        except ControlError as e:
            report.warnings.append(f"the direct path's results were not audited: {e}")
    if not targets:
        report.warnings.append("no shim kill endpoints configured; only the engine path ran")
    return report


def run(args: argparse.Namespace) -> int:
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
    control = args.engine_control or config.engine.control_endpoint
    report = kill_everywhere(
        flatten=args.flatten, account=args.account,
        control=None if control == "none" else control, token=token, targets=targets,
        state_store=args.state_store or config.engine.state_store, timeout_s=args.timeout,
        shim_timeout_s=args.shim_timeout)
    print(f"{'path':<7} {'target':<16} {'result':<7} detail")
    for o in report.outcomes:
        print(f"{o.path:<7} {o.target:<16} {'ok' if o.ok else 'FAILED':<7} {o.detail}")
    if report.journal is not None:
        print(f"the engine did not take this action: it is journaled in {report.journal} "
              "and goes into the audit log at the engine's next start", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0 if report.ok else 1
