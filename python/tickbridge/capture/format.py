"""The capture file format: raw wire frames with direction, peer and time.

    file header, 16 bytes:  magic b"TBRGCAP1" | u32 version (1) | u32 reserved (0)
    then entries, back to back, each a 32-byte header followed by peer and frame bytes:

    | offset | size | type | field        | meaning                                     |
    | -----: | ---: | ---- | ------------ | ------------------------------------------- |
    |      0 |    4 | u32  | frame_length | bytes of the frame that follows the peer    |
    |      4 |    1 | u8   | direction    | 1 in (shim -> engine), 2 out (engine -> shim) |
    |      5 |    1 | u8   | peer_length  | bytes of the peer id (ZeroMQ routing id)    |
    |      6 |    2 | u16  | reserved     | 0                                           |
    |      8 |    8 | i64  | wall_ns      | UTC nanoseconds when recorded               |
    |     16 |    8 | i64  | mono_ns      | monotonic nanoseconds when recorded         |
    |     24 |    4 | u32  | crc32        | zlib.crc32 of peer bytes + frame bytes      |
    |     28 |    4 | u32  | reserved     | 0                                           |

Little-endian, like the wire protocol. Lengths come first so a reader can skip an entry
without understanding it; the CRC tells a torn or damaged entry from a good one.
"""

from __future__ import annotations

import struct
from enum import IntEnum

MAGIC = b"TBRGCAP1"
VERSION = 1
FILE_HEADER = struct.Struct("<8sII")
ENTRY_HEADER = struct.Struct("<IBBHqqII")
MAX_PEER = 255


class Direction(IntEnum):
    IN = 1   # shim -> engine
    OUT = 2  # engine -> shim


class CaptureError(ValueError):
    """A capture file that is not one, or is damaged before its end."""
