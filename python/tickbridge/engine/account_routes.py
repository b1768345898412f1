"""Which shim session holds which account, and the instruments each defines there.

The router's own routes are by symbol (a strategy names a symbol, and one shim trades
it); with several accounts on several shims trading the same symbol (the copier's
followers), an order is routed by (account, symbol): each account's own session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickbridge.engine.session import Instrument, ShimSession


class AccountRoutes:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], tuple[ShimSession, Instrument]] = {}
        self._sessions: dict[str, ShimSession] = {}

    def define(self, session: ShimSession, instrument: Instrument) -> None:
        """The last session to define an account's instrument holds it (a reconnect's new
        session takes over from the lost one)."""
        self._routes[(session.account, instrument.symbol)] = (session, instrument)
        self._sessions[session.account] = session

    def route(self, account: str, symbol: str) -> tuple[ShimSession, Instrument] | None:
        return self._routes.get((account, symbol))

    def session(self, account: str) -> ShimSession | None:
        """The session that last spoke for ``account`` (None: none has yet)."""
        return self._sessions.get(account)

    def symbols(self, account: str) -> list[str]:
        return sorted(symbol for held, symbol in self._routes if held == account)
