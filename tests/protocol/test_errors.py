"""Malformed frames: a typed error naming the byte and the reason, the same in C++ and
Python, and never a crash. Hypothesis mutates the golden vectors for the differential part."""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tickbridge._core import protocol as cpp
from tickbridge.protocol import DecodeErrorCode, ProtocolError, RecordType, decode_frame

from .conftest import VECTORS, load_manifest

TRADE = (VECTORS / "trade.bin").read_bytes()
BATCH = (VECTORS / "tick_batch.bin").read_bytes()
ALL_VECTORS = [(VECTORS / v["file"]).read_bytes() for v in load_manifest()]


def _errors(data: bytes) -> tuple[ProtocolError, ProtocolError]:
    with pytest.raises(ProtocolError) as py_error:
        decode_frame(data)
    with pytest.raises(ProtocolError) as cpp_error:
        cpp.decode_frame(data)
    return py_error.value, cpp_error.value


def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


CASES = [
    ("truncated header", TRADE[:39], DecodeErrorCode.TRUNCATED, 39, "shorter than the 40-byte"),
    ("empty", b"", DecodeErrorCode.TRUNCATED, 0, "0 bytes"),
    ("bad magic", _patch(TRADE, 0, "<I", 0x12345678), DecodeErrorCode.BAD_MAGIC, 0, "magic"),
    ("version 2", _patch(TRADE, 4, "<H", 2), DecodeErrorCode.UNSUPPORTED_VERSION, 4,
     "protocol version 2 is not supported"),
    ("header size", _patch(TRADE, 6, "<H", 48), DecodeErrorCode.BAD_HEADER_SIZE, 6,
     "header_size 48"),
    ("record cut", TRADE[:-4], DecodeErrorCode.RECORD_PAST_END, 40,
     "record 0: record length 32 runs past the frame end (28 bytes left)"),
    ("record header cut", TRADE[:44], DecodeErrorCode.RECORD_HEADER_PAST_END, 40,
     "needs 8 bytes, 4 left"),
    ("length past end", _patch(TRADE, 42, "<H", 9000), DecodeErrorCode.RECORD_PAST_END, 40,
     "record length 9000 runs past the frame end"),
    ("unknown type", _patch(TRADE, 40, "<H", 0x0999), DecodeErrorCode.UNKNOWN_RECORD_TYPE, 40,
     "unknown record type 2457"),
    ("wrong length", _patch(TRADE, 42, "<H", 24), DecodeErrorCode.BAD_RECORD_LENGTH, 40,
     "Trade length 24 (expected 32)"),
    ("count too high", _patch(TRADE, 32, "<I", 2), DecodeErrorCode.COUNT_MISMATCH, 72,
     "frame ends after 1 records, header says 2"),
    ("count too low", _patch(BATCH, 32, "<I", 6), DecodeErrorCode.TRAILING_BYTES, 40 + 5 * 32 + 40,
     "bytes after the last of 6 records"),
    ("bad record mid-batch", _patch(BATCH, 40 + 3 * 32, "<H", 0x0104),
     DecodeErrorCode.BAD_RECORD_LENGTH, 40 + 3 * 32, "record 3: Quote length 32 (expected 40)"),
]


@pytest.mark.parametrize(("data", "code", "offset", "words"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_frame_names_byte_and_reason(data, code, offset, words):
    for error in _errors(data):
        assert error.code == code
        assert error.offset == offset
        assert words in str(error)
        assert str(error).startswith(f"byte {offset}: ")


def test_oversized_frame_is_refused_before_decoding():
    data = TRADE + bytes(4 << 20)
    for error in _errors(data):
        assert error.code == DecodeErrorCode.TOO_LARGE


def test_valid_frame_after_a_bad_one_still_decodes():
    with pytest.raises(ProtocolError):
        decode_frame(TRADE[:-1])
    assert decode_frame(TRADE).runs[0].type == RecordType.TRADE


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(ALL_VECTORS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "extend", "splice"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        elif kind == "extend":
            data += draw(st.binary(max_size=64))
        else:
            other = draw(st.sampled_from(ALL_VECTORS))
            data += other[40:]
    return bytes(data)


@settings(max_examples=1500, deadline=None)
@given(mutated())
# Found by CI: a first record of type 0xFFFF and length 0 matched the compiled
# validator's "same run as the record before" shortcut before any record was checked.
@example(data=b"TBRG\x01\x00(\x00" + bytes(16) + b"\x15M/c\xfd\x1e\xe9\x18"
         + b"\xfd\xff\xff\xff" + bytes(4) + b"\xff\xff\x00\x00" + bytes(12))
def test_cpp_and_python_decoders_agree_on_any_input(data):
    try:
        py_frame = decode_frame(data)
    except ProtocolError as e:
        py_result = ("error", e.code, e.offset, str(e))
    else:
        py_result = ("ok", [(int(t), bytes(r.tobytes())) for t, r in py_frame])
    try:
        _, records = cpp.decode_frame(data)
    except ProtocolError as e:
        cpp_result = ("error", e.code, e.offset, str(e))
    else:
        cpp_result = ("ok", [(type(r).TYPE, None) for r in records])
    if py_result[0] == "ok" and cpp_result[0] == "ok":
        assert [t for t, _ in py_result[1]] == [t for t, _ in cpp_result[1]]
    else:
        assert py_result == cpp_result
