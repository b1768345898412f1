"""A replace is risk-checked (defect 5 of docs/simulation-testing.md): one that grows an
order's working quantity is checked like a new order, with that order's own working
quantity released meanwhile; one that shrinks it is always allowed. The gate's working
quantities follow the replace: the increase reserved when it is sent, released if it is
refused; a decrease released once the platform confirms it.

The engine is the one `tickbridge simulate` runs: real store, real gate (max_position 4,
max_order_qty 3), the simulated platform behind the shims' link protocol."""

from __future__ import annotations

from collections import Counter, deque

import pytest

from tickbridge import orders as ob
from tickbridge.engine.bus import EventBus, WorkingReleased, WorkingReserved
from tickbridge.engine.replace_working import ReplaceWorking
from tickbridge.protocol import OrderType, Side, TimeInForce
from tickbridge.simulate.clock import SimClock, simulated_time
from tickbridge.simulate.world import ACCOUNT, SYMBOL, World


@pytest.fixture
def world(tmp_path):
    clock = SimClock()
    with simulated_time(clock):
        world = World(0, tmp_path, Counter(), deque(maxlen=200), clock=clock)
        for _ in range(10):  # hello, snapshot, confirmed; market data flowing
            world.tick([], workload=False)
        yield world
        world.close()


def _limit_buy(world: World, quantity: int) -> int:
    """A BUY far below the market: it works and does not fill."""
    coid = world.engine.router.submit(
        strategy="t", symbol=SYMBOL, side=Side.BUY, quantity=quantity,
        order_type=OrderType.LIMIT, price=world.price - 10, stop_price=float("nan"),
        tif=TimeInForce.DAY)
    assert isinstance(coid, int), coid
    world.tick([], workload=False)
    return coid


def _ticks(world: World, steps: int = 5) -> None:
    for _ in range(steps):
        world.tick([], workload=False)


def _working_buy(world: World) -> int:
    return int(world.engine.risk.gate.book(ACCOUNT, "ES").working_buy)


def test_a_replace_to_more_past_the_position_limit_is_refused(world):
    """Seed 79's shape: 3 and 1 working to buy (4, the limit); the 1 replaced to 3 would
    let the position reach 6. Refused, nothing sent, the reservation unchanged."""
    big, small = _limit_buy(world, 3), _limit_buy(world, 1)
    assert _working_buy(world) == 4
    refusal = world.engine.router.replace(small, 3, world.price - 10)
    assert refusal is not None and "position" in refusal.lower(), refusal
    assert world.engine.router.book.order(small).qty == 1
    assert not world.engine.router.book.order(small).replace_pending
    assert _working_buy(world) == 4
    assert big in world.engine.router.working_orders(SYMBOL)


def test_a_replace_to_more_within_the_limit_is_reserved_when_sent(world):
    """Its own 1 released for the check: 1 -> 3 with 1 more working is 4, allowed; the
    increase counts at once (an order sent before the platform answers sees it)."""
    _limit_buy(world, 1)
    coid = _limit_buy(world, 1)
    assert world.engine.router.replace(coid, 3, world.price - 10) is None
    assert _working_buy(world) == 4
    refusal = world.engine.router.submit(
        strategy="t", symbol=SYMBOL, side=Side.BUY, quantity=1, order_type=OrderType.LIMIT,
        price=world.price - 10, stop_price=float("nan"), tif=TimeInForce.DAY)
    assert isinstance(refusal, str), "the reserved increase did not count"
    _ticks(world)  # the platform confirms: the order is 3
    assert world.engine.router.book.order(coid).qty == 3
    assert _working_buy(world) == 4


def test_a_replace_past_max_order_qty_is_refused(world):
    coid = _limit_buy(world, 1)
    refusal = world.engine.router.replace(coid, 4, world.price - 10)
    assert refusal is not None and "max_order_qty" in refusal


def test_a_replace_to_less_is_allowed_and_released_once_confirmed(world):
    """Even where a new order would be refused (halted): it only reduces risk. The larger
    quantity stays reserved until the platform confirms (it may still fill at it)."""
    coid = _limit_buy(world, 3)
    released: list[WorkingReleased] = []
    world.engine.bus.subscribe(WorkingReleased, released.append)
    world.engine.set_trading_state(world.engine.trading_state().HALTED)
    assert world.engine.router.replace(coid, 1, world.price - 10) is None
    assert _working_buy(world) == 3
    _ticks(world)
    assert world.engine.router.book.order(coid).qty == 1
    assert _working_buy(world) == 1
    assert released == [WorkingReleased(ACCOUNT, SYMBOL, int(Side.BUY), 2)]


def _order(book, quantity: int) -> int:
    coid = int(book.new_order("A", "ESZ6", ob.Side.BUY, quantity, 6000.0,
                              ts=1).client_order_id)
    for event in (ob.OrderEvent.SUBMIT_SENT, ob.OrderEvent.SUBMIT_ACKED,
                  ob.OrderEvent.ACCEPTED):
        book.apply(coid, event, ts=1)
    return coid


def test_a_refused_or_overtaken_increase_is_released():
    """The platform refuses the replace, or fills the order at its old size first: the
    increase reserved is released (the order's own rest by OrderDone, as always)."""
    book, bus = ob.OrderBook(session_epoch=1), EventBus()
    book.register_instrument("ESZ6", 50.0, 0.25)
    moved: list[object] = []
    bus.subscribe(WorkingReserved, moved.append)
    bus.subscribe(WorkingReleased, moved.append)
    tracker = ReplaceWorking(book, bus)
    refused, overtaken = _order(book, 1), _order(book, 2)
    for coid in (refused, overtaken):
        book.replace_sent(coid, 3, 6000.0, ts=2)
        tracker.sent(coid)
    book.apply(refused, ob.OrderEvent.REPLACE_REJECTED, ts=3)
    tracker.settle(refused)
    book.fill(overtaken, "E1", 2, 6000.0, ts=3)  # FILLED at 2, the replace still pending
    tracker.settle(overtaken)
    assert moved == [WorkingReserved("A", "ESZ6", 1, 2), WorkingReserved("A", "ESZ6", 1, 1),
                     WorkingReleased("A", "ESZ6", 1, 2), WorkingReleased("A", "ESZ6", 1, 1)]
