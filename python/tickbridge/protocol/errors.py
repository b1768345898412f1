"""Decode errors. Codes and offsets match the C++ decoder's (protocol.hpp) exactly."""

from __future__ import annotations

from enum import IntEnum


class DecodeErrorCode(IntEnum):
    TRUNCATED = 1
    TOO_LARGE = 2
    BAD_MAGIC = 3
    UNSUPPORTED_VERSION = 4
    BAD_HEADER_SIZE = 5
    RECORD_HEADER_PAST_END = 6
    RECORD_PAST_END = 7
    UNKNOWN_RECORD_TYPE = 8
    BAD_RECORD_LENGTH = 9
    COUNT_MISMATCH = 10
    TRAILING_BYTES = 11


class ProtocolError(ValueError):
    """A frame that is not valid protocol v1: ``code``, byte ``offset`` and the reason."""

    def __init__(self, code: int, offset: int, message: str) -> None:
        super().__init__(message)
        self.code = DecodeErrorCode(code)
        self.offset = offset
        self.reason = message

    def __reduce__(self) -> tuple[type, tuple[int, int, str]]:
        return (type(self), (int(self.code), self.offset, self.reason))
