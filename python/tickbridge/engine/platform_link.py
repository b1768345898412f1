"""Each shim's platform connection (PlatformStatus in) and trading state (TradingState out).

PlatformStatus: a shim reports its platform's own connections (orders: the broker or
trade service; prices: the data feed) after its hello and on every change. While the
last report since the hello says the order connection is not CONNECTED, new orders
routed to that shim are refused in the engine (code PLATFORM_NOT_CONNECTED, audited like
any refusal) and its armed orders stay off the tick path; cancels, flattens and kills
still go out (the shim answers them as it can). A shim that has sent no PlatformStatus
since its hello (an older build) is not refused on that account: nothing is known.

TradingState: sent to a shim when its hello is accepted and whenever the trading state
that applies to its account (its own, or the engine-wide one) differs from what that
shim was last told. A shim is marked wherever the engine re-derives its armed-order
switch (Peers.sync_armed), which it does on every state change, so no change of the
risk gate (a kill, a person, the daily loss limit) is missed; the marked shims are looked
at on the engine's next timer tick. Shims show it, never act on it: the engine enforces
it.

The coordinator wires it: records.py calls on_hello and on_status, pre_trade.py refusal,
peers.py orders_allowed and sync, trading_control.py note_reason, the loop's timer flush,
and `tickbridge status` status().
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tickbridge.protocol import ConnectionState, RecordType, pack_record
from tickbridge.risk.reasons import TradingState

if TYPE_CHECKING:
    from tickbridge.engine.peers import Peers
    from tickbridge.engine.session import ShimSession

log = logging.getLogger("tickbridge.engine")

REFUSAL_CODE = "PLATFORM_NOT_CONNECTED"
_REASON_BYTES = 48  # TradingState.reason


@dataclass
class LinkState:
    """What one shim (by routing id) said of its platform, and what it was last told."""

    orders: ConnectionState | None = None  # None: no PlatformStatus since the hello
    prices: ConnectionState | None = None
    text: str = ""
    time_ns: int = 0
    told: TradingState | None = None  # the TradingState last sent since the hello
    told_reason: str = ""


def _state(value: int) -> ConnectionState:
    # A value this side does not know is treated as not connected (never as connected).
    try:
        return ConnectionState(value)
    except ValueError:
        return ConnectionState.UNKNOWN


def _fit(text: str, size: int) -> bytes:
    """UTF-8 cut at a character boundary to fit a text field (the reason is free text
    for a status line, not a key, so shortening it is harmless)."""
    data = text.encode()
    if len(data) <= size:
        return data
    return data[:size].decode("utf-8", "ignore").encode()


class PlatformLink:
    def __init__(self, *, peers: Peers, audit: Callable[..., None],
                 trading_state: Callable[[str | None], TradingState],
                 send: Callable[[ShimSession, list[bytes]], None]) -> None:
        self._peers = peers
        self._audit = audit
        self._trading_state = trading_state
        self._send = send
        self._links: dict[bytes, LinkState] = {}
        # Why each account's (None: every account's) state is what it is, as last set.
        self._reasons: dict[str | None, tuple[TradingState, str]] = {}
        self._due: set[bytes] = set()  # shims whose trading state is to be looked at
        self.refusals = 0

    def _link(self, session: ShimSession) -> LinkState:
        link = self._links.get(session.identity)
        if link is None:
            if len(self._links) > 2 * len(self._peers.sessions) + 16:
                # Forgotten peers' entries: dropped (bounded by the live sessions).
                live = self._peers.sessions
                self._links = {k: v for k, v in self._links.items() if k in live}
            link = self._links[session.identity] = LinkState()
        return link

    # -- PlatformStatus in ------------------------------------------------------------------
    def on_hello(self, session: ShimSession) -> None:
        """A (re)hello: a new platform session; nothing is known of its connection yet and
        its TradingState is due again."""
        self._links[session.identity] = LinkState()

    def on_status(self, session: ShimSession, rec: Any) -> None:
        link = self._link(session)
        when = int(rec["time_ns"])
        if when < link.time_ns:
            # Older than the one in force: a frame resent after a re-hello (which carried
            # the current status). Applying it would bring back a state that has passed.
            log.info("%s: PlatformStatus of %d older than the one in force; ignored",
                     session.name, when)
            return
        orders, prices = _state(int(rec["orders"])), _state(int(rec["prices"]))
        text = bytes(rec["text"]).rstrip(b"\0").decode("utf-8", "replace")
        changed = (orders, prices) != (link.orders, link.prices)
        was_allowed = self.orders_allowed(session)
        link.orders, link.prices, link.text = orders, prices, text
        link.time_ns = when
        if not changed:
            return
        allowed = self.orders_allowed(session)
        level = logging.INFO if allowed else logging.ERROR
        log.log(level, "%s: platform orders %s, prices %s%s%s", session.name, orders.name,
                prices.name, f" ({text})" if text else "",
                "" if allowed else "; new orders to it are refused" if was_allowed else "")
        self._audit("platform_status", shim=session.name, account=session.account,
                           orders=orders.name, prices=prices.name, text=text,
                           time_ns=link.time_ns, orders_refused=not allowed)
        self._peers.sync_armed(session)

    def orders_allowed(self, session: ShimSession) -> bool:
        link = self._links.get(session.identity)
        return link is None or link.orders in (None, ConnectionState.CONNECTED)

    def refusal(self, session: ShimSession) -> tuple[str, str] | None:
        """(code, sentence) when new orders to this shim must be refused, else None."""
        if self.orders_allowed(session):
            return None
        link = self._links[session.identity]
        assert link.orders is not None
        self.refusals += 1
        return REFUSAL_CODE, (f"{session.name}: the platform's order connection is "
                              f"{link.orders.name}{f' ({link.text})' if link.text else ''}; "
                              "new orders refused until it is CONNECTED")

    # -- TradingState out -------------------------------------------------------------------
    def note_reason(self, account: str | None, state: TradingState, reason: str) -> None:
        """Why `state` was set for an account (None: every account); sent with the next
        TradingState that tells that state."""
        self._reasons[account] = (state, reason)

    def _reason(self, account: str, state: TradingState) -> str:
        if state == TradingState.ACTIVE:
            return ""
        for scope in (account, None):  # the account's own, else the engine-wide one
            noted = self._reasons.get(scope)
            if noted is not None and noted[0] == state:
                return noted[1]
        return state.name

    def sync(self, session: ShimSession) -> None:
        """Marks the shim for a look at its trading state at the engine's next timer tick
        (flush). Deferred, not sent here: set_trading_state saves a state to disk before
        anyone is told it is in force, after it has re-derived every shim's switches."""
        self._due.add(session.identity)

    def flush(self) -> None:
        """Sends each shim marked by sync its account's trading state if that differs
        from what it was last told since its hello; only to a shim whose hello stands and
        that is there (a lost one is looked at again when it is back)."""
        due, self._due = self._due, set()
        for identity in due:
            session = self._peers.get(identity)
            if session is not None:
                self._tell(session)

    def _tell(self, session: ShimSession) -> None:
        if (not session.accepted or session.refused or session.lost or session.gone
                or session.replaced or not session.account):
            return
        state = self._trading_state(session.account)
        reason = self._reason(session.account, state)
        link = self._link(session)
        if link.told == state and link.told_reason == reason:
            return
        link.told, link.told_reason = state, reason
        self._send(session, [pack_record(
            RecordType.TRADING_STATE, time_ns=time.time_ns(), state=int(state),
            reason=_fit(reason, _REASON_BYTES))])
        log.info("%s told: trading state %s%s", session.name, state.name,
                 f" ({reason})" if reason else "")

    # -- tickbridge status ------------------------------------------------------------------
    def status(self, session: ShimSession) -> dict[str, Any]:
        link = self._links.get(session.identity) or LinkState()
        return {
            "orders": link.orders.name if link.orders is not None else None,
            "prices": link.prices.name if link.prices is not None else None,
            "text": link.text,
            "orders_refused": not self.orders_allowed(session),
            "told": link.told.name if link.told is not None else None,
        }
