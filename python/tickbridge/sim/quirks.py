"""The awkward event orders real platforms produce, switchable so an engine can be tested
against each of them (DESIGN, "Lessons": match by client order id, not by arrival order).

- ``update_before_ack``: NinjaTrader calls OnOrderUpdate from inside
  SubmitOrderUnmanaged, before the call returns, so the shim reports the order's WORKING
  update before the submit's CommandAck. Modelled by holding a Submit's CommandAck until
  the order's first update past ACKNOWLEDGED (WORKING, a fill, a cancel) has gone out.
- ``fill_before_working``: with some brokers the execution callback of an order that
  fills on arrival overtakes its WORKING update. Modelled by moving an order's Fill ahead
  of its WORKING update when both are in one batch of events.

Both work on the matching engine's event lists, before they become records, so Position
records (added after each Fill) travel with their Fill.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickbridge.protocol import OrderStatus, RecordType
from tickbridge.sim.matching import Ack, Event, Execution, Update


@dataclass(frozen=True)
class QuirkConfig:
    update_before_ack: bool = False
    fill_before_working: bool = False

    @classmethod
    def parse(cls, names: list[str]) -> QuirkConfig:
        """From CLI names: 'update-before-ack', 'fill-before-working', 'all', 'none'."""
        chosen = set()
        for name in names:
            for part in name.split(","):
                part = part.strip().replace("_", "-")
                if part == "all":
                    chosen |= set(QUIRK_NAMES)
                elif part in ("none", ""):
                    continue
                elif part in QUIRK_NAMES:
                    chosen.add(part)
                else:
                    raise ValueError(
                        f"unknown quirk {part!r}; choose from {', '.join(QUIRK_NAMES)}, all, none"
                    )
        return cls(**{QUIRK_NAMES[n]: True for n in chosen})


QUIRK_NAMES = {
    "update-before-ack": "update_before_ack",
    "fill-before-working": "fill_before_working",
}


class Quirks:
    """Reorders batches of events; stateful because a held ack may wait for a later batch
    (the WORKING update arrives after the order latency)."""

    def __init__(self, config: QuirkConfig) -> None:
        self.config = config
        self._held_acks: dict[int, list[Ack]] = {}

    @property
    def held(self) -> int:
        return sum(len(acks) for acks in self._held_acks.values())

    def apply(self, events: list[Event]) -> list[Event]:
        if self.config.fill_before_working:
            events = _fills_first(events)
        if self.config.update_before_ack:
            events = self._acks_after_updates(events)
        return events

    def _acks_after_updates(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, Ack) and event.command_type == RecordType.SUBMIT:
                self._held_acks.setdefault(event.client_order_id, []).append(event)
                continue
            out.append(event)
            if isinstance(event, Update) and event.order.status != OrderStatus.ACKNOWLEDGED:
                out += self._held_acks.pop(event.order.client_order_id, [])
        return out


def _fills_first(events: list[Event]) -> list[Event]:
    """Moves each order's first Execution ahead of its WORKING update in the same batch."""
    out = list(events)
    for index, event in enumerate(events):
        if not (isinstance(event, Update) and event.order.status == OrderStatus.WORKING):
            continue
        coid = event.order.client_order_id
        for later in range(index + 1, len(events)):
            candidate = events[later]
            if isinstance(candidate, Execution) and candidate.order.client_order_id == coid:
                out.remove(candidate)
                out.insert(out.index(event), candidate)
                break
    return out
