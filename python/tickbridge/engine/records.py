"""Where each record a shim sends goes: one handler per record type.

Nothing but a hello counts from a peer whose hello was not accepted (docs/security.md):
a peer that may not speak for an account cannot move its orders, fills, positions or
routes. Every record that changes the engine's picture makes the frame's acknowledgement
due (it is sent once the frame's order events are on disk).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge.engine.session import Instrument, ShimSession
from tickbridge.protocol import RecordType

if TYPE_CHECKING:
    from tickbridge.engine.flatten_orders import FlattenOrders
    from tickbridge.engine.links import Links
    from tickbridge.engine.orders import OrderRouter
    from tickbridge.engine.platform_link import PlatformLink
    from tickbridge.engine.reconciliation import Reconciler

log = logging.getLogger("tickbridge.engine")

Handler = Callable[[ShimSession, Any], None]


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class RecordDispatch:
    def __init__(self, *, core: Any, links: Links, router: OrderRouter,
                 platform_link: PlatformLink,
                 reconciler: Reconciler, compared: Callable[[ShimSession], None],
                 on_instrument: Callable[[str], None],
                 flatten: FlattenOrders | None = None) -> None:
        self._compared = compared
        self._flatten = flatten  # the platform's flatten orders: booked there, live or not
        self._platform_link = platform_link
        self._core = core
        self._links = links
        self._router = router
        self._reconciler = reconciler
        self._on_instrument = on_instrument
        # (handler, whether the record makes the acknowledgement due)
        self._handlers: dict[RecordType, tuple[Handler, bool]] = {
            RecordType.INSTRUMENT_DEFINITION: (self._definition, False),
            # Liveness is any frame; the peer's ack_sequence matters to shims only.
            RecordType.HEARTBEAT: (lambda session, rec: None, False),
            RecordType.COMMAND_ACK: (self._answer, True),
            RecordType.COMMAND_REJECT: (self._answer, True),
            RecordType.ORDER_UPDATE: (self._order_update, True),
            RecordType.FILL: (self._fill, True),
            RecordType.POSITION: (reconciler.on_position, True),
            RecordType.SNAPSHOT_BOUNDARY: (self._snapshot_boundary, True),
            RecordType.ACCOUNT: (lambda session, rec: None, True),
            RecordType.PLATFORM_STATUS: (platform_link.on_status, True),
        }

    def __call__(self, session: ShimSession, rtype: RecordType, rec: Any) -> None:
        if rtype == RecordType.HELLO:
            self._platform_link.on_hello(session)  # a new platform session: nothing known
            self._links.on_hello(session, rec)
            return
        if not session.accepted:
            if session.ignored == 0:
                log.warning("%s: %s before an accepted hello; ignored (and what follows)",
                            session.name, rtype.name)
            session.ignored += 1
            return
        entry = self._handlers.get(rtype)
        if entry is None:
            log.warning("%s sent %s, which only the engine sends; ignored",
                        session.name, rtype.name)
            return
        handler, acknowledged = entry
        if acknowledged:
            session.ack_due = True
        handler(session, rec)

    def _definition(self, session: ShimSession, rec: Any) -> None:
        symbol = _text(rec["symbol"])
        instrument = Instrument(
            instrument_id=int(rec["instrument_id"]), symbol=symbol,
            tick_size=float(rec["tick_size"]), point_value=float(rec["point_value"]),
            slot=self._core.define_instrument(session.slot, int(rec["instrument_id"]), symbol),
        )
        if not (instrument.tick_size > 0 and instrument.point_value > 0):
            log.error("%s: instrument %s has tick size %s and point value %s; not tradable",
                      session.name, symbol, instrument.tick_size, instrument.point_value)
            return
        session.instruments[instrument.instrument_id] = instrument
        self._router.define(session, instrument)
        log.info("%s defines %s (tick %g, point value %g)", session.name, symbol,
                 instrument.tick_size, instrument.point_value)
        self._on_instrument(symbol)

    def _answer(self, session: ShimSession, rec: Any) -> None:
        self._router.events.on_command_answer(session, RecordType(int(rec["type"])), rec)

    def _order_update(self, session: ShimSession, rec: Any) -> None:
        if self._flatten is not None and self._flatten.on_order(session, rec):
            return
        if not self._reconciler.on_order_update(session, rec):  # a snapshot's, or unknown
            self._router.events.on_order_update(session, rec)

    def _fill(self, session: ShimSession, rec: Any) -> None:
        # A snapshot's fills, a flatten's included, are booked at its end in the order the
        # platform lists them (the reconciler's book_fill hook passes a flatten's to
        # FlattenOrders): what others hold is counted before a closing fill is split.
        if self._reconciler.on_fill(session, rec):
            return
        if self._flatten is not None and self._flatten.on_fill(session, rec):
            return
        self._router.events.on_fill(session, rec)

    def _snapshot_boundary(self, session: ShimSession, rec: Any) -> None:
        if self._reconciler.on_snapshot_boundary(session, rec):
            self._compared(session)
