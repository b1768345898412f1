"""Recording raw frames as they cross the engine's sockets."""

from __future__ import annotations

import threading
import time
import zlib
from pathlib import Path
from types import TracebackType

from tickbridge.capture.format import (
    ENTRY_HEADER,
    FILE_HEADER,
    MAGIC,
    MAX_PEER,
    VERSION,
    CaptureError,
    Direction,
)


class FrameRecorder:
    """Appends frames to a capture file. Thread-safe (one lock around each append).

    Writes go through a userspace buffer and are not fsynced: a capture is for diagnosis
    and replay, not the record of truth (the state store and audit log are), and the
    socket thread must never wait on the disk. ``flush()`` hands the buffer to the OS;
    after a crash the reader stops cleanly at the last whole entry.
    """

    def __init__(self, path: str | Path, *, buffer_size: int = 1 << 20) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = open(self.path, "ab", buffering=buffer_size)  # noqa: SIM115
        if self._file.tell() == 0:
            self._file.write(FILE_HEADER.pack(MAGIC, VERSION, 0))
        else:
            with open(self.path, "rb") as existing:
                magic, version, _ = FILE_HEADER.unpack(existing.read(FILE_HEADER.size))
            if magic != MAGIC or version != VERSION:
                self._file.close()
                raise CaptureError(f"{self.path}: exists and is not a version {VERSION} "
                                   "capture; choose another file")
        self.frames = 0

    def record(self, direction: Direction, frame: bytes | bytearray | memoryview,
               peer: bytes = b"", *, wall_ns: int | None = None,
               mono_ns: int | None = None) -> None:
        if len(peer) > MAX_PEER:
            raise ValueError(f"peer id of {len(peer)} bytes: at most {MAX_PEER}")
        frame = bytes(frame)
        header = ENTRY_HEADER.pack(
            len(frame), int(direction), len(peer), 0,
            time.time_ns() if wall_ns is None else wall_ns,
            time.monotonic_ns() if mono_ns is None else mono_ns,
            zlib.crc32(frame, zlib.crc32(peer)), 0)
        with self._lock:
            self._file.write(header + peer + frame)
            self.frames += 1

    def flush(self) -> None:
        with self._lock:
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> FrameRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
