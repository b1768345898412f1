"""Wire protocol v1 (connectivity layer): the Python codec, mirroring protocol.hpp.

See docs/protocol.md for the byte tables.
"""

from tickbridge.protocol.codec import (
    Frame,
    FrameHeader,
    RecordRun,
    decode_frame,
    decode_header,
    encode_frame,
    encode_packed,
    make_record,
    new_records,
    pack_record,
)
from tickbridge.protocol.enums import (
    Aggressor,
    ConnectionState,
    DepthAction,
    DepthSide,
    OrderStatus,
    OrderType,
    Platform,
    RecordType,
    RejectReason,
    Side,
    SnapshotPart,
    SnapshotPhase,
    TimeInForce,
)
from tickbridge.protocol.errors import DecodeErrorCode, ProtocolError
from tickbridge.protocol.layout import COMMANDS, DTYPES, FRAME_HEADER, MAGIC, VERSION

__all__ = [
    "COMMANDS",
    "DTYPES",
    "FRAME_HEADER",
    "MAGIC",
    "VERSION",
    "Aggressor",
    "ConnectionState",
    "DecodeErrorCode",
    "DepthAction",
    "DepthSide",
    "Frame",
    "FrameHeader",
    "OrderStatus",
    "OrderType",
    "Platform",
    "ProtocolError",
    "RecordRun",
    "RecordType",
    "RejectReason",
    "Side",
    "SnapshotPart",
    "SnapshotPhase",
    "TimeInForce",
    "decode_frame",
    "decode_header",
    "encode_frame",
    "encode_packed",
    "make_record",
    "new_records",
    "pack_record",
]
