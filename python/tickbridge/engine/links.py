"""Who a peer is and whether it is heard from: hello, admission, loss, drop.

The link state of each session moves here and only here, through the tables of
link_state.py. An account has at most one accepted peer: a second hello for it is held
(WAITING) while the first is reachable, never a takeover; a reconnect of the same peer
session (or, with CURVE, of the same key after it was lost) replaces the old link.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge.engine.link_state import AdmissionEvent, LivenessEvent
from tickbridge.engine.peers import Peers
from tickbridge.engine.session import HeaderRefused, ShimSession
from tickbridge.engine.shim_auth import AccountKeys, account_held, check_key
from tickbridge.protocol import Platform, ProtocolError

if TYPE_CHECKING:
    from tickbridge.config.models import TickbridgeConfig
    from tickbridge.engine.outbound import Outbound
    from tickbridge.engine.settings import EngineSettings

log = logging.getLogger("tickbridge.engine")


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class Links:
    def __init__(self, *, peers: Peers, outbound: Outbound, settings: EngineSettings,
                 config: TickbridgeConfig | None, account_keys: AccountKeys | None,
                 audit: Callable[..., None],
                 routed: Callable[[ShimSession], bool]) -> None:
        self._peers = peers
        self._outbound = outbound
        self._settings = settings
        self._config = config
        self._account_keys = account_keys
        self._audit = audit
        self._routed = routed  # whether a route (so an order or armed order) uses it
        # Told when an accepted link is lost (the trading control's automatic kill).
        self.on_lost: Callable[[ShimSession], None] = lambda session: None
        # Told when a hello is accepted (the snapshot request, the trading state).
        self.on_accepted: Callable[[ShimSession], None] = lambda session: None
        self.protocol_errors = 0
        # Malformed frames reported one by one in the current second, and those counted
        # only (settings.protocol_error_audits_per_s).
        self._error_window_end = 0.0
        self._error_reports = 0
        self.errors_suppressed = 0

    # -- admission -----------------------------------------------------------------
    def on_hello(self, session: ShimSession, rec: Any) -> None:
        platform = int(rec["platform"])
        session.platform = Platform(platform) if platform in (1, 2, 3) else None
        session.account = _text(rec["account"])
        session.simulated = bool(rec["simulated"])
        session.platform_version = _text(rec["platform_version"])
        session.heartbeat_ms = int(rec["heartbeat_interval_ms"]) or self._settings.heartbeat_ms
        session.instruments.clear()
        mode = "simulated" if session.simulated else "LIVE"
        log.info("hello from %s (%s, %s account%s)", session.name, session.platform_version,
                 mode, f", key {session.curve_key}" if session.curve_key else "")
        self.admit(session)

    def admit(self, session: ShimSession, *, retry: bool = False) -> None:
        """Accepts the hello just received, or refuses it (audited). `retry`: a hello
        held because its account was, looked at again; silent unless taken."""
        refusal = None
        if self._config is not None:
            from tickbridge.risk.mode import check_hello

            refusal = check_hello(self._config, session.account, session.simulated)
        if refusal is None and self._account_keys is not None:
            refusal = check_key(self._account_keys, session.account, session.curve_key)
        holder = self._holder(session) if refusal is None else None
        if holder is not None:
            refusal = account_held(session.account, holder.name)
        if refusal is not None:
            if retry and holder is not None:
                return  # still held: still waiting, silently
            session.refusal = str(refusal)
            session.admit(AdmissionEvent.ACCOUNT_HELD if holder is not None
                          else AdmissionEvent.HELLO_REFUSED)
            self._peers.sync_armed(session)
            if retry:
                return
            log.error("%s refused at hello: %s", session.name, refusal)
            self._audit("hello_refused", shim=session.name, account=session.account,
                        simulated=session.simulated, code=refusal.code,
                        reason=refusal.message, key=session.curve_key or None)
            return
        session.refusal = ""
        session.admit(AdmissionEvent.HELLO_ACCEPTED)
        self._peers.sync_armed(session)
        self._audit("hello", shim=session.name, platform=session.platform.name
                    if session.platform else None, account=session.account,
                    simulated=session.simulated, version=session.platform_version)
        session.ack_due = True
        self.on_accepted(session)

    def _holder(self, session: ShimSession) -> ShimSession | None:
        """Another peer whose hello for the same account was accepted and that still holds
        it: connected, or silent ("lost") but not known to be gone. A peer that is back
        with the same peer session on a new connection (a reconnect) replaces it; so does,
        with CURVE, a lost one's own key. Otherwise the newcomer is held: never a
        takeover."""
        for other in self._peers:
            if (other is session or not other.accepted or other.gone
                    or other.account != session.account):
                continue
            resumed = other.peer_session_id != 0 and \
                other.peer_session_id == session.peer_session_id
            same_key_lost = other.lost and other.curve_key != "" and \
                other.curve_key == session.curve_key
            if resumed or same_key_lost:
                why = "same peer session" if resumed else "same key, it was lost"
                other.admit(AdmissionEvent.TAKEN_OVER)
                log.warning("%s replaces %s (%s)", session.name, other.name, why)
                self._audit("shim_replaced", shim=other.name, by=session.name,
                            why="same peer session" if resumed else "same key, lost")
                self._peers.sync_armed(other)
                continue
            if not self._outbound.reachable(other):
                continue
            return other
        return None

    def confirm(self, session: ShimSession) -> None:
        """The platform's snapshot since its hello has been compared with the engine's
        picture: an engine with a risk gate routes its orders from now on."""
        if session.confirmed:
            return
        session.admit(AdmissionEvent.SNAPSHOT_COMPARED)
        log.info("%s: positions confirmed by the platform's snapshot; orders accepted",
                 session.name)
        self._audit("positions_confirmed", shim=session.name, account=session.account,
                    positions=dict(session.platform_positions))
        self._peers.sync_armed(session)

    def peer_changed(self, session: ShimSession, sequence: int) -> None:
        """Frames of a peer session other than the one whose hello was accepted (a
        restarted shim says hello first; another process may reuse a departed peer's
        routing id): nothing it says counts until it says hello."""
        session.admit(AdmissionEvent.PEER_CHANGED)
        self._peers.sync_armed(session)
        log.error("%s: frame %d of an unknown peer session without a hello; "
                  "ignored until it says hello", session.name, sequence)
        self._audit("peer_session_changed", shim=session.name, sequence=sequence)

    # -- liveness ------------------------------------------------------------------
    def heard(self, session: ShimSession) -> None:
        """A frame came from it: its connection is open, and a lost link is back."""
        session.last_rx = time.monotonic()
        session.gone = False
        if session.lost:
            session.hear(LivenessEvent.FRAME)
            log.warning("%s is back", session.name)
            self._audit("shim_back", shim=session.name)
            self._peers.sync_armed(session)

    def mark_lost(self, session: ShimSession, why: str,
                  event: LivenessEvent = LivenessEvent.SILENT) -> None:
        session.hear(event)
        self._peers.sync_armed(session)
        pump = self._peers.pump
        if pump is not None:  # its next frame: Python's, to see it back first
            pump.set_peer(session.slot, 0, 0)
            session.pump_view = (0, 0)
        if not session.accepted:
            # It spoke for no account (refused, never said hello, or taken over by its
            # own reconnect): its silence is nobody's loss.
            log.info("%s: %s", session.name, why)
            return
        log.error("%s: %s; shim lost", session.name, why)
        self._audit("shim_lost", shim=session.name, reason=why)
        self.on_lost(session)

    def key_changed(self, session: ShimSession, key: str) -> None:
        """A frame on a known routing id from another CURVE key: dropped, audited; the
        session keeps its key (its account is not the newcomer's)."""
        session.key_mismatches += 1
        if session.key_mismatches == 1:  # once per session: a flood is not an audit flood
            log.error("%s: a frame from key %s on the routing id of key %s; ignored "
                      "(and every such frame after it)", session.name, key or "none",
                      session.curve_key or "none")
            self._audit("peer_key_mismatch", shim=session.name, key=key,
                        expected=session.curve_key)

    # -- malformed frames ------------------------------------------------------------
    def drop(self, session: ShimSession, error: ProtocolError | HeaderRefused) -> None:
        self.protocol_errors += 1
        self._report(session, error)
        self._peers.remove(session)
        session.hear(LivenessEvent.DROPPED)  # nothing more is sent to it from the tick path
        self._peers.sync_armed(session)
        if self.may_forget(session):
            # Nothing refers to a peer that never completed a hello: its slot is reused
            # by the next new peer, so garbage from new identities costs no memory.
            self._peers.forget(session)

    def may_forget(self, session: ShimSession) -> bool:
        """No hello completed, and no route (so no order or armed order) uses its slot:
        a shim refused at a second hello may still be the route of its first's symbols."""
        return session.forgettable() and not self._routed(session)

    def _report(self, session: ShimSession, error: ProtocolError | HeaderRefused) -> None:
        """Logged and audited one by one up to protocol_error_audits_per_s; beyond that
        counted, and the count audited once a second (flush_suppressed)."""
        now = time.monotonic()
        if now >= self._error_window_end:
            self.flush_suppressed()
            self._error_window_end = now + 1.0
            self._error_reports = 0
        if self._error_reports >= self._settings.protocol_error_audits_per_s:
            self.errors_suppressed += 1
            return
        self._error_reports += 1
        log.error("%s: malformed frame: %s; peer dropped, it must say hello again",
                  session.name, error)
        self._audit("protocol_error", shim=session.name, code=error.code.name,
                    offset=error.offset, reason=str(error))

    def flush_suppressed(self, now: float | None = None) -> None:
        if not self.errors_suppressed or (now is not None and now < self._error_window_end):
            return
        log.error("%d more malformed frames in the last second (not logged one by one)",
                  self.errors_suppressed)
        self._audit("protocol_errors_suppressed", count=self.errors_suppressed,
                    limit_per_s=self._settings.protocol_error_audits_per_s)
        self.errors_suppressed = 0
