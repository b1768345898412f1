"""The shim sessions the engine knows: by routing id and by compiled session slot.

It owns their lifetime (a new peer gets a slot in the compiled core and a place in the
compiled receive path; a peer that never completed a hello is forgotten whole) and the
one flag the tick path reads per session: whether its armed orders may go out without
Python looking at them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from tickbridge.engine.session import ShimSession
from tickbridge.risk.reasons import TradingState

log = logging.getLogger("tickbridge.engine")


class Peers:
    def __init__(self, core: Any, *, gated: bool,
                 trading_state: Callable[[str | None], TradingState]) -> None:
        self._core = core
        self._gated = gated  # a risk gate: a session trades only once confirmed
        self._trading_state = trading_state
        self.pump: Any = None  # the compiled receive path, when there is one
        self.sessions: dict[bytes, ShimSession] = {}
        self._by_slot: dict[int, ShimSession] = {}
        self.forgotten = 0
        self.on_forget: Callable[[ShimSession], None] = lambda session: None
        # Its platform's own order connection is up (platform_link.py), and who is told
        # after each look at a session's switch (its trading state may have moved).
        self.orders_allowed: Callable[[ShimSession], bool] = lambda session: True
        self.on_synced: Callable[[ShimSession], None] = lambda session: None

    def __iter__(self) -> Iterator[ShimSession]:
        return iter(list(self.sessions.values()))

    def get(self, identity: bytes) -> ShimSession | None:
        return self.sessions.get(identity)

    def by_slot(self, slot: int) -> ShimSession:
        return self._by_slot[slot]

    def add(self, identity: bytes, key: str) -> ShimSession:
        session = ShimSession(identity=identity, slot=self._core.add_session(), curve_key=key)
        self.sessions[identity] = session
        self._by_slot[session.slot] = session
        if self.pump is not None:
            self.pump.add_peer(identity, session.slot)
        self.sync_armed(session)  # disabled until its hello is accepted
        log.info("new peer %s", identity.hex())
        return session

    def remove(self, session: ShimSession) -> None:
        """Out of the routing table (its slot stays: routes may still refer to it)."""
        if self.sessions.get(session.identity) is session:
            del self.sessions[session.identity]
            if self.pump is not None:
                self.pump.remove_peer(session.identity)

    def forget(self, session: ShimSession) -> None:
        """Frees everything of a peer that never completed a hello: its session, its
        compiled session slot (reused) and its place in the receive path."""
        if self._by_slot.get(session.slot) is not session:
            return  # forgotten already
        self.remove(session)
        del self._by_slot[session.slot]
        session.outbox.clear()
        session.pending.clear()
        self.on_forget(session)
        self._core.release_session(session.slot)
        self.forgotten += 1

    def sync_armed(self, session: ShimSession) -> None:
        """Whether the tick path may send this shim's armed orders itself: a shim whose
        hello was accepted, connected, its account ACTIVE. Otherwise each fire takes the
        Python checks, which say why (halted, reducing-only, not connected...)."""
        enabled = (session.platform is not None and not session.lost and session.accepted
                   and session.account != "" and (session.confirmed or not self._gated)
                   and self._trading_state(session.account) == TradingState.ACTIVE
                   and self.orders_allowed(session))
        self.on_synced(session)
        if enabled != session.armed_enabled:
            session.armed_enabled = enabled
            self._core.set_session_enabled(session.slot, enabled)

    def sync_all(self) -> None:
        for session in self.sessions.values():
            self.sync_armed(session)
