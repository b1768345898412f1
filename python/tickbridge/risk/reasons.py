"""Reason codes and trading states, mirroring cpp/include/tickbridge/risk/gate.hpp, and
the one pre-trade decision type (``RiskDecision``).

The numbers are logged and audited: never renumber, only append (a test compares them
with the compiled enums).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum


class RiskReason(IntEnum):
    OK = 0
    INVALID_ORDER = 1
    NOT_ALLOWED = 2
    SESSION_CLOSED = 3
    TRADING_HALTED = 4
    REDUCING_ONLY = 5
    DAILY_LOSS = 6
    MAX_ORDER_SIZE = 7
    OFF_TICK = 8
    STALE_MARKET_DATA = 9
    PRICE_BAND = 10
    POSITION_LIMIT = 11
    ACCOUNT_POSITION_LIMIT = 12
    RATE_LIMIT = 13


class TradingState(IntEnum):
    ACTIVE = 0
    REDUCING_ONLY = 1
    HALTED = 2


class TickPolicy(IntEnum):
    REJECT = 0
    ROUND_PASSIVE = 1


class BandBasis(IntEnum):
    LAST_TRADE = 0
    MID = 1


class BandUnit(IntEnum):
    TICKS = 0
    PERCENT = 1


def wire_reject_reason(reason: RiskReason) -> int:
    """The protocol's RejectReason for a refused order: the specific code where the wire has
    one (session closed, off tick), RISK_REFUSED otherwise; the risk reason itself goes to
    the audit log."""
    from tickbridge.protocol.enums import RejectReason

    specific = {RiskReason.OK: RejectReason.NONE,
                RiskReason.SESSION_CLOSED: RejectReason.SESSION_CLOSED,
                RiskReason.OFF_TICK: RejectReason.OFF_TICK_PRICE}
    return int(specific.get(reason, RejectReason.RISK_REFUSED))


# Refusals the engine decides before the gate is asked (the order alone, or the shim
# session it would go to). Beside RiskReason's names they are RiskDecision's codes.
ENGINE_CODES = ("ACCOUNT_REFUSED", "NOT_CONNECTED", "AWAITING_SNAPSHOT", "INVALID_QUANTITY",
                "NO_PRICE", "UNKNOWN_INSTRUMENT")


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """One pre-trade decision, whoever made it: the compiled gate (``code`` is a
    ``RiskReason`` name), the engine's order checks or its session checks (one of
    ``ENGINE_CODES``). ``price`` is the price to send (the gate's tick policy may round
    it); on a refusal, the price asked for."""

    code: str
    message: str = ""
    price: float = math.nan

    @property
    def ok(self) -> bool:
        return self.code == "OK"

    @property
    def reason(self) -> RiskReason | None:
        """The gate's reason; None for an engine-level refusal."""
        return RiskReason.__members__.get(self.code)

    @classmethod
    def accept(cls, price: float) -> RiskDecision:
        return cls("OK", "", price)

    @classmethod
    def of_gate(cls, reason: RiskReason | int, message: str, price: float) -> RiskDecision:
        return cls(RiskReason(int(reason)).name, message, price)
