"""Wire enumerations, mirroring cpp/include/tickbridge/enums.hpp and protocol.hpp.

TradingState.state carries tickbridge.risk.reasons.TradingState (0 ACTIVE, 1 REDUCING_ONLY,
2 HALTED); it is not repeated here.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class RecordType(IntEnum):
    HEARTBEAT = 0x0001
    # shim -> engine
    HELLO = 0x0101
    INSTRUMENT_DEFINITION = 0x0102
    TRADE = 0x0103
    QUOTE = 0x0104
    DEPTH = 0x0105
    ORDER_UPDATE = 0x0106
    FILL = 0x0107
    POSITION = 0x0108
    ACCOUNT = 0x0109
    COMMAND_ACK = 0x010A
    COMMAND_REJECT = 0x010B
    SNAPSHOT_BOUNDARY = 0x010C
    PLATFORM_STATUS = 0x010D
    # engine (or kill CLI) -> shim
    SUBMIT = 0x0201
    CANCEL = 0x0202
    REPLACE = 0x0203
    CANCEL_ALL = 0x0204
    FLATTEN = 0x0205
    SNAPSHOT_REQUEST = 0x0206
    KILL = 0x0207
    TRADING_STATE = 0x0208


class Side(IntEnum):
    BUY = 1
    SELL = 2


class Aggressor(IntEnum):
    UNKNOWN = 0
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    MARKET = 1
    LIMIT = 2
    STOP = 3
    STOP_LIMIT = 4


class TimeInForce(IntEnum):
    DAY = 1
    GTC = 2
    IOC = 3
    FOK = 4


class OrderStatus(IntEnum):
    NEW_REQUESTED = 1
    SUBMITTED = 2
    ACKNOWLEDGED = 3
    WORKING = 4
    PARTIALLY_FILLED = 5
    FILLED = 6
    PENDING_CANCEL = 7
    PENDING_REPLACE = 8
    CANCELED = 9
    REJECTED = 10
    EXPIRED = 11


class Platform(IntEnum):
    SIERRA_CHART = 1
    NINJATRADER = 2
    SIMULATOR = 3


class ConnectionState(IntEnum):
    """A platform's own connection, in PlatformStatus.orders / .prices."""

    UNKNOWN = 0
    CONNECTED = 1
    CONNECTING = 2
    CONNECTION_LOST = 3
    DISCONNECTED = 4


class RejectReason(IntEnum):
    NONE = 0
    UNKNOWN_ORDER = 1
    TOO_LATE_TO_CANCEL = 2
    OFF_TICK_PRICE = 3
    SESSION_CLOSED = 4
    PLATFORM_BUSY = 5
    INVALID_QUANTITY = 6
    DUPLICATE_CLIENT_ORDER_ID = 7
    NOT_CONNECTED = 8
    PLATFORM_REJECTED = 9
    BAD_SECRET = 10
    UNKNOWN_INSTRUMENT = 11
    RISK_REFUSED = 12
    MALFORMED = 13


class SnapshotPart(IntFlag):
    ORDERS = 1
    POSITIONS = 2
    FILLS = 4
    ACCOUNT = 8
    ALL = 15


class DepthSide(IntEnum):
    BID = 1
    ASK = 2


class DepthAction(IntEnum):
    UPSERT = 1
    DELETE = 2
    CLEAR_SIDE = 3


class SnapshotPhase(IntEnum):
    BEGIN = 1
    END = 2
