"""The state of one shim link, as two explicit transition tables (like the order table).

*Admission* is what the engine has decided about the peer: nothing yet, its hello
refused, waiting for an account another peer holds, accepted, confirmed by the
platform's first snapshot (only then does an engine with a risk gate route its orders),
or replaced by its own reconnect. *Liveness* is whether it is heard from: live, or lost
(silent too long, dropped for a malformed frame, or its outbox overflowed).

Whether its connection is still open (routable) is not a state of the link but a fact
the socket reports on a send (``ShimSession.gone``); it only decides whether a held
account may be given to a newcomer.

A pair missing from a table is a bug in the caller, surfaced (logged) and not applied:
the state stays what it was.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import TypeVar

log = logging.getLogger("tickbridge.engine")
S = TypeVar("S")
E = TypeVar("E")


class Admission(Enum):
    NEW = "new"  # connected, no hello yet (or a new peer session without one)
    REFUSED = "refused"  # hello refused: never traded, forgettable
    WAITING = "waiting"  # hello for an account another live peer holds: looked at again
    ACCEPTED = "accepted"  # hello accepted; its platform's snapshot not yet compared
    CONFIRMED = "confirmed"  # the snapshot since its hello compared: orders routed
    REPLACED = "replaced"  # its own reconnect took over: it speaks for nobody now


class AdmissionEvent(Enum):
    HELLO_ACCEPTED = "hello accepted"
    HELLO_REFUSED = "hello refused"
    ACCOUNT_HELD = "account held by another peer"
    SNAPSHOT_COMPARED = "snapshot compared"
    PEER_CHANGED = "frames of a new peer session without a hello"
    TAKEN_OVER = "its reconnect took over"


# A hello is judged afresh whatever came before it (a reconnect, a changed account, a
# replaced link speaking again: the one that replaced it then holds the account).
_ANY = tuple(Admission)

ADMISSION: dict[tuple[Admission, AdmissionEvent], Admission] = {
    **{(s, AdmissionEvent.HELLO_ACCEPTED): Admission.ACCEPTED for s in _ANY},
    **{(s, AdmissionEvent.HELLO_REFUSED): Admission.REFUSED for s in _ANY},
    **{(s, AdmissionEvent.ACCOUNT_HELD): Admission.WAITING for s in _ANY},
    (Admission.ACCEPTED, AdmissionEvent.SNAPSHOT_COMPARED): Admission.CONFIRMED,
    (Admission.CONFIRMED, AdmissionEvent.SNAPSHOT_COMPARED): Admission.CONFIRMED,
    (Admission.ACCEPTED, AdmissionEvent.PEER_CHANGED): Admission.NEW,
    (Admission.CONFIRMED, AdmissionEvent.PEER_CHANGED): Admission.NEW,
    **{(s, AdmissionEvent.TAKEN_OVER): Admission.REPLACED
       for s in (Admission.ACCEPTED, Admission.CONFIRMED)},
}


class Liveness(Enum):
    LIVE = "live"
    LOST = "lost"


class LivenessEvent(Enum):
    FRAME = "a frame arrived"
    SILENT = "silent too long"
    DROPPED = "dropped for a malformed frame"
    OUTBOX_FULL = "outbox full"


LIVENESS: dict[tuple[Liveness, LivenessEvent], Liveness] = {
    (Liveness.LIVE, LivenessEvent.FRAME): Liveness.LIVE,
    (Liveness.LOST, LivenessEvent.FRAME): Liveness.LIVE,
    **{(s, e): Liveness.LOST for s in Liveness
       for e in (LivenessEvent.SILENT, LivenessEvent.DROPPED, LivenessEvent.OUTBOX_FULL)},
}


def next_state(table: dict[tuple[S, E], S], state: S, event: E, who: str) -> S:
    """The table's answer, or (a pair it does not list) the state unchanged, logged."""
    after = table.get((state, event))
    if after is None:
        log.error("%s: link event %r in state %r is not in the link-state table; ignored",
                  who, getattr(event, "value", event), getattr(state, "value", state))
        return state
    return after
