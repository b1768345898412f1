"""Paper/live separation: pure functions the engine calls at hello and on status lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tickbridge.config.models import TickbridgeConfig


@dataclass(frozen=True)
class HelloRefusal:
    """Why a shim's hello is refused. ``code`` is stable (logged, audited)."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def check_hello(config: TickbridgeConfig, account: str, simulated: bool) -> HelloRefusal | None:
    """None when the engine may trade ``account`` that the shim reports as ``simulated``
    (Hello.simulated: 1 paper, 0 live); otherwise the refusal with the exact reason."""
    kind = "simulated (paper)" if simulated else "live"
    configured = config.account(account)
    if configured is None:
        names = ", ".join(a.name for a in config.accounts) or "none"
        return HelloRefusal("UNKNOWN_ACCOUNT",
                            f"refused account {account!r}: not in the config (configured: "
                            f"{names})")
    if config.mode == "paper" and not simulated:
        return HelloRefusal("LIVE_ACCOUNT_IN_PAPER_MODE",
                            f"refused account {account!r}: the shim reports a live account "
                            f"(hello simulated=0) but this config runs in paper mode; a paper "
                            f"config never trades a live account")
    if config.mode == "live" and simulated:
        return HelloRefusal("SIMULATED_ACCOUNT_IN_LIVE_MODE",
                            f"refused account {account!r}: the shim reports a simulated account "
                            f"(hello simulated=1) but this config runs in live mode; use a paper "
                            f"config for simulated accounts")
    if configured.mode != ("paper" if simulated else "live"):
        return HelloRefusal("ACCOUNT_MODE_MISMATCH",
                            f"refused account {account!r}: configured as {configured.mode} but "
                            f"the shim reports it {kind}")
    if config.mode == "live":
        if account not in config.live_accounts:
            return HelloRefusal("NOT_IN_LIVE_ACCOUNTS",
                                f"refused account {account!r}: not in live_accounts "
                                f"({', '.join(config.live_accounts)})")
        credentials = config.credentials_file
        if credentials is None or not Path(credentials).is_file():
            return HelloRefusal("NO_CREDENTIALS",
                                f"refused account {account!r}: live mode needs credentials_file "
                                f"({credentials or 'not set'}) to exist")
    return None


def mode_banner(config: TickbridgeConfig) -> str:
    """The mode line printed at every start and on every status line."""
    accounts = ", ".join(a.name for a in config.accounts) or "no accounts"
    if config.mode == "live":
        return f"LIVE MODE - REAL ORDERS - accounts: {', '.join(config.live_accounts)}"
    return f"PAPER MODE - simulated accounts only - accounts: {accounts}"
