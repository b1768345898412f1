"""Simulator state across a restart: in memory, and with the process SIGKILLed."""

from __future__ import annotations

import pytest

from tickbridge.protocol import OrderStatus, RecordType, SnapshotPart, make_record
from tickbridge.sim.generator import ES, NQ
from tickbridge.sim.persist import StateError, load_state, save_state
from tickbridge.sim.platform import PlatformConfig, SimulatedPlatform

from .engine_double import EngineDouble
from .test_sim_cli import sim_command


def fresh(**kw) -> SimulatedPlatform:
    p = SimulatedPlatform([ES, NQ], PlatformConfig(latency_ns=5, **kw))
    p.on_quote(1, 0, 6000.00, 6000.25, 10, 10)
    return p


def submit(p, coid, order_type, price=0.0, qty=1, now=1):
    rec = make_record(RecordType.SUBMIT, instrument_id=1, request_id=coid,
                      client_order_id=coid, price=price, quantity=qty, side=1,
                      order_type=order_type, time_in_force=1)[0]
    return p.command(RecordType.SUBMIT, rec, now)


def test_round_trip_keeps_orders_positions_and_fills(tmp_path):
    p = fresh()
    submit(p, 1, 1, qty=2)  # market: fills after the latency
    submit(p, 2, 2, price=5990.0)  # rests
    submit(p, 3, 2, price=5980.0)
    p.advance(10)
    cancel = make_record(RecordType.CANCEL, request_id=9, client_order_id=3)[0]
    p.command(RecordType.CANCEL, cancel, 11)  # in flight when the process dies
    path = tmp_path / "sim.json"
    save_state(p, path)

    q = fresh()
    summary = load_state(q, path, now=100)
    assert "3 orders" in summary and "ESZ6 +2" in summary
    assert q.positions[1].quantity == 2 and q.positions[1].average_price == 6000.25
    assert len(q.fills) == 1 and bytes(q.fills[0]["execution_id"][0]) == \
        bytes(p.fills[0]["execution_id"][0])
    assert q.matching.orders[2].status == OrderStatus.WORKING and q.matching.orders[2].live
    assert q.matching.orders[3].status == OrderStatus.CANCELED
    assert [o.client_order_id for o in q.matching.working_orders()] == [2]
    submit(q, 4, 2, price=5970.0, now=101)
    assert q.matching.orders[4].platform_order_id == "100004"  # numbering continues


def test_state_of_another_setup_is_refused(tmp_path):
    path = tmp_path / "sim.json"
    save_state(fresh(), path)
    with pytest.raises(StateError, match="saved for account Sim101"):
        load_state(fresh(account="Other"), path, now=0)
    path.write_text("{")
    with pytest.raises(StateError, match="unreadable"):
        load_state(fresh(), path, now=0)


def test_sigkilled_simulator_restarts_with_its_orders_and_position(tmp_path):
    import subprocess

    state = tmp_path / "sim.json"
    engine = EngineDouble()
    children = []
    try:
        def start() -> subprocess.Popen:
            child = subprocess.Popen(
                sim_command("--engine", engine.endpoint, "--kill-endpoint", "none",
                            "--state", str(state), "--ticks", "100", "--latency-ms", "0"),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            children.append(child)
            return child

        first = start()
        engine.wait_for(lambda: engine.of(RecordType.HELLO), timeout=20)
        engine.send(make_record(RecordType.SUBMIT, instrument_id=1, request_id=1,
                                client_order_id=1, quantity=2, side=1, order_type=1,
                                time_in_force=1),
                    make_record(RecordType.SUBMIT, instrument_id=1, request_id=2,
                                client_order_id=2, quantity=1, side=1, order_type=2,
                                price=5000.0, time_in_force=2))
        engine.wait_for(lambda: engine.of(RecordType.FILL) and engine.answers(2), timeout=20)
        fill = engine.of(RecordType.FILL)[0]
        engine.pump(0.3)  # the state is written after the loop pass that sent these
        first.kill()
        first.communicate(timeout=10)

        engine.records.clear()
        engine.peer = None
        second = start()
        engine.wait_for(lambda: engine.of(RecordType.HELLO), timeout=20)
        engine.send(make_record(RecordType.SNAPSHOT_REQUEST, request_id=3,
                                what=int(SnapshotPart.ALL), fills_since_ns=0))
        engine.wait_for(lambda: len(engine.of(RecordType.SNAPSHOT_BOUNDARY)) == 2, timeout=20)
        orders = {int(r["client_order_id"]): int(r["status"])
                  for r in engine.of(RecordType.ORDER_UPDATE)}
        assert orders == {1: OrderStatus.FILLED, 2: OrderStatus.WORKING}
        positions = {int(r["instrument_id"]): int(r["quantity"])
                     for r in engine.of(RecordType.POSITION)}
        assert positions == {1: 2, 2: 0}
        fills = engine.of(RecordType.FILL)
        assert len(fills) == 1 and bytes(fills[0]["execution_id"]) == bytes(fill["execution_id"])
        second.terminate()
        _, err = second.communicate(timeout=10)
        assert second.returncode == 0 and "restored 2 orders (1 working)" in err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate(timeout=10)
        engine.close()
