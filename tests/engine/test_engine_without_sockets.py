"""The engine's logic on an injected in-memory transport: no socket, no thread, no
wait. (The same behaviours over real ZeroMQ sockets are in the other engine tests.)"""

from __future__ import annotations

import pytest
import zmq

from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.link_state import Admission, Liveness
from tickbridge.protocol import RecordType
from tickbridge.risk.reasons import TradingState

from .memory_transport import MemoryShim, MemoryTransport


@pytest.fixture
def transport() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def audit() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def engine(transport, audit):
    engine = Engine(EngineSettings(outbox_limit=3), transport=transport,
                    audit=lambda kind, **p: audit.append((kind, p)))
    engine.start()
    yield engine
    engine.close()


def _ready(engine: Engine, shim: MemoryShim) -> None:
    shim.hello()
    engine.poll()
    (request,) = shim.received(RecordType.SNAPSHOT_REQUEST)
    shim.answer_snapshot(int(request["request_id"]))
    engine.poll()


def test_a_hello_is_accepted_and_a_snapshot_asked_for(engine, transport):
    shim = MemoryShim(transport)
    shim.hello()
    assert engine.poll() == 1
    (session,) = engine.sessions.values()
    assert session.admission == Admission.ACCEPTED and engine.router.symbols() == ["ESZ6"]
    assert len(shim.received(RecordType.SNAPSHOT_REQUEST)) == 1
    assert engine.transport is transport and engine.receive_path == "python"


def test_a_snapshot_confirms_the_link(engine, transport, audit):
    shim = MemoryShim(transport)
    _ready(engine, shim)
    (session,) = engine.sessions.values()
    assert session.admission == Admission.CONFIRMED
    assert any(kind == "positions_confirmed" for kind, _ in audit)


def test_an_order_goes_out_as_a_submit(engine, transport):
    shim = MemoryShim(transport)
    _ready(engine, shim)
    from tickbridge.protocol import OrderType, Side, TimeInForce

    coid = engine.router.submit(strategy="t", symbol="ESZ6", side=Side.BUY, quantity=2,
                                order_type=OrderType.LIMIT, price=6000.25,
                                stop_price=float("nan"), tif=TimeInForce.DAY)
    assert isinstance(coid, int)
    (submit,) = shim.received(RecordType.SUBMIT)
    assert (int(submit["client_order_id"]), int(submit["quantity"])) == (coid, 2)


def test_an_outbox_that_overflows_loses_the_shim(engine, transport, audit):
    """The outbox policy: beyond outbox_limit the queue is dropped, audited, shim lost."""
    shim = MemoryShim(transport)
    _ready(engine, shim)
    transport.refuse[shim.identity] = zmq.Again  # the peer takes nothing more
    for _ in range(4):
        engine.kill(flatten=False)
    (session,) = engine.sessions.values()
    assert session.liveness == Liveness.LOST and not session.outbox
    assert [p["dropped"] for k, p in audit if k == "outbox_overflow"] == [4]


def test_a_failed_store_halts_trading(engine, audit):
    """The store-failure policy, driven directly (tests/store has the real disk faults)."""
    engine.store_failure.fail(OSError("disk full"))
    assert engine.trading_state() == TradingState.HALTED
    assert engine.store_failure.failed == "disk full"
    assert [p["error"] for k, p in audit if k == "store_failed"] == ["disk full"]
    engine.store_failure.fail(OSError("again"))  # once: the first failure is the story
    assert len([k for k, _ in audit if k == "store_failed"]) == 1


def test_a_real_store_that_fails_halts_trading_and_shows_in_status(tmp_path, transport):
    """A real StateStore whose writer is gone (closed under the engine): the next write
    raises StoreFailed, and the policy halts trading instead of crashing the loop."""
    from tickbridge.engine.control_auth import Caller, Role
    from tickbridge.store import StateStore

    store = StateStore(tmp_path / "state.db")
    engine = Engine(EngineSettings(), transport=transport, store=store)
    engine.start()
    try:
        shim = MemoryShim(transport)
        _ready(engine, shim)
        store.close()  # every later write raises StoreFailed("state store is closed")
        shim.send([])  # any frame: the loop goes on
        engine.poll()
        engine.audit("anything")
        assert engine.trading_state() == TradingState.HALTED
        status = engine.handle_control({"cmd": "status"}, Caller("t", Role.READ))
        assert "closed" in status["store_failed"]
        assert status["trading_state"] == "HALTED"
        (session,) = engine.sessions.values()
        assert session.ack_sequence() < session.last_sequence  # its frame is not acked
    finally:
        engine.close()


def test_an_order_whose_record_finds_the_store_failed_is_rejected_not_sent(tmp_path,
                                                                          transport):
    """Defect 6 (seed 998): the store failed and nothing had written since, so trading
    was still ACTIVE; a submit passed its checks, its record's write found the failure
    (the policy halted trading) and the Submit went out anyway, an order at the platform
    the store never held. Now it ends REJECTED (STORE_FAILED) before anything is sent."""
    from tickbridge.protocol import OrderType, Side, TimeInForce
    from tickbridge.store import StateStore

    store = StateStore(tmp_path / "state.db")
    engine = Engine(EngineSettings(), transport=transport, store=store)
    engine.start()
    try:
        shim = MemoryShim(transport)
        _ready(engine, shim)
        store.close()  # not yet seen: no write since
        assert engine.trading_state() == TradingState.ACTIVE
        result = engine.router.submit(strategy="t", symbol="ESZ6", side=Side.BUY,
                                      quantity=1, order_type=OrderType.MARKET,
                                      price=float("nan"), stop_price=float("nan"),
                                      tif=TimeInForce.DAY)
        assert isinstance(result, str) and "store" in result
        assert shim.received(RecordType.SUBMIT) == []
        (order,) = engine.router.book.orders()
        assert order.status.name == "REJECTED"
        assert engine.trading_state() == TradingState.HALTED
    finally:
        engine.close()


def test_a_snapshot_request_id_is_never_one_an_earlier_engine_used():
    """Defect 6 (seed 998): snapshot request ids restarted at 1 with every engine, so a
    shim's resent answer to the previous engine's first snapshot passed for the new
    engine's: stale orders and positions, and an order open at the platform marked
    canceled. Ids now come from the clock, increasing."""
    ids = []
    for _ in range(2):
        transport = MemoryTransport()
        engine = Engine(EngineSettings(), transport=transport)
        engine.start()
        shim = MemoryShim(transport)
        shim.hello()
        engine.poll()
        ids += [int(r["request_id"]) for r in shim.received(RecordType.SNAPSHOT_REQUEST)]
        engine.close()
    assert len(ids) == 2 and ids[0] != ids[1] and all(i >> 62 == 1 for i in ids)


def test_no_replace_goes_out_once_the_store_has_failed(tmp_path, transport):
    """Seed 3520: a replace sent while the store had failed changed terms no store held;
    after the restart the order came back at its old quantity, open forever. Refused
    until a restart (a cancel still goes out)."""
    from tickbridge.protocol import OrderType, Side, TimeInForce
    from tickbridge.store import StateStore

    store = StateStore(tmp_path / "state.db")
    engine = Engine(EngineSettings(), transport=transport, store=store)
    engine.start()
    try:
        shim = MemoryShim(transport)
        _ready(engine, shim)
        coid = engine.router.submit(strategy="t", symbol="ESZ6", side=Side.BUY, quantity=2,
                                    order_type=OrderType.LIMIT, price=6000.25,
                                    stop_price=float("nan"), tif=TimeInForce.DAY)
        assert isinstance(coid, int)
        store.close()
        engine.audit("anything")  # a write finds the failure
        refusal = engine.router.replace(coid, 1, 6000.0)
        assert refusal is not None and "store" in refusal
        assert shim.received(RecordType.REPLACE) == []
        assert engine.router.cancel(coid) is None
        assert len(shim.received(RecordType.CANCEL)) == 1
    finally:
        engine.close()
