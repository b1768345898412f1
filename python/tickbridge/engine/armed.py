"""Orders armed on a price trigger, sent from the compiled tick path when it fires.

The trigger, the order it sends and the pre-trade check live in the C++ core
(cpp/include/tickbridge/engine/armed_orders.hpp): the Submit leaves before any Python
runs. This module arms them with everything checked that can be checked at arm time
(instrument, quantity, tick grid, the gate's ids, the exchange session window), and books
each fire after the send: the pending command, the store, the audit record, the
strategy's ``on_armed``. A fire the core could not decide (deferred) goes through the
engine's full Python checks, exactly as ``ctx.buy``/``ctx.sell`` would.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tickbridge.engine.bus import ArmedOrderFired, EventBus, TransitionApplied
from tickbridge.engine.events import ArmedFired
from tickbridge.engine.order_checks import off_grid, order_problem
from tickbridge.engine.session import PendingCommand
from tickbridge.protocol import OrderType, RecordType, Side, TimeInForce
from tickbridge.risk.reasons import RiskReason

if TYPE_CHECKING:
    from tickbridge.engine.session import Instrument, ShimSession

log = logging.getLogger("tickbridge.engine")

SENT, DEFERRED, REFUSED = 0, 1, 2
SUBMIT_SIZE = 56  # bytes of one Submit record
_NEVER = (0, 0)  # an empty session window: every fire goes to the Python checks


class Router(Protocol):
    """What armed orders need of the order router (orders.py, which owns them)."""

    def route(self, symbol: str) -> tuple[ShimSession, Instrument] | None: ...
    def instrument(self, symbol: str) -> Instrument: ...
    def own(self, coid: int, strategy: str) -> None: ...
    def refuse(self, strategy: str, symbol: str, code: str, text: str) -> str: ...
    def submit(self, *, strategy: str, symbol: str, side: Side, quantity: int,
               order_type: OrderType, price: float, stop_price: float,
               tif: TimeInForce) -> int | str: ...


@dataclass(frozen=True)
class ArmSpec:
    strategy: str
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    price: float  # NaN for market and stop orders
    stop_price: float  # NaN unless a stop
    tif: TimeInForce
    level: float
    above: bool


class ArmedOrders:
    def __init__(self, *, router: Router, core: Any, risk: Any, bus: EventBus,
                 audit: Callable[..., None],
                 session_by_slot: Callable[[int], ShimSession]) -> None:
        self._router = router
        self._core = core
        self._risk = risk
        self._bus = bus
        self._audit = audit
        self._session_by_slot = session_by_slot
        # arm id -> (spec, the core.arm arguments); the ones that fired in the frame
        # being booked stay re-armable until the next frame's fires.
        self._specs: dict[int, tuple[ArmSpec, tuple]] = {}
        self._fired: dict[int, tuple[ArmSpec, tuple]] = {}
        self.sent = 0  # fired from the tick path
        self.deferred = 0  # fired, then routed through the Python checks

    def __len__(self) -> int:
        return len(self._specs)

    def add_trigger(self, symbol: str, level: float, above: bool) -> int:
        return self._core.add_trigger(self._router.instrument(symbol).slot, level, above)

    def clear_triggers(self, symbol: str) -> None:
        """The symbol's triggers, and the orders armed on them, go."""
        self._core.clear_triggers(self._router.instrument(symbol).slot)
        self.forget_symbol(symbol)

    def arm(self, spec: ArmSpec) -> int | str:
        """The armed order's id, or why it cannot be armed (nothing armed then; the
        refusal is counted and audited like any order refused before it left)."""
        result = self._checked_arm(spec)
        if isinstance(result, str):
            self._router.refuse(spec.strategy, spec.symbol, "NOT_ARMED", result)
        return result

    def _checked_arm(self, spec: ArmSpec) -> int | str:
        route = self._router.route(spec.symbol)
        if route is None:
            return f"unknown instrument {spec.symbol!r}"
        session, instrument = route
        problem = order_problem(spec.symbol, instrument.tick_size, spec.quantity,
                                spec.order_type, spec.price, spec.stop_price)
        if problem is None and self._risk is None:  # else the gate's tick policy decides
            problem = off_grid("price", spec.price, spec.symbol, instrument.tick_size)
        if problem is not None:
            return problem.message
        if not math.isfinite(spec.level):
            return f"trigger level {spec.level} is not a finite price"
        risk_ids, window = gate_ids(self._risk, self._core, spec.symbol, session.account,
                                    instrument.slot)
        # Positional, in the binding's order: a re-arm repeats the call as it is.
        args = (instrument.slot, spec.level, spec.above, session.slot,
                instrument.instrument_id, session.account, spec.symbol, int(spec.side),
                int(spec.order_type), int(spec.tif), int(spec.quantity), spec.price,
                spec.stop_price, risk_ids is not None, risk_ids[0] if risk_ids else 0,
                risk_ids[1] if risk_ids else 0, window[0], window[1],
                self._risk is not None and self._risk.clock == "market")
        return self._arm(spec, args, rearm_of=None)

    def rearm(self, arm_id: int) -> int | str:
        """The same order on the same trigger again, for an armed order that has just
        fired (from ``on_armed``): nothing is looked up or checked twice."""
        armed = self._fired.get(arm_id)
        if armed is None:
            return f"armed order {arm_id} has not just fired"
        return self._arm(*armed, rearm_of=arm_id)

    def _arm(self, spec: ArmSpec, args: tuple, rearm_of: int | None) -> int:
        arm_id = self._core.arm(*args)
        self._specs[arm_id] = (spec, args)
        self._audit(
            "order_armed", arm_id=arm_id, rearm_of=rearm_of, strategy=spec.strategy,
            symbol=spec.symbol, side=spec.side.name, quantity=spec.quantity,
            order_type=spec.order_type.name, price=_json(spec.price),
            stop_price=_json(spec.stop_price), level=spec.level, above=spec.above)
        return arm_id

    def disarm(self, arm_id: int) -> bool:
        if self._specs.pop(arm_id, None) is None:
            return False
        self._core.disarm(arm_id)
        self._audit("order_disarmed", arm_id=arm_id)
        return True

    def forget_symbol(self, symbol: str) -> None:
        """The core dropped the symbol's armed orders (clear_triggers)."""
        for arm_id in [i for i, (s, _) in self._specs.items() if s.symbol == symbol]:
            del self._specs[arm_id]

    # -- after a fire ------------------------------------------------------------------
    def on_fired(self, fired: list[Any]) -> None:
        """Books the fires of one frame (engine.FiredOrder), after the Sent ones'
        Submits have gone out."""
        router = self._router
        self._fired.clear()
        for f in fired:
            arm_id, outcome, risk_reason, slot = f.trigger_id, f.outcome, f.risk_reason, f.session
            coid, request_id, price, ts = f.client_order_id, f.request_id, f.price, f.ts
            trade_ns, trade_price = f.trade_time_ns, f.trade_price
            armed = self._specs.pop(arm_id, None)
            if armed is None:
                continue  # disarmed in the same frame
            self._fired[arm_id] = armed
            spec = armed[0]
            reason = ""
            if outcome == SENT:
                self.sent += 1
                session = self._session_by_slot(slot)
                session.pending[request_id] = PendingCommand(
                    request_id, RecordType.SUBMIT, coid, time.monotonic())
                router.own(coid, spec.strategy)
                self._bus.publish(TransitionApplied(coid, "SUBMIT_SENT", "NEW_REQUESTED", ts))
                self._audit("order_submit", client_order_id=coid, strategy=spec.strategy,
                             symbol=spec.symbol, side=spec.side.name, quantity=spec.quantity,
                             order_type=spec.order_type.name, price=_json(price),
                             stop_price=_json(spec.stop_price), armed=arm_id)
                result: int | str = coid
            elif outcome == REFUSED:
                reason = self._refusal_text(spec, RiskReason(risk_reason))
                result = router.refuse(spec.strategy, spec.symbol,
                                        RiskReason(risk_reason).name, reason)
            else:
                self.deferred += 1
                result = router.submit(
                    strategy=spec.strategy, symbol=spec.symbol, side=spec.side,
                    quantity=spec.quantity, order_type=spec.order_type, price=spec.price,
                    stop_price=spec.stop_price, tif=spec.tif)
            if isinstance(result, str):
                reason = result
            self._bus.publish(ArmedOrderFired(spec.strategy, ArmedFired(
                arm_id=arm_id, symbol=spec.symbol, time_ns=trade_ns, price=trade_price,
                client_order_id=result if isinstance(result, int) else None, reason=reason,
                compiled=outcome == SENT)))

    def _refusal_text(self, spec: ArmSpec, reason: RiskReason) -> str:
        """The gate's own sentence, from a what-if check of the same order."""
        risk = self._risk
        if risk is None:
            return reason.name
        route = self._router.route(spec.symbol)
        if route is None:
            return reason.name
        session, instrument = route
        check = risk.check(session.account, spec.symbol, spec.side, spec.quantity,
                           spec.order_type, spec.price, self._core.state(instrument.slot),
                           commit=False)
        return check.message or reason.name


def gate_ids(risk: Any, core: Any, symbol: str, account: str, slot: int
             ) -> tuple[tuple[int, int] | None, tuple[int, int]]:
    """The compiled gate's (account, instrument) ids of an order the core will place, and
    the exchange session window open now; None ids when the gate does not know them (the
    core then leaves the order to the Python checks, which refuse it in words)."""
    if risk is None:
        return (0, 0), (-(2**63), 2**63 - 1)
    configured = risk.map_symbol(symbol)
    gate = risk.gate
    if configured is None or account not in gate.account_ids:
        return None, _NEVER
    window = risk.session_window(symbol, core.state(slot)) or _NEVER
    return (gate.account_ids[account], gate.instrument_ids[configured]), window


def _json(value: float) -> Any:
    return None if math.isnan(value) else value
