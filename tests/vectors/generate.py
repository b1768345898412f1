"""Writes the golden vectors: manifest.json (the field values) and one .bin per vector,
encoded by the C++ core, the protocol's source of truth.

Run only when the protocol changes on purpose: `python tests/vectors/generate.py`.
The test suite decodes and re-encodes every .bin with the C++, Python and C# codecs.
"""

from __future__ import annotations

import json
from pathlib import Path

from tickbridge._core import protocol as cpp

HERE = Path(__file__).parent
T0 = 1_795_000_000_123_456_789  # 2026-11-18 UTC, in ns

VECTORS: list[dict] = [
    {"name": "heartbeat", "records": [
        {"type": "Heartbeat", "ack_sequence": 41, "time_ns": T0}]},
    {"name": "hello", "records": [
        {"type": "Hello", "platform": 1, "simulated": 1, "heartbeat_interval_ms": 1000,
         "platform_version": "Sierra Chart 2745", "account": "Sim1"}]},
    {"name": "instrument_definition", "records": [
        {"type": "InstrumentDefinition", "instrument_id": 7, "tick_size": 0.25,
         "point_value": 50.0, "symbol": "ESZ6", "exchange": "CME"}]},
    {"name": "trade", "records": [
        {"type": "Trade", "instrument_id": 7, "time_ns": T0, "price": 6012.75, "size": 3,
         "aggressor": 1, "flags": 0}]},
    {"name": "quote", "records": [
        {"type": "Quote", "instrument_id": 7, "time_ns": T0, "bid_price": 6012.5,
         "ask_price": 6012.75, "bid_size": 41, "ask_size": 17}]},
    {"name": "depth", "records": [
        {"type": "Depth", "instrument_id": 7, "time_ns": T0, "price": 6011.5, "size": 120,
         "level": 4, "side": 1, "action": 1}]},
    {"name": "order_update", "records": [
        {"type": "OrderUpdate", "instrument_id": 7, "client_order_id": 0x0000019A2B3C0001,
         "time_ns": T0, "price": 6010.25, "stop_price": 0.0, "quantity": 5,
         "filled_quantity": 2, "average_fill_price": 6010.25, "status": 5, "side": 1,
         "order_type": 2, "time_in_force": 1, "reason": 0, "platform_order_id": "118822",
         "text": "partially filled"}]},
    {"name": "fill", "records": [
        {"type": "Fill", "instrument_id": 7, "client_order_id": 0x0000019A2B3C0001,
         "time_ns": T0, "price": 6010.25, "quantity": 2, "side": 1,
         "execution_id": "a3f1c2d4e5b60718293a4b5c6d7e8f90", "platform_order_id": "118822"}]},
    {"name": "position", "records": [
        {"type": "Position", "instrument_id": 7, "time_ns": T0, "quantity": -3,
         "average_price": 6014.5, "open_pnl": -187.5}]},
    {"name": "account", "records": [
        {"type": "Account", "time_ns": T0, "cash_balance": 50000.0, "realized_pnl": 1250.0,
         "unrealized_pnl": -187.5, "net_liquidation": 51062.5}]},
    {"name": "command_ack", "records": [
        {"type": "CommandAck", "request_id": 9001, "client_order_id": 0x0000019A2B3C0001,
         "command_type": 0x0201}]},
    {"name": "command_reject", "records": [
        {"type": "CommandReject", "request_id": 9002, "client_order_id": 0x0000019A2B3C0002,
         "command_type": 0x0202, "reason": 2, "text": "order already filled"}]},
    {"name": "snapshot_boundary", "records": [
        {"type": "SnapshotBoundary", "request_id": 77, "phase": 1, "record_count": 0},
        {"type": "SnapshotBoundary", "request_id": 77, "phase": 2, "record_count": 0}]},
    {"name": "submit", "records": [
        {"type": "Submit", "instrument_id": 7, "request_id": 9001,
         "client_order_id": 0x0000019A2B3C0001, "price": 6010.25, "stop_price": 0.0,
         "quantity": 5, "side": 1, "order_type": 2, "time_in_force": 1}]},
    {"name": "cancel", "records": [
        {"type": "Cancel", "instrument_id": 7, "request_id": 9002,
         "client_order_id": 0x0000019A2B3C0002}]},
    {"name": "replace", "records": [
        {"type": "Replace", "instrument_id": 7, "request_id": 9003,
         "client_order_id": 0x0000019A2B3C0001, "price": 6009.75, "stop_price": 0.0,
         "quantity": 4}]},
    {"name": "cancel_all", "records": [{"type": "CancelAll", "request_id": 9004}]},
    {"name": "flatten", "records": [{"type": "Flatten", "instrument_id": 7, "request_id": 9005}]},
    {"name": "snapshot_request", "records": [
        {"type": "SnapshotRequest", "request_id": 77, "what": 15, "fills_since_ns": T0}]},
    {"name": "kill", "records": [
        {"type": "Kill", "request_id": 9006, "flatten": 1, "secret": "correct-horse-battery"}]},
    {"name": "tick_batch", "records": [
        {"type": "Trade", "instrument_id": 7, "time_ns": T0 + i * 250_000,
         "price": 6012.75 + 0.25 * (i % 3), "size": 1 + i, "aggressor": 1 + i % 2, "flags": 0}
        for i in range(5)
    ] + [
        {"type": "Quote", "instrument_id": 7, "time_ns": T0 + 5 * 250_000, "bid_price": 6013.0,
         "ask_price": 6013.25, "bid_size": 9, "ask_size": 12},
        {"type": "Trade", "instrument_id": 7, "time_ns": T0 + 6 * 250_000, "price": 6013.25,
         "size": 2, "aggressor": 1, "flags": 0},
    ]},
    # Appended after the first 21 so that their sequence numbers (and bytes) do not change.
    {"name": "platform_status", "records": [
        {"type": "PlatformStatus", "time_ns": T0, "orders": 3, "prices": 1,
         "text": "Rithmic: order connection lost"}]},
    {"name": "trading_state", "records": [
        {"type": "TradingState", "time_ns": T0, "state": 1,
         "reason": "daily loss limit reached: reducing only"}]},
]


def encode(vector: dict, sequence: int) -> bytes:
    writer = cpp.FrameWriter(0xC0FFEE0000000001)
    writer.begin(sequence, T0)
    for fields in vector["records"]:
        record = getattr(cpp, fields["type"])()
        for name, value in fields.items():
            if name != "type":
                setattr(record, name, value.encode() if isinstance(value, str) else value)
        writer.add(record)
    return writer.finish()


def main() -> None:
    manifest = []
    for sequence, vector in enumerate(VECTORS, start=1):
        (HERE / f"{vector['name']}.bin").write_bytes(encode(vector, sequence))
        manifest.append({"file": f"{vector['name']}.bin", "session_id": 0xC0FFEE0000000001,
                         "sequence": sequence, "send_time_ns": T0, "records": vector["records"]})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(manifest)} vectors to {HERE}")


if __name__ == "__main__":
    main()
