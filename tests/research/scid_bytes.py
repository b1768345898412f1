"""Hand-built .scid bytes (struct.pack from the published layout) for the tests."""

from __future__ import annotations

import struct

UNIX_2024_01_02_1430 = 1_704_205_800
SC_US = (UNIX_2024_01_02_1430 + 25_569 * 86_400) * 1_000_000
TS_NS = UNIX_2024_01_02_1430 * 1_000_000_000


def header(version: int = 1, utc_start: int = 0) -> bytes:
    return b"SCID" + struct.pack("<IIHHI", 56, 40, version, 0, utc_start) + bytes(36)


def record(dt_us: int, o: float = 0.0, h: float = 4800.5, lo: float = 4800.25,
           c: float = 4800.5, trades: int = 1, vol: int = 1, bid_vol: int = 0,
           ask_vol: int = 1) -> bytes:
    return struct.pack("<q4f4I", dt_us, o, h, lo, c, trades, vol, bid_vol, ask_vol)


def ticks(n: int, start_us: int = SC_US) -> bytes:
    return b"".join(record(start_us + i * 1000, c=4800.0 + 0.25 * (i % 8)) for i in range(n))
