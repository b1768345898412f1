"""Reading a capture back, entry by entry, for replay and inspection."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tickbridge.capture.format import (
    ENTRY_HEADER,
    FILE_HEADER,
    MAGIC,
    VERSION,
    CaptureError,
    Direction,
)
from tickbridge.protocol import Frame, decode_frame


@dataclass(frozen=True)
class CapturedFrame:
    index: int
    offset: int  # byte offset of the entry in the file
    direction: Direction
    peer: bytes
    wall_ns: int
    mono_ns: int
    frame: bytes

    def decode(self) -> Frame:
        """The wire frame, decoded (raises ProtocolError for a malformed one: a capture
        keeps what arrived, malformed frames included, so replay meets them too)."""
        return decode_frame(self.frame)


class CaptureReader:
    """Iterate a capture: ``for entry in CaptureReader(path)``. A last entry cut short
    (the recorder's process died mid-write) ends the iteration and sets ``truncated_tail``;
    damage before the end raises CaptureError naming the entry and byte offset."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.truncated_tail = False

    def __iter__(self) -> Iterator[CapturedFrame]:
        data = self.path.read_bytes()
        if len(data) < FILE_HEADER.size:
            raise CaptureError(f"{self.path}: {len(data)} bytes, shorter than a capture header")
        magic, version, _ = FILE_HEADER.unpack_from(data)
        if magic != MAGIC:
            raise CaptureError(f"{self.path}: not a tickbridge capture (magic {magic!r})")
        if version != VERSION:
            raise CaptureError(f"{self.path}: capture version {version}, this reader "
                               f"knows {VERSION}")
        offset, index = FILE_HEADER.size, 0
        while offset < len(data):
            if offset + ENTRY_HEADER.size > len(data):
                self.truncated_tail = True
                return
            length, direction, peer_len, _, wall, mono, crc, _ = \
                ENTRY_HEADER.unpack_from(data, offset)
            start = offset + ENTRY_HEADER.size
            end = start + peer_len + length
            if end > len(data):
                self.truncated_tail = True
                return
            peer, frame = data[start:start + peer_len], data[start + peer_len:end]
            if zlib.crc32(frame, zlib.crc32(peer)) != crc or direction not in (1, 2):
                if end == len(data):  # a torn last write: same as a short tail
                    self.truncated_tail = True
                    return
                raise CaptureError(f"{self.path}: entry {index} at byte {offset}: CRC or "
                                   "direction mismatch; the file is damaged here")
            yield CapturedFrame(index, offset, Direction(direction), peer, wall, mono, frame)
            offset, index = end, index + 1


def read_capture(path: str | Path, direction: Direction | None = None
                 ) -> Iterator[CapturedFrame]:
    """The entries of one direction (or all), in recorded order."""
    for entry in CaptureReader(path):
        if direction is None or entry.direction == direction:
            yield entry
