"""Byte layouts of protocol v1 as numpy dtypes, mirroring protocol.hpp field for field.

Every record begins with the 8-byte record header (type, length, instrument_id); the
layouts have explicit reserved fields and no implicit padding, so a packed dtype has the
C++ offsets (checked against the compiled core in tests/protocol/test_layout.py).
"""

from __future__ import annotations

import numpy as np

from tickbridge.protocol.enums import RecordType

MAGIC = 0x47524254  # bytes "TBRG"
VERSION = 1
MAX_FRAME_BYTES = 4 << 20

FRAME_HEADER = np.dtype(
    [
        ("magic", "<u4"),
        ("version", "<u2"),
        ("header_size", "<u2"),
        ("session_id", "<u8"),
        ("sequence", "<u8"),
        ("send_time_ns", "<i8"),
        ("record_count", "<u4"),
        ("flags", "<u4"),
    ]
)
FRAME_HEADER_FORMAT = "<IHHQQqII"  # the same, for struct

_RECORD_HEADER = [("type", "<u2"), ("length", "<u2"), ("instrument_id", "<u4")]

_FIELDS: dict[RecordType, list[tuple]] = {
    RecordType.HEARTBEAT: [("ack_sequence", "<u8"), ("time_ns", "<i8")],
    RecordType.HELLO: [
        ("platform", "u1"), ("simulated", "u1"), ("reserved", "<u2"),
        ("heartbeat_interval_ms", "<u4"), ("platform_version", "S24"), ("account", "S32"),
    ],
    RecordType.INSTRUMENT_DEFINITION: [
        ("tick_size", "<f8"), ("point_value", "<f8"), ("symbol", "S32"), ("exchange", "S16"),
    ],
    RecordType.TRADE: [
        ("time_ns", "<i8"), ("price", "<f8"), ("size", "<u4"), ("aggressor", "u1"),
        ("flags", "u1"), ("reserved", "<u2"),
    ],
    RecordType.QUOTE: [
        ("time_ns", "<i8"), ("bid_price", "<f8"), ("ask_price", "<f8"),
        ("bid_size", "<u4"), ("ask_size", "<u4"),
    ],
    RecordType.DEPTH: [
        ("time_ns", "<i8"), ("price", "<f8"), ("size", "<u4"), ("level", "<u2"),
        ("side", "u1"), ("action", "u1"),
    ],
    RecordType.ORDER_UPDATE: [
        ("client_order_id", "<u8"), ("time_ns", "<i8"), ("price", "<f8"), ("stop_price", "<f8"),
        ("quantity", "<i8"), ("filled_quantity", "<i8"), ("average_fill_price", "<f8"),
        ("status", "u1"), ("side", "u1"), ("order_type", "u1"), ("time_in_force", "u1"),
        ("reason", "<u2"), ("reserved", "<u2"), ("platform_order_id", "S32"), ("text", "S40"),
    ],
    RecordType.FILL: [
        ("client_order_id", "<u8"), ("time_ns", "<i8"), ("price", "<f8"), ("quantity", "<i8"),
        ("side", "u1"), ("reserved", "u1", (7,)), ("execution_id", "S48"),
        ("platform_order_id", "S32"),
    ],
    RecordType.POSITION: [
        ("time_ns", "<i8"), ("quantity", "<i8"), ("average_price", "<f8"), ("open_pnl", "<f8"),
    ],
    RecordType.ACCOUNT: [
        ("time_ns", "<i8"), ("cash_balance", "<f8"), ("realized_pnl", "<f8"),
        ("unrealized_pnl", "<f8"), ("net_liquidation", "<f8"),
    ],
    RecordType.COMMAND_ACK: [
        ("request_id", "<u8"), ("client_order_id", "<u8"), ("command_type", "<u2"),
        ("reserved", "<u2", (3,)),
    ],
    RecordType.COMMAND_REJECT: [
        ("request_id", "<u8"), ("client_order_id", "<u8"), ("command_type", "<u2"),
        ("reason", "<u2"), ("reserved", "<u4"), ("text", "S64"),
    ],
    RecordType.SNAPSHOT_BOUNDARY: [
        ("request_id", "<u8"), ("phase", "u1"), ("reserved", "u1", (3,)),
        ("record_count", "<u4"),
    ],
    RecordType.PLATFORM_STATUS: [
        ("time_ns", "<i8"), ("orders", "u1"), ("prices", "u1"), ("reserved", "u1", (6,)),
        ("text", "S48"),
    ],
    RecordType.SUBMIT: [
        ("request_id", "<u8"), ("client_order_id", "<u8"), ("price", "<f8"),
        ("stop_price", "<f8"), ("quantity", "<i8"), ("side", "u1"), ("order_type", "u1"),
        ("time_in_force", "u1"), ("reserved", "u1", (5,)),
    ],
    RecordType.CANCEL: [("request_id", "<u8"), ("client_order_id", "<u8")],
    RecordType.REPLACE: [
        ("request_id", "<u8"), ("client_order_id", "<u8"), ("price", "<f8"),
        ("stop_price", "<f8"), ("quantity", "<i8"),
    ],
    RecordType.CANCEL_ALL: [("request_id", "<u8")],
    RecordType.FLATTEN: [("request_id", "<u8")],
    RecordType.SNAPSHOT_REQUEST: [
        ("request_id", "<u8"), ("what", "<u4"), ("reserved", "<u4"), ("fills_since_ns", "<i8"),
    ],
    RecordType.KILL: [
        ("request_id", "<u8"), ("flatten", "u1"), ("reserved", "u1", (7,)), ("secret", "S32"),
    ],
    RecordType.TRADING_STATE: [
        ("time_ns", "<i8"), ("state", "u1"), ("reserved", "u1", (7,)), ("reason", "S48"),
    ],
}

DTYPES: dict[RecordType, np.dtype] = {
    t: np.dtype(_RECORD_HEADER + fields) for t, fields in _FIELDS.items()
}
LENGTHS: dict[int, int] = {int(t): d.itemsize for t, d in DTYPES.items()}

# Engine -> shim commands: each is answered by a CommandAck or a CommandReject.
COMMANDS = frozenset(
    {
        RecordType.SUBMIT, RecordType.CANCEL, RecordType.REPLACE, RecordType.CANCEL_ALL,
        RecordType.FLATTEN, RecordType.SNAPSHOT_REQUEST, RecordType.KILL,
    }
)
