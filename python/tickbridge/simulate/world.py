"""The world of one simulated session: the engine (on its store and the simulated
transport), one platform shim, the network between them, the workload, the faults."""

from __future__ import annotations

import contextlib
import logging
import random
from collections import Counter, deque
from pathlib import Path
from typing import Any

from tickbridge.config.loader import parse_config
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.risk import RiskAdapter
from tickbridge.protocol import OrderType, Side, TimeInForce
from tickbridge.risk.reasons import TradingState
from tickbridge.sim.generator import InstrumentSpec
from tickbridge.sim.platform import HAND_ORDER_ID_BITS
from tickbridge.sim.quirks import QuirkConfig
from tickbridge.simulate.clock import SimClock
from tickbridge.simulate.faults import Fault
from tickbridge.simulate.network import EngineEnd, Network
from tickbridge.simulate.shim import SimShim
from tickbridge.store import StateStore, StoreFailed

ACCOUNT = "Sim101"
MAX_POSITION = 4
STEP_NS = 50_000_000  # one step: 50 ms of simulated time
QUIET_STEPS = 10  # the settle phase's last steps: no market moves (World.settle)
SPECS = [InstrumentSpec("ESZ6", "CME", 0.25, 50.0, 6000.0, 10.0, 0.3, 1.0, 10.0)]
SYMBOL = "ESZ6"


def config() -> Any:
    return parse_config({
        "mode": "paper",
        "engine": {"heartbeat_ms": 200, "kill_on_shim_lost": False},
        "shims": [{"name": "sim", "platform": "simulator",
                   "kill_endpoint": "tcp://127.0.0.1:1", "kill_secret": "s" * 32}],
        "accounts": [{"name": ACCOUNT, "mode": "paper", "shim": "sim"}],
        "instruments": [{"symbol": "ES"}],
        "risk": {"defaults": {"max_order_qty": 3, "max_position": MAX_POSITION,
                              "band_ticks": 400, "band_basis": "last_trade",
                              "max_data_age_ms": 60_000, "tick_policy": "reject"},
                 "default_account": {"max_position": MAX_POSITION,
                                     "daily_loss_limit": 1e9,
                                     "max_orders_per_second": 1000,
                                     "max_orders_per_minute": 100_000,
                                     "max_orders_per_hour": 1_000_000}},
    }, "simulate", environ={})


class World:
    def __init__(self, seed: int, folder: Path, counts: Counter, trace: deque, *,
                 clock: SimClock | None = None) -> None:
        self.seed, self.folder, self.counts, self.trace = seed, folder, counts, trace
        self.rng = random.Random(seed)  # the workload and the market
        self.clock = clock or SimClock()
        self.start_ns = self.clock.now_ns
        self.network = Network(counts)
        self.config = config()
        self.store_path = folder / "state.sqlite"
        self.engine: Engine | None = None
        self.engine_end: EngineEnd | None = None
        self.shim = SimShim(self.network, SPECS, ACCOUNT, folder)
        self.price = 6000.0
        self.step = 0
        self.restart_at: int | None = None
        self.operator_state = TradingState.ACTIVE  # the last state set by a person
        self.replaces = False  # the strategy also replaces orders (fault replaces)
        self.halt_restarts = 0
        self.submitted: list[int] = []  # client order ids the engine returned
        self.hand_orders = self.hand_this_step = 0  # orders placed by hand (fault by_hand)
        self.hand_plan: dict[int, list[tuple[str, int, dict[str, float]]]] = {}
        self.start_engine()
        self.shim.hello(self.clock.now_ns)  # the platform connects

    # -- the parts -------------------------------------------------------------------
    def log(self, text: str) -> None:
        self.trace.append(f"step {self.step:4d} t={self.clock.now_ns % 10**12 / 1e9:8.2f}s "
                          f"{text}")

    def start_engine(self) -> None:
        self.engine_end = EngineEnd(self.network)
        store = StateStore(self.store_path)
        risk = RiskAdapter(self.config, clock="market", wall_clock=self.clock.time_ns)
        self.engine = Engine(
            EngineSettings(endpoint="sim://engine", heartbeat_ms=200, command_timeout_ms=2000,
                           snapshot_interval_s=5.0, compiled_receive=False),
            risk=risk, store=store, config=self.config, transport=self.engine_end,
            audit=lambda kind, **p: self.log(f"audit {kind} "
                                             f"{ {k: v for k, v in list(p.items())[:4]} }"))
        self.engine.start()
        self.log(f"engine up, state {self.engine.trading_state(ACCOUNT).name}")

    def crash_engine(self) -> None:
        """The process dies: no engine_stop, no goodbye; what the store accepted is on
        disk (a real SIGKILL is in tests/e2e; here the writer's queue is flushed)."""
        assert self.engine is not None and self.engine_end is not None
        self.engine_end.close()
        if self.engine.store is not None:
            self.engine.store.close()
        logging.getLogger("tickbridge").debug("engine crashed")
        self.engine = None

    def restart_engine(self) -> None:
        if self.engine is not None:
            self.crash_engine()
        self.start_engine()
        self.counts["engine restarts"] += 1

    # -- one step --------------------------------------------------------------------
    def apply(self, fault: Fault) -> None:
        self.counts[f"fault {fault.kind}"] += 1
        self.log(f"FAULT {fault}")
        net, kind = self.network, fault.kind
        if kind == "drop":
            net.drop_next += 1
        elif kind == "dup":
            net.dup_next += 1
        elif kind == "reorder":
            net.reorder()
        elif kind == "delay":
            net.delay_next.append(fault.arg)
        elif kind == "cut":
            net.cut_for(fault.arg)
        elif kind == "engine_crash":
            self.restart_engine()
        elif kind == "platform_crash":
            net.dead.add(self.shim.identity)
            self.shim = SimShim.restarted(self.shim, self.clock.now_ns,
                                          self.shim.platform.config.quirks)
            self.shim.hello(self.clock.now_ns)
        elif kind == "store_fail":
            assert self.engine is not None and self.engine.store is not None
            self.engine.store.close()  # every later write raises StoreFailed
            self.restart_at = self.step + max(1, fault.arg)
        elif kind == "platform_quirk":
            self.shim.platform.quirks.config = QuirkConfig(update_before_ack=True,
                                                           fill_before_working=True)
        elif kind in ("kill", "kill_flatten"):
            assert self.engine is not None
            flatten = kind == "kill_flatten"
            self.log(f"operator kill (flatten={flatten}): "
                     f"{self.engine.kill(flatten=flatten, source='sim')}")
            if not self.engine.store_failure.failed:
                self.operator_state = TradingState.HALTED
        elif kind == "replaces":
            self.replaces = True
        elif kind == "by_hand":
            self.place_by_hand(fault)
        elif kind == "clock_jump":
            self.clock.advance(fault.arg * 1_000_000_000)

    def place_by_hand(self, fault: Fault) -> None:
        """The trader places an order at the platform itself (market or limit, 1 to 3),
        and plans what they do with it next: replace it, then cancel it or have it filled
        (partly or wholly), at later steps. Its own random stream (seed, step, how many
        placed before at this step): the workload's draws do not depend on it, and removing
        another fault while shrinking leaves this one's."""
        self.hand_orders += 1
        self.hand_this_step += 1
        rng = random.Random(f"hand:{self.seed}:{fault.step}:{self.hand_this_step}")
        hand_id = HAND_ORDER_ID_BITS | self.hand_orders
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        limit = rng.random() < 0.6
        price = self.price + rng.randint(-4, 4) * 0.25
        self.by_hand("submit", hand_id, instrument_id=1, side=int(side),
                     quantity=rng.randint(1, 3),
                     order_type=int(OrderType.LIMIT if limit else OrderType.MARKET),
                     price=price if limit else 0.0)
        if not limit:
            return  # filled by the platform at once
        later = self.step + rng.randint(1, 40)
        if rng.random() < 0.5:
            self.hand_plan.setdefault(later, []).append(
                ("replace", hand_id, {"quantity": rng.randint(1, 3),
                                      "price": price + rng.randint(-2, 2) * 0.25}))
            later += rng.randint(1, 40)
        ending = rng.random()
        if ending < 0.4:
            self.hand_plan.setdefault(later, []).append(("cancel", hand_id, {}))
        elif ending < 0.8:
            self.hand_plan.setdefault(later, []).append(
                ("fill", hand_id, {"quantity": rng.randint(1, 3)}))
        # else: left working (the tape may fill it; a kill cancels it)

    def by_hand(self, action: str, hand_id: int, **fields: float) -> None:
        """One action of the trader's at the platform; what the platform says about it
        goes to the engine as the shim reports it (an external order, id 0)."""
        platform = self.shim.platform
        order = platform.matching.orders.get(hand_id)
        if action != "submit":
            if order is None or order.finished:
                return  # filled by the tape, canceled by a kill, or lost with the platform
            if action == "fill":
                fields = {"quantity": min(int(fields["quantity"]), order.remaining)}
        self.log(f"by hand: {action} {hand_id & ~HAND_ORDER_ID_BITS} {fields}")
        self.counts[f"by hand {action}"] += 1
        self.shim.out += platform.by_hand(action, hand_id, self.clock.now_ns, **fields)

    def workload(self) -> None:
        """A strategy and an operator at random (the same draws whatever the faults)."""
        engine, rng = self.engine, self.rng
        assert engine is not None
        roll = rng.random()
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        qty = rng.randint(1, 3)
        limit = rng.random() < 0.4
        offset = rng.randint(-4, 4) * 0.25
        pick = rng.random()
        if roll < 0.25:
            self.submit(side, qty, limit, offset)
        elif roll < 0.30:
            working = engine.router.working_orders(SYMBOL)
            if working:
                coid = working[int(pick * len(working))]
                self.log(f"cancel {coid}: {engine.router.cancel(coid)}")
        elif roll < 0.305:
            self.set_state(TradingState.HALTED)
        elif roll < 0.31:
            self.set_state(TradingState.REDUCING_ONLY)
        elif roll < 0.33:
            self.set_state(TradingState.ACTIVE)
        elif roll < 0.36 and self.replaces:  # a replace, racing the fills
            working = engine.router.working_orders(SYMBOL)
            if working:
                coid = working[int(pick * len(working))]
                self.log(f"replace {coid} qty {qty} price {self.price + offset}: "
                         f"{engine.router.replace(coid, qty, self.price + offset)}")
                self.counts["replaces sent"] += 1

    def set_state(self, state: TradingState) -> None:
        assert self.engine is not None
        self.engine.set_trading_state(state, None, source="sim-operator")
        # A state set while the store has failed cannot be kept (the engine is halted by
        # the store-failure policy meanwhile; the operator restarts it): not promised.
        if not self.engine.store_failure.failed:
            self.operator_state = state
        self.log(f"operator sets {state.name}")

    def submit(self, side: Side, qty: int, limit: bool, offset: float) -> None:
        engine = self.engine
        assert engine is not None
        state = engine.trading_state(ACCOUNT)
        before = self.engine_position()
        result = engine.router.submit(
            strategy="sim", symbol=SYMBOL, side=side, quantity=qty,
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            price=self.price + offset if limit else float("nan"), stop_price=float("nan"),
            tif=TimeInForce.DAY)
        self.log(f"submit {side.name} {qty} {'LMT' if limit else 'MKT'} in {state.name}: "
                 f"{result}")
        if isinstance(result, int):
            self.counts["orders accepted"] += 1
            self.submitted.append(result)
            self.last_accept = (state, side, qty, before, result)
        else:
            self.counts["orders refused"] += 1
            self.last_accept = None

    def engine_position(self) -> int:
        assert self.engine is not None
        router = self.engine.router
        return router.position(SYMBOL) if router.route(SYMBOL) is not None else 0

    def market(self) -> None:
        self.price = max(100.0, self.price + self.rng.choice((-0.25, 0.0, 0.0, 0.25)))
        self.shim.market(1, self.price, self.clock.now_ns)

    def pump(self) -> None:
        """Deliver what is due, let each side handle it, until nothing moves this step."""
        engine, net, now = self.engine, self.network, self.clock.now_ns
        for _ in range(50):
            net.deliver()
            moved = bool(net.to_engine or net.to_shim)
            while net.to_shim:
                self.shim.on_frame(net.to_shim.popleft(), now)
            if engine is not None:
                engine.poll(0)
                while net.to_engine:
                    engine.poll(0)
                self.durable(engine)
            self.shim.flush(now)
            if not moved:
                break

    @staticmethod
    def durable(engine: Engine) -> None:
        """Waits for the store's writer thread: what the engine wrote is on disk before
        the next poll, so when a frame is acknowledged does not depend on the thread's
        timing (a replay is exact, down to the shim's resends)."""
        if engine.store is None or engine.store_failure.failed:
            return
        with contextlib.suppress(StoreFailed):  # closed under it: the engine will see
            engine.store.sync().result(timeout=30)

    def tick(self, faults: list[Fault], *, workload: bool = True, market: bool = True
             ) -> None:
        self.last_accept = None
        self.hand_this_step = 0
        self.network.step = self.step
        for fault in faults:
            self.apply(fault)
        if self.restart_at is not None and self.step >= self.restart_at:
            self.restart_at = None
            self.log("operator restarts the engine after the store failure")
            self.restart_engine()
        for action, hand_id, fields in self.hand_plan.pop(self.step, []):
            self.by_hand(action, hand_id, **fields)
        if self.network.cut_until == self.step:
            self.log("link restored: the shim says hello again")
            self.shim.hello(self.clock.now_ns)
        if market:
            self.market()
        if workload:
            self.workload()
        if self.step % 4 == 0:
            self.shim.heartbeat(self.clock.now_ns)
        self.pump()
        self.shim.save(self.clock.now_ns)
        self.clock.advance(STEP_NS)
        self.step += 1

    def settle(self, steps: int) -> None:
        """Faults off, the link restored, no new orders: heartbeats flow, the shim says
        hello again (as after a reconnect), the engine asks for a snapshot and
        reconciles. The last QUIET_STEPS the market stands still (no trade, so no fill):
        what happened before has landed when the quiescence checks look (a limit order
        filled by the last step's trade had its fill still in flight)."""
        net = self.network
        net.drop_next = net.dup_next = 0
        net.delay_next.clear()
        net.cut_until = -1
        if self.restart_at is not None or (self.engine is not None and
                                           self.engine.store_failure.failed):
            self.restart_at = None
            self.restart_engine()
        self.log("settle: faults off, the shim says hello again")
        self.shim.hello(self.clock.now_ns)
        for n in range(steps):
            self.tick([], workload=False, market=n < steps - QUIET_STEPS)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
