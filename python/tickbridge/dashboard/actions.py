"""What the dashboard may do: set the trading state, and the kill switch in two steps.

Each goes the way the command line goes: the trading state by the engine's ``set_state``
request (as ``tickbridge state``), the kill by ``kill_everywhere`` (as ``tickbridge
kill``: the engine's control socket and, whatever it answers, each shim's own kill
endpoint; journaled when the engine does not answer). The source each carries into the
audit log is ``dashboard:<token id>``: who did it, without the token itself.

A kill is asked for first (``plan_kill``: it says what it will do and returns a one-time
confirmation id, valid ``CONFIRM_S`` seconds, for the same token only), then confirmed.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tickbridge.dashboard.tokens import Holder

log = logging.getLogger("tickbridge.dashboard")

CONFIRM_S = 60.0
STATES = ("ACTIVE", "REDUCING_ONLY", "HALTED")


class ActionError(ValueError):
    """A bad action request; the message names the field at fault."""


class KillResult(Protocol):
    ok: bool
    engine_answered: bool
    outcomes: list[Any]
    journal: Any
    warnings: list[str]


# (flatten, account, source) -> what kill_everywhere did
Kill = Callable[[bool, str | None, str], KillResult]
# (cmd, fields) -> the engine's answer; raises when the engine does not answer
Control = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class KillPlan:
    plan_id: str
    token_id: str
    flatten: bool
    account: str | None
    text: str
    expires: float


def source(holder: Holder) -> str:
    return f"dashboard:{holder.token_id}"


class Actions:
    def __init__(self, *, control: Control, kill: Kill, accounts: Sequence[str],
                 shims_of: Callable[[str | None], list[str]],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._control = control
        self._kill = kill
        self.accounts = list(accounts)
        self._shims_of = shims_of
        self._monotonic = monotonic
        self._plans: dict[str, KillPlan] = {}
        self._lock = threading.Lock()

    def _account(self, body: dict[str, Any]) -> str | None:
        account = body.get("account")
        if account is None or account == "":
            return None
        if not isinstance(account, str) or account not in self.accounts:
            raise ActionError(f"account: {str(account)[:64]!r} is not a configured account "
                              f"(one of: {', '.join(self.accounts) or 'none'}; or null: all)")
        return account

    def set_state(self, holder: Holder, body: dict[str, Any]) -> dict[str, Any]:
        state = body.get("state")
        if state not in STATES:
            raise ActionError(f"state: one of {', '.join(STATES)} (got {str(state)[:32]!r})")
        account = self._account(body)
        log.warning("dashboard: %s sets trading state %s (%s)", holder.token_id, state,
                    account or "all accounts")
        return self._control("set_state", state=state, account=account,
                             source=source(holder))

    def plan_kill(self, holder: Holder, body: dict[str, Any]) -> dict[str, Any]:
        flatten = body.get("flatten", False)
        if not isinstance(flatten, bool):
            raise ActionError(f"flatten: true or false (got {str(flatten)[:32]!r})")
        account = self._account(body)
        shims = self._shims_of(account)
        what = "halt trading, cancel every working order" + \
            (" and flatten every position" if flatten else " (positions stay open)")
        text = (f"KILL: {what} for {f'account {account}' if account else 'ALL accounts'}: "
                f"through the engine, and straight to the kill endpoint of "
                f"{', '.join(shims) if shims else 'no shim (none configured)'}.")
        plan = KillPlan(secrets.token_urlsafe(16), holder.token_id, flatten, account, text,
                        self._monotonic() + CONFIRM_S)
        with self._lock:
            now = self._monotonic()
            self._plans = {k: p for k, p in self._plans.items() if p.expires > now}
            self._plans[plan.plan_id] = plan
        return {"ok": True, "confirm": plan.plan_id, "text": text, "flatten": flatten,
                "account": account, "shims": shims, "expires_in_s": CONFIRM_S}

    def confirm_kill(self, holder: Holder, body: dict[str, Any]) -> dict[str, Any]:
        plan_id = body.get("confirm")
        if not isinstance(plan_id, str):
            raise ActionError("confirm: the id the kill request returned")
        with self._lock:
            plan = self._plans.pop(plan_id, None)
        if plan is None or plan.expires < self._monotonic() or \
                plan.token_id != holder.token_id:
            raise ActionError("confirm: unknown, already used or expired (ask again)")
        log.warning("dashboard: %s confirmed %s", holder.token_id, plan.text)
        report = self._kill(plan.flatten, plan.account, source(holder))
        return {"ok": report.ok, "engine_answered": report.engine_answered,
                "text": plan.text,
                "outcomes": [{"path": o.path, "target": o.target, "ok": o.ok,
                              "detail": o.detail} for o in report.outcomes],
                "journal": str(report.journal) if report.journal is not None else None,
                "warnings": report.warnings}
