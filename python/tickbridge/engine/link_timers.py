"""What each link does on the clock: heartbeats, silence, unanswered commands, snapshots.

Called from the loop at most every 5 ms. Per session, in order: a peer that never
completed a hello and is silent is forgotten; frames now durable move the acknowledgement;
the outbox is flushed; a snapshot is asked for on the reconciliation timer or after a
doubt (backed off, then abandoned); a heartbeat goes when one is due; a held account is
looked at again; a silent peer is lost; commands past their timeout are a doubt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tickbridge.engine.session import PendingCommand, ShimSession
from tickbridge.protocol import RecordType

if TYPE_CHECKING:
    from tickbridge.engine.links import Links
    from tickbridge.engine.outbound import Outbound
    from tickbridge.engine.peers import Peers
    from tickbridge.engine.settings import EngineSettings

log = logging.getLogger("tickbridge.engine")


def _oldest(pending: dict[int, PendingCommand], before: float
            ) -> Iterator[tuple[int, PendingCommand]]:
    """The commands sent before ``before`` (monotonic s), oldest first (insertion order):
    stops at the first still in time, so a long queue costs nothing per tick."""
    for request_id, command in pending.items():
        if command.sent_monotonic >= before:
            return
        yield request_id, command


class LinkTimers:
    def __init__(self, *, peers: Peers, links: Links, outbound: Outbound,
                 settings: EngineSettings, audit: Callable[..., None]) -> None:
        self._peers = peers
        self._links = links
        self._outbound = outbound
        self._settings = settings
        self._audit = audit

    def tick(self, now: float) -> None:
        self._links.flush_suppressed(now)
        for session in self._peers:
            if self._forgotten(session, now):
                continue
            if session.unsynced and session.settle_durable():
                session.ack_due = True
            if session.outbox:
                self._outbound.flush(session)
            self._snapshots(session, now)
            self._heartbeat(session, now)
            if (session.waiting_for_account and not session.lost and not session.gone
                    and now - session.admit_retried >= 1.0):
                # Is the account's holder gone now? Once a second: each look sends the
                # holder a heartbeat (an unroutable one says its connection is closed).
                session.admit_retried = now
                self._links.admit(session, retry=True)
            silent = now - session.last_rx
            if not session.lost and silent > (session.heartbeat_ms / 1000
                                              * self._settings.silence_intervals):
                self._links.mark_lost(session, f"nothing received for {silent:.1f} s")
            self._timeouts(session, now)

    def _forgotten(self, session: ShimSession, now: float) -> bool:
        if now - session.last_rx <= self._settings.peer_forget_s or \
                not self._links.may_forget(session):
            return False
        log.info("%s: no hello completed, silent for %.0f s; forgotten",
                 session.name, now - session.last_rx)
        self._audit("peer_forgotten", shim=session.name, refused=session.refused,
                    frames=session.frames)
        self._peers.forget(session)
        return True

    def _snapshots(self, session: ShimSession, now: float) -> None:
        interval = self._settings.snapshot_interval_s
        if (interval > 0 and session.accepted and not session.lost
                and session.snapshot_misses < self._settings.snapshot_attempts
                and now - session.snapshot_requested >= interval):
            self._outbound.request_snapshot(session)  # reconciliation on a timer
        if session.snapshot_due and now >= session.snapshot_due:
            if now - session.snapshot_requested < 0.5:  # request_snapshot's own pace
                session.snapshot_due = session.snapshot_requested + 0.5
            else:
                session.snapshot_due = 0.0
                self._outbound.request_snapshot(session)  # after a doubt, backed off

    def _heartbeat(self, session: ShimSession, now: float) -> None:
        # At the faster of the two intervals: the shim judges our silence by its own.
        beat = min(session.heartbeat_ms, self._settings.heartbeat_ms) / 1000
        if session.ack_due or now - session.last_tx >= beat:
            self._outbound.send(session, [])

    def _timeouts(self, session: ShimSession, now: float) -> None:
        timeout = self._settings.command_timeout_ms / 1000
        attempts = self._settings.snapshot_attempts
        for request_id, pending in list(_oldest(session.pending, now - timeout)):
            del session.pending[request_id]
            log.error("%s: no answer to %s %d after %.1f s; snapshot requested",
                      session.name, pending.command.name, request_id, timeout)
            self._audit("command_timeout", shim=session.name, command=pending.command.name,
                        request_id=request_id)
            if pending.command == RecordType.SNAPSHOT_REQUEST:
                session.snapshot_misses += 1
                if session.snapshot_misses == attempts:
                    log.error("%s: %d snapshot requests unanswered; no more are sent "
                              "until it answers", session.name, attempts)
                    self._audit("snapshot_abandoned", shim=session.name, attempts=attempts)
            misses = session.snapshot_misses
            if misses >= attempts:
                session.snapshot_due = 0.0  # stop: nobody there, or nobody answering
            elif not session.snapshot_due:
                # Backs off: at once after a first doubt, then timeout * 1, 2, 4...
                session.snapshot_due = now + (timeout * 2 ** (misses - 2) if misses > 1
                                              else 0.0)
