"""The engine: one thread, one loop; this module only wires the parts and runs the loop.

The parts, each the one owner of its concept (docs/engine.md has the picture):
- Peers, Links, Inbound, Outbound, LinkTimers: the link to each shim (who it is, its
  state table, sequence and acknowledgement, resend, the outbox, heartbeats);
- OrderRouter (with ArmedOrders) over the compiled order book: execution;
- PreTrade and the risk gate: whether an order may go; TradingControl: the trading
  state and the kill;
- Reconciler: the platform's snapshots against the engine's picture;
- StrategyHost: the strategies; the EventBus carries execution's typed events to the
  store, the gate and the strategies.
The transport is injected (a ShimSocket by default), so the logic runs without sockets.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import zmq

from tickbridge._core.engine import MarketCore
from tickbridge.capture import FrameRecorder
from tickbridge.engine import bus as ev
from tickbridge.engine.audit_writer import AuditWriter
from tickbridge.engine.control import ControlServer
from tickbridge.engine.control_auth import Caller, control_auth
from tickbridge.engine.control_commands import handle_control
from tickbridge.engine.control_view import ControlView
from tickbridge.engine.copier import build_copier
from tickbridge.engine.copier_compiled import compiled_copies
from tickbridge.engine.flatten_orders import FlattenOrders
from tickbridge.engine.inbound import Inbound
from tickbridge.engine.link_state import LivenessEvent
from tickbridge.engine.link_timers import LinkTimers
from tickbridge.engine.links import Links
from tickbridge.engine.orders import OrderRouter
from tickbridge.engine.outbound import Outbound
from tickbridge.engine.peers import Peers
from tickbridge.engine.persistence import book_fill, save_transition
from tickbridge.engine.platform_link import PlatformLink
from tickbridge.engine.pre_trade import PreTrade
from tickbridge.engine.receiver import Receiver
from tickbridge.engine.reconciliation import ReconcileHooks, Reconciler
from tickbridge.engine.records import RecordDispatch
from tickbridge.engine.recovery import recover, resync_working
from tickbridge.engine.risk import RiskAdapter
from tickbridge.engine.settings import EngineSettings
from tickbridge.engine.shim_auth import account_keys
from tickbridge.engine.shim_socket import ShimSocket
from tickbridge.engine.store_failure import StoreFailure
from tickbridge.engine.strategy import Strategy
from tickbridge.engine.strategy_host import StrategyHost
from tickbridge.engine.trading_control import TradingControl
from tickbridge.protocol import Side
from tickbridge.reconcile.policy import ReconcilePolicy
from tickbridge.risk.reasons import TradingState
from tickbridge.store import StateStore

if TYPE_CHECKING:
    from tickbridge.config.models import TickbridgeConfig
    from tickbridge.engine.session import ShimSession

log = logging.getLogger("tickbridge.engine")

# Market-only frames the compiled receive path may take in a row without returning to
# Python (bounded, so the loop still looks at its timers and control socket).
ABSORB_FRAMES = 16
AuditSink = Callable[..., None]


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        strategies: Iterable[Strategy] = (),
        *,
        audit: AuditSink | None = None,
        context: zmq.Context | None = None,
        risk: RiskAdapter | None = None,
        store: StateStore | None = None,
        config: TickbridgeConfig | None = None,
        control_endpoint: str | None = None,
        capture: FrameRecorder | None = None,
        order_id_epoch: int | None = None,
        transport: Any = None,
    ) -> None:
        self.settings, self.risk, self.store, self.config = settings, risk, store, config
        self.capture = capture
        self.session_id = int.from_bytes(os.urandom(8), "little") or 1
        self.audit = AuditWriter(audit, store)
        self._context = context or zmq.Context.instance()
        self.transport = transport or ShimSocket(settings, self._context)
        self.endpoint = self.transport.endpoint
        self.core = MarketCore(bar_interval_ns=int(settings.bar_interval_s * 1e9),
                               ema_fast=settings.ema_fast, ema_slow=settings.ema_slow)
        self.bus = ev.EventBus()
        self.trading = TradingControl(risk=risk, store=store, config=config, audit=self.audit)
        self.store_failure = StoreFailure(store, self.trading.halt_for_store)
        self.audit.guard = self.store_failure.guard
        self.peers = Peers(self.core, gated=risk is not None, trading_state=self.trading.state)
        self.outbound = Outbound(transport=self.transport, core=self.core, peers=self.peers,
                                 session_id=self.session_id, outbox_limit=settings.outbox_limit,
                                 audit=self.audit, capture=capture)
        # PlatformStatus in, TradingState out (platform_link.py).
        self.platform_link = PlatformLink(peers=self.peers, audit=self.audit,
                                          trading_state=self.trading.state,
                                          send=self.outbound.send)
        policy = config.reconcile if config is not None else ReconcilePolicy()
        self.router = OrderRouter(
            core=self.core, outbound=self.outbound, bus=self.bus, audit=self.audit, risk=risk,
            pre_trade=PreTrade(core=self.core, risk=risk, trading_state=self.trading.state,
                               book=lambda: self.router.book,
                               platform_refusal=self.platform_link.refusal),
            epoch=order_id_epoch)
        # Armed orders are made and checked in the core, with the engine's own book and
        # compiled gate.
        self.core.attach(self.router.book, risk.gate.core if risk is not None else None)
        router = self.router
        self.links = Links(peers=self.peers, outbound=self.outbound, settings=settings,
                           config=config, account_keys=account_keys(settings, config),
                           audit=self.audit, routed=lambda session: any(
                               route is not None and route[0] is session
                               for route in map(router.route, router.symbols())))
        events, trading, router = self.router.events, self.trading, self.router

        def compared(session: ShimSession) -> None:
            """A snapshot was reconciled: orders it made known (adopted) or finished count
            in the gate's working quantities; the link is confirmed."""
            if risk is not None:
                resync_working(risk, router.book)
            self.links.confirm(session)
            if self.copier is not None:
                self.copier.guarded(self.copier.on_confirmed)(session)

        self.reconciler = Reconciler(self.router.book, lambda: policy, ReconcileHooks(
            apply_update=events.on_order_update,
            book_fill=lambda s, r: self._flatten_orders.on_fill(s, r) or events.on_fill(s, r),
            adopt_order=events.adopt, adopt_quantity=events.adopt_quantity,
            mark_canceled=events.mark_canceled, halt=trading.halt,
            flatten=lambda account, why: trading.kill(flatten=True, account=account,
                                                      source=why)), self.audit)
        self.copier = build_copier(config, router=self.router, audit=self.audit,
                                   trading=self.trading, store=store, market=self.core.state,
                                   request_snapshot=self.outbound.request_snapshot_now)
        if self.copier is not None:
            self.reconciler.on_external = self.copier.hooks()
        # copy_fills copies sent by the core on the leader's Position (copier_compiled.py);
        # its picture refreshed after every frame, control request and timer pass.
        self.copies = compiled_copies(self.copier, core=self.core, risk=risk, bus=self.bus,
                                      audit=self.audit,
                                      session_by_slot=self.outbound.session_by_slot)
        self._refresh_copies = self.copies.after_frame if self.copies else lambda: None
        self.strategies = StrategyHost(
            strategies, self.router, audit=self.audit,
            map_symbol=risk.map_symbol if risk is not None else lambda symbol: None)
        flatten = FlattenOrders(book=self.router.book, store=store,
                                guard=self.store_failure.guard, audit=self.audit)
        self.router.store_failed = lambda: bool(self.store_failure.failed)
        self._flatten_orders = flatten
        self.inbound = Inbound(
            core=self.core, peers=self.peers, links=self.links, outbound=self.outbound,
            store=store, audit=self.audit, guard=self.store_failure.guard,
            on_signal=self.strategies.on_signal,
            on_fired=self.copies.fired_with(self.router.armed.on_fired) if self.copies
            else self.router.armed.on_fired,
            after_frame=self._refresh_copies,
            on_record=RecordDispatch(core=self.core, links=self.links, router=self.router,
                                     reconciler=self.reconciler, compared=compared,
                                     platform_link=self.platform_link,
                                     on_instrument=self.strategies.on_instrument,
                                     flatten=flatten))
        self.inbound.capture = capture
        self.timers = LinkTimers(peers=self.peers, links=self.links, outbound=self.outbound,
                                 settings=settings, audit=self.audit)
        self.view = ControlView(self)  # the dashboard request (control_view.py)
        self.receiver = Receiver(transport=self.transport, inbound=self.inbound,
                                 key=self.transport.key, spin_s=settings.busy_poll_us / 1e6,
                                 cpu=settings.cpu)
        self._wire()
        # The compiled receive path (frame_pump.cpp) when the transport has one; with a
        # capture every frame comes to Python (it records them).
        self.peers.pump = self.receiver.start_pump(
            self.core, self.session_id, compiled=settings.compiled_receive,
            absorb=ABSORB_FRAMES if capture is None else 0)
        self.control = (ControlServer(self._context, control_endpoint, self.handle_control,
                                      auth=control_auth(config, store.path if store else None),
                                      insecure=settings.insecure_bind)
                        if control_endpoint else None)
        self.recovered = recover(store, risk, self.router.book, self.trading)
        self.running = True
        self._started = False
        self._last_timer = 0.0
        self._last_risk_eval = 0.0

    def _wire(self) -> None:
        """Who hears what, in the order it must happen (the store first)."""
        on = self.bus.subscribe
        if self.store is not None:
            store, book, guard = self.store, self.router.book, self.store_failure.guard
            on(ev.TransitionApplied, lambda e: guard(
                save_transition, store, book.order(e.client_order_id), e.event, e.before,
                e.time_ns))
            on(ev.FillBooked, lambda e: guard(book_fill, store, e.order, e.record,
                                              e.execution_id))
        if self.risk is not None:
            risk = self.risk
            on(ev.FillBooked, lambda e: risk.on_fill(
                e.order.account, e.order.instrument, Side(int(e.record["side"])),
                int(e.record["quantity"]), float(e.record["price"])))
            on(ev.OrderDone, lambda e: risk.on_order_done(
                e.order.account, e.order.instrument, Side(int(e.order.side)),
                int(e.order.leaves_qty)))
        replaces = self.router.replace_working
        on(ev.TransitionApplied, lambda e: replaces.settle(e.client_order_id))
        on(ev.FillBooked, lambda e: replaces.settle(int(e.order.client_order_id)))
        on(ev.OrderDone, lambda e: replaces.settle(int(e.order.client_order_id)))
        if self.risk is not None:
            risk = self.risk
            on(ev.WorkingReserved, lambda e: risk.move_working(
                e.account, e.symbol, Side(e.side), e.quantity))
            on(ev.WorkingReleased, lambda e: risk.move_working(
                e.account, e.symbol, Side(e.side), -e.quantity))
        on(ev.OrderChanged, self.strategies.on_order)
        on(ev.FillForStrategy, self.strategies.on_fill)
        on(ev.ArmedOrderFired, self.strategies.on_armed)
        on(ev.OrderRefused, self.view.on_refused)
        on(ev.FillBooked, self.view.on_fill)
        on(ev.TransitionApplied, self.view.on_transition)
        on(ev.ExternalOrder, lambda e: self.reconciler.on_unknown_order(e.session, e.record))
        on(ev.ExternalFill, lambda e: self.reconciler.on_external_fill(e.session, e.record))
        on(ev.ExternalFill, lambda e: self._flatten_orders.on_external_fill(e.session, e.record))
        if self.copier is not None:
            on(ev.ExternalFill, self.copier.guarded(self.copier.on_external_fill))
        self.outbound.on_lost = lambda session, why: self.links.mark_lost(
            session, why, LivenessEvent.OUTBOX_FULL)
        self.outbound.on_snapshot_requested = self.reconciler.expect
        self.peers.on_forget = self.reconciler.forget
        self.links.on_lost = self.trading.on_shim_lost
        self.peers.orders_allowed = self.platform_link.orders_allowed
        self.peers.on_synced = self.platform_link.sync
        self.trading.note_reason = self.platform_link.note_reason
        self.links.on_accepted = self.outbound.request_snapshot
        self.trading.peers, self.trading.router = self.peers, self.router
        self.trading.market = self.core.state

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        # What exists now (modules, config, restored orders) lives as long as the engine:
        # out of the collector's reach, a full collection stops scanning it on the
        # order path (p99 of the tick-to-order round trip).
        gc.collect()
        gc.freeze()
        self.audit("engine_start", endpoint=self.settings.endpoint, session_id=self.session_id)
        if self.recovered is not None:
            self.audit("safety_restored", **self.recovered.as_audit())
        self.trading.audit_kill_journal()
        self.strategies.start()

    def close(self) -> None:
        self.strategies.stop()
        self.audit("engine_stop", frames=self.frames, ticks=self.ticks)
        if self.control is not None:
            self.control.close()
        self.peers.pump = self.receiver.pump = None  # it uses the socket: gone first
        self.receiver.unpin()
        self.transport.close()
        if self.capture is not None:
            self.capture.close()
        if self.store is not None:
            self.store.close()

    def run(self, *, until: Callable[[], bool] | None = None, seconds: float | None = None,
            on_idle: Callable[[], None] | None = None) -> None:
        """Serve until stopped, ``until()`` is true, or ``seconds`` have passed."""
        self.start()
        deadline = None if seconds is None else time.monotonic() + seconds
        while self.running:
            self.poll(timeout_ms=10)
            if on_idle is not None:
                on_idle()
            if until is not None and until():
                break
            if deadline is not None and time.monotonic() >= deadline:
                break

    def poll(self, timeout_ms: int = 0) -> int:
        """Handles what has arrived (waiting up to timeout_ms for the first frame) and the
        timers; returns the number of frames handled. The control socket is looked at on
        every pass (ZMQ_EVENTS, no system call): a request waits at most timeout_ms."""
        control = self.control
        if control is not None and control.socket.get(zmq.EVENTS) & zmq.POLLIN:
            control.poll()
            self._refresh_copies()
        handled = self.receiver.receive(timeout_ms)
        now = time.monotonic()
        if now - self._last_timer >= 0.005:
            self._last_timer = now
            self._timers(now)
        return handled

    def _timers(self, now: float) -> None:
        self.trading.drain_kill_results()
        self.platform_link.flush()  # TradingStates due since the last tick
        self.store_failure.check()
        if self.risk is not None and now - self._last_risk_eval >= 0.25:
            self._last_risk_eval = now
            self.trading.evaluate_loss()
        self.timers.tick(now)
        if self.copier is not None:
            self.copier.guarded(self.copier.tick)(now)
            self._refresh_copies()

    # -- what the rest of the world calls --------------------------------------------
    def handle_frame(self, identity: bytes, frame: memoryview | bytes,
                     pumped: tuple | None = None, key: str = "") -> None:
        self.inbound.handle_frame(identity, frame, pumped, key)

    def trading_state(self, account: str | None = None) -> TradingState:
        return self.trading.state(account)

    def set_trading_state(self, state: TradingState, account: str | None = None, *,
                          source: str = "engine") -> None:
        self.trading.set(state, account, source=source)

    def kill(self, *, flatten: bool, account: str | None = None, source: str = "engine"
             ) -> list[str]:
        return self.trading.kill(flatten=flatten, account=account, source=source)

    def mode_banner(self) -> str:
        if self.config is None:
            return "PAPER MODE (no configuration: simulator defaults)"
        from tickbridge.risk.mode import mode_banner

        return mode_banner(self.config)

    def handle_control(self, request: dict[str, Any],
                       caller: Caller | None = None) -> dict[str, Any]:
        """One control request from ``caller`` (None: not authenticated, refused)."""
        return handle_control(self, request, caller)

    # -- read-only views (status, tests) ----------------------------------------------
    @property
    def sessions(self) -> dict[bytes, ShimSession]:
        return self.peers.sessions

    @property
    def receive_path(self) -> str:
        """'compiled' (frame_pump.cpp reads, ingests and sends armed orders) or 'python'."""
        return "python" if self.receiver.pump is None else "compiled"

    @property
    def frames(self) -> int:
        return self.inbound.counters.frames

    @property
    def ticks(self) -> int:
        return self.inbound.counters.ticks

    @property
    def bars(self) -> int:
        return self.strategies.bars

    @property
    def protocol_errors(self) -> int:
        return self.links.protocol_errors
