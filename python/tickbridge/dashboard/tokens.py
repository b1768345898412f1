"""The dashboard's two tokens, made at start and printed as a URL (as Jupyter does).

- the read token shows the page and its live feed;
- the trading token also sets the trading state and runs the kill switch.

A token is compared in constant time with both known tokens (no early exit, so the time
taken says nothing about which matched). The audit log names a token by its id (the
role and the first hex digits of its SHA-256), never by the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum


class Access(Enum):
    READ = "read"
    TRADE = "trade"


@dataclass(frozen=True)
class Holder:
    """Who presented a token: its access and its id for the audit log."""

    access: Access
    token_id: str

    @property
    def may_trade(self) -> bool:
        return self.access == Access.TRADE


def token_id(access: Access, token: str) -> str:
    return f"{access.value}-{hashlib.sha256(token.encode()).hexdigest()[:8]}"


class DashboardTokens:
    def __init__(self, read: str | None = None, trade: str | None = None) -> None:
        self.read = read or secrets.token_urlsafe(24)
        self.trade = trade or secrets.token_urlsafe(24)
        if hmac.compare_digest(self.read.encode(), self.trade.encode()):
            raise ValueError("the read and the trading token must differ")
        self._known = [(Access.READ, self.read.encode()), (Access.TRADE, self.trade.encode())]

    def check(self, presented: str | None) -> Holder | None:
        if not presented:
            return None
        given = presented.encode()
        found: Holder | None = None
        for access, known in self._known:  # every one compared: constant time
            if hmac.compare_digest(given, known) and found is None:
                found = Holder(access, token_id(access, presented))
        return found
