"""PlatformStatus and TradingState as pinned for this round (tools/records.md): codes,
lengths, field offsets, and the enumerations they carry, in the Python and C++ codecs."""

from __future__ import annotations

from tickbridge._core import protocol as cpp
from tickbridge._core import risk as cpp_risk
from tickbridge.protocol import (
    DTYPES,
    ConnectionState,
    RecordType,
    decode_frame,
    encode_packed,
    pack_record,
)
from tickbridge.protocol.layout import COMMANDS
from tickbridge.risk.reasons import TradingState


def _offsets(rtype: RecordType) -> dict[str, tuple[int, int]]:
    dtype = DTYPES[rtype]
    return {name: (dtype.fields[name][1], dtype.fields[name][0].itemsize) for name in dtype.names}


def test_platform_status_layout():
    assert int(RecordType.PLATFORM_STATUS) == 0x010D == cpp.PlatformStatus.TYPE
    assert DTYPES[RecordType.PLATFORM_STATUS].itemsize == 72 == cpp.record_length(0x010D)
    assert _offsets(RecordType.PLATFORM_STATUS) == {
        "type": (0, 2), "length": (2, 2), "instrument_id": (4, 4), "time_ns": (8, 8),
        "orders": (16, 1), "prices": (17, 1), "reserved": (18, 6), "text": (24, 48)}


def test_trading_state_layout():
    assert int(RecordType.TRADING_STATE) == 0x0208 == cpp.TradingState.TYPE
    assert DTYPES[RecordType.TRADING_STATE].itemsize == 72 == cpp.record_length(0x0208)
    assert _offsets(RecordType.TRADING_STATE) == {
        "type": (0, 2), "length": (2, 2), "instrument_id": (4, 4), "time_ns": (8, 8),
        "state": (16, 1), "reserved": (17, 7), "reason": (24, 48)}


def test_neither_is_a_command():
    assert RecordType.PLATFORM_STATUS not in COMMANDS
    assert RecordType.TRADING_STATE not in COMMANDS


def test_enumerations():
    assert [(s.name, int(s)) for s in ConnectionState] == [
        ("UNKNOWN", 0), ("CONNECTED", 1), ("CONNECTING", 2), ("CONNECTION_LOST", 3),
        ("DISCONNECTED", 4)]
    # TradingState.state carries the risk gate's own numbers (compiled enum).
    for state in TradingState:
        assert int(getattr(cpp_risk.TradingState, state.name)) == int(state)


def test_both_round_trip_through_the_cpp_decoder():
    frame = encode_packed(
        [pack_record(RecordType.PLATFORM_STATUS, time_ns=5, orders=3, prices=1, text="lost"),
         pack_record(RecordType.TRADING_STATE, time_ns=6, state=2, reason="halted by kill")],
        session_id=1, sequence=1, send_time_ns=7)
    _, records = cpp.decode_frame(frame)
    assert [(type(r).__name__, r.length) for r in records] == [
        ("PlatformStatus", 72), ("TradingState", 72)]
    assert (records[0].orders, records[0].prices, records[0].text) == (3, 1, b"lost")
    assert (records[1].state, records[1].reason) == (2, b"halted by kill")
    kinds = [rtype for rtype, _ in decode_frame(frame)]
    assert kinds == [RecordType.PLATFORM_STATUS, RecordType.TRADING_STATE]
