"""Which shim keys may speak for which account (CURVE), and the rule that one account is
spoken for by one peer at a time (with or without CURVE). Pure functions the engine
calls at hello; docs/security.md has the threat model they implement."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tickbridge.risk.mode import HelloRefusal

_Z85_KEY = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")


class KeyBindingError(ValueError):
    """An account's curve_public_keys names a key the allow-list does not hold."""


@dataclass(frozen=True)
class AccountKeys:
    """account -> the z85 public keys allowed to say hello for it; ``names`` maps a key to
    its certificate name for logs and the audit."""

    by_account: Mapping[str, frozenset[str]]
    names: Mapping[str, str]

    def label(self, key: str) -> str:
        return f"{self.names[key]} ({key})" if key in self.names else key or "no key"


def bind_account_keys(accounts: Iterable[tuple[str, list[str]]],
                      allowed: Mapping[str, str]) -> AccountKeys:
    """``accounts``: (name, curve_public_keys); ``allowed``: z85 key -> certificate name
    (the authorized keys directory). Each entry is a z85 key or a certificate name; a key
    that is not in the allow-list could never connect, so it is an error, not a no-op."""
    by_name = {name: key for key, name in allowed.items()}
    bound: dict[str, frozenset[str]] = {}
    for account, entries in accounts:
        keys = set()
        for i, entry in enumerate(entries):
            key = entry if _Z85_KEY.match(entry) else by_name.get(entry)
            if key is None or key not in allowed:
                what = "key" if _Z85_KEY.match(entry) else "certificate name"
                raise KeyBindingError(
                    f"accounts.{account}.curve_public_keys[{i}]: {what} {entry!r} is not in "
                    f"curve_authorized_keys_dir (holds: {', '.join(sorted(by_name)) or 'none'})")
            keys.add(key)
        bound[account] = frozenset(keys)
    return AccountKeys(bound, dict(allowed))


def check_key(keys: AccountKeys, account: str, key: str) -> HelloRefusal | None:
    """None when the connection's CURVE key may speak for ``account``."""
    allowed = keys.by_account.get(account, frozenset())
    if key in allowed:
        return None
    return HelloRefusal("KEY_NOT_BOUND",
                        f"refused account {account!r}: key {keys.label(key)} is not one of "
                        f"its curve_public_keys ({len(allowed)} bound)")


def account_held(account: str, holder: str) -> HelloRefusal:
    return HelloRefusal("ACCOUNT_HELD",
                        f"refused account {account!r}: already spoken for by {holder}, which "
                        "is still connected; a second peer never takes an account over")


def account_keys(settings: Any, config: Any) -> AccountKeys | None:
    """With CURVE and a config, each account's allowed keys (an account's hello is taken
    only from a key bound to it); None otherwise."""
    if settings.curve_secret_key_file is None or config is None:
        return None
    from tickbridge.engine.transport import authorized_keys

    assert settings.curve_authorized_keys_dir is not None  # bind_router checks
    return bind_account_keys(((a.name, a.curve_public_keys) for a in config.accounts),
                             authorized_keys(settings.curve_authorized_keys_dir))
