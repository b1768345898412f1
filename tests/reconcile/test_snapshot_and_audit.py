"""From decoded wire records to a snapshot, and the audit record of a drift."""

from __future__ import annotations

import json

from tickbridge.protocol import (
    OrderStatus,
    RecordType,
    Side,
    decode_frame,
    encode_frame,
    new_records,
)
from tickbridge.reconcile import (
    EngineView,
    OrderView,
    drift_record,
    reconcile,
    snapshot_from_records,
)


def _frame() -> bytes:
    updates = new_records(RecordType.ORDER_UPDATE, 2)
    updates["instrument_id"] = 3
    updates["client_order_id"] = [11, 0]
    updates["status"] = [OrderStatus.WORKING, OrderStatus.WORKING]
    updates["side"] = Side.BUY
    updates["quantity"] = [2, 1]
    updates["platform_order_id"] = [b"SC-1", b"SC-2"]
    positions = new_records(RecordType.POSITION, 1)
    positions["instrument_id"] = 3
    positions["quantity"] = 1
    positions["average_price"] = 6000.0
    fills = new_records(RecordType.FILL, 1)
    fills["instrument_id"] = 3
    fills["client_order_id"] = 10
    fills["side"] = Side.BUY
    fills["quantity"] = 1
    fills["price"] = 6000.0
    fills["execution_id"] = b"EX-10"
    return encode_frame([updates, positions, fills], session_id=1, sequence=1,
                        send_time_ns=0)


def test_snapshot_from_decoded_records() -> None:
    frame = decode_frame(_frame())
    snap = snapshot_from_records("Sim101", {3: "ESZ6"},
                                 order_updates=frame.of(RecordType.ORDER_UPDATE),
                                 positions=frame.of(RecordType.POSITION),
                                 fills=frame.of(RecordType.FILL))
    assert [(o.client_order_id, o.state, o.platform_order_id) for o in snap.orders] == \
        [(11, "WORKING", "SC-1"), (0, "WORKING", "SC-2")]
    assert snap.positions[0].instrument == "ESZ6" and snap.positions[0].quantity == 1
    assert snap.fills[0].execution_id == "EX-10"


def test_a_drifts_audit_record_reads_at_a_glance() -> None:
    frame = decode_frame(_frame())
    snap = snapshot_from_records("Sim101", {3: "ESZ6"},
                                 order_updates=frame.of(RecordType.ORDER_UPDATE),
                                 positions=frame.of(RecordType.POSITION),
                                 fills=frame.of(RecordType.FILL))
    view = EngineView("Sim101", {12: OrderView(12, "ESZ6", "WORKING", 1, 0, "BUY")}, {},
                      frozenset({"EX-10"}))
    result = reconcile(view, snap, is_ours=lambda coid: coid != 0)
    records = {r["drift"]: r for r in (drift_record(a.drift, a.action)
                                       for a in result.actions)}
    assert set(records) == {"missing_locally", "unknown_external_order",
                            "missing_at_platform", "position_differs"}
    assert records["missing_locally"] | {"detail": None, "note": None} == {
        "drift": "missing_locally", "action": "adopt", "account": "Sim101", "symbol": "ESZ6",
        "client_order_id": 11, "engine": None, "platform": "WORKING",
        "platform_order_id": "SC-1", "detail": None, "note": None}
    assert records["unknown_external_order"]["platform_order_id"] == "SC-2"
    assert (records["missing_at_platform"]["engine"], records["missing_at_platform"]["action"]
            ) == ("WORKING", "mark_canceled")
    assert (records["position_differs"]["engine"], records["position_differs"]["platform"],
            records["position_differs"]["action"]) == (0, 1, "halt")
    json.dumps(records)  # every record is JSON for the audit log
