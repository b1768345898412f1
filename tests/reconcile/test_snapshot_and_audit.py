"""From decoded wire records to a snapshot; from the store to the engine's view; and the
audit trail of a reconciliation."""

from __future__ import annotations

from tickbridge.audit import read_records, verify_chain
from tickbridge.protocol import (
    OrderStatus,
    RecordType,
    Side,
    decode_frame,
    encode_frame,
    new_records,
)
from tickbridge.reconcile import (
    DriftClass,
    audit_reconciliation,
    engine_view_from_store,
    reconcile,
    snapshot_from_records,
)
from tickbridge.store import FillRecord, OrderRecord, StateStore
from tickbridge.store.connection import open_reader


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


def test_store_view_reconciled_and_audited(tmp_path) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        store.save_order(OrderRecord(10, "Sim101", "ESZ6", "BUY", "MARKET", "DAY", 1, 0.0, 0.0,
                                     "FILLED", created_ns=1, updated_ns=1))
        store.save_order(OrderRecord(12, "Sim101", "ESZ6", "BUY", "LIMIT", "DAY", 1, 5990.0,
                                     0.0, "WORKING", created_ns=1, updated_ns=1))
        store.book_fills([FillRecord("Sim101", "EX-10", 10, "ESZ6", "BUY", 1, 6000.0, 1)]
                         ).result(timeout=10)
        view = engine_view_from_store(store, "Sim101")
        frame = decode_frame(_frame())
        snap = snapshot_from_records("Sim101", {3: "ESZ6"},
                                     order_updates=frame.of(RecordType.ORDER_UPDATE),
                                     positions=frame.of(RecordType.POSITION),
                                     fills=frame.of(RecordType.FILL))
        result = reconcile(view, snap)
        assert sorted(d.drift_class.value for d in result.drifts) == sorted([
            DriftClass.MISSING_LOCALLY.value,         # 11: ours, the store lost it
            DriftClass.UNKNOWN_EXTERNAL_ORDER.value,  # SC-2: a manual order
            DriftClass.MISSING_AT_PLATFORM.value,     # 12: open here, not there
        ])
        audit_reconciliation(store, "Sim101", result.drifts, result.actions, request_id=77,
                             trigger="restart")
        store.sync().result(timeout=10)
    with open_reader(path) as conn:
        records = list(read_records(conn, kinds=["drift", "reconcile_action", "session"]))
        assert verify_chain(conn).ok
    kinds = [r.kind for r in records]
    assert kinds.count("drift") == 3 and kinds.count("reconcile_action") == 3
    assert records[0].data["trigger"] == "restart"
    assert {r.client_order_id for r in records if r.kind == "drift"} == {11, 12, None}
