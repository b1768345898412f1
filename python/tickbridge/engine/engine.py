"""The engine loop: one thread, one ROUTER socket, one wake-up per frame.

Each frame's bytes go to the compiled MarketCore, which validates the frame whole,
applies every tick to the instrument's market state and signals, and hands back only the
records Python must see (hello, definitions, order events) and the signal events (closed
bars, fired triggers) that strategies are called with.
"""

from __future__ import annotations

import gc
import logging
import os
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from errno import EAGAIN
from typing import TYPE_CHECKING, Any

import numpy as np
import zmq

from tickbridge._core.engine import MarketCore
from tickbridge._core.protocol import validate_frame
from tickbridge.capture import Direction, FrameRecorder
from tickbridge.engine import pre_trade
from tickbridge.engine.armed import SENT, SUBMIT_SIZE
from tickbridge.engine.control import ControlServer
from tickbridge.engine.control_auth import Caller, control_auth
from tickbridge.engine.control_commands import handle_control
from tickbridge.engine.events import FillEvent, bar_from_event
from tickbridge.engine.orders import OrderRouter
from tickbridge.engine.persistence import book_fill, restore_orders, save_transition, stored_session
from tickbridge.engine.recovery import (
    RecoveredSafety,
    restore_gate,
    restore_trading_states,
    resync_working,
    trading_day_start_ns,
)
from tickbridge.engine.risk import RiskAdapter
from tickbridge.engine.session import (
    HeaderFault,
    HeaderRefused,
    Instrument,
    PendingCommand,
    ShimSession,
)
from tickbridge.engine.settings import EngineSettings
from tickbridge.engine.shim_auth import AccountKeys, account_held, bind_account_keys, check_key
from tickbridge.engine.strategy import Context, Strategy
from tickbridge.engine.transport import ZapHandler, authorized_keys, bind_router, frame_pump
from tickbridge.protocol import (
    DTYPES,
    FRAME_HEADER,
    OrderStatus,
    OrderType,
    Platform,
    ProtocolError,
    RecordType,
    Side,
    SnapshotPart,
    SnapshotPhase,
    encode_packed,
    pack_record,
)
from tickbridge.reconcile.policy import Action, ReconcilePolicy
from tickbridge.risk.reasons import RiskDecision, TradingState
from tickbridge.store import StateStore

if TYPE_CHECKING:
    from tickbridge.config.models import TickbridgeConfig

log = logging.getLogger("tickbridge.engine")

_HEADER_SIZE = FRAME_HEADER.itemsize
_SESSION_SEQUENCE = struct.Struct("<QQ")  # its session_id and sequence, at byte 8
# Market-only frames the compiled receive path may take in a row without returning to
# Python (bounded, so the loop still looks at its timers and control socket).
ABSORB_FRAMES = 16
_HEARTBEAT = struct.Struct("<HHIQq")  # the Heartbeat record (protocol/layout.py)
_DEFAULT_POLICY = ReconcilePolicy()
_STATUS_NAMES = {int(s): s.name for s in OrderStatus}
_FINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}
# Engine states with no command in flight: a snapshot that disagrees with them is drift.
_SETTLED = {"ACKNOWLEDGED", "WORKING", "PARTIALLY_FILLED", *_FINAL}
# Records whose request_id answers a snapshot request (the peer is not ignoring them).
_ANSWERS = {RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT, RecordType.SNAPSHOT_BOUNDARY}
AuditSink = Callable[..., None]


def _oldest(pending: dict[int, PendingCommand], before: float
            ) -> Iterator[tuple[int, PendingCommand]]:
    """The commands sent before ``before`` (monotonic s), oldest first."""
    for request_id, command in pending.items():
        if command.sent_monotonic >= before:
            return
        yield request_id, command


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _user_id(frame: Any) -> str:
    """The ZAP User-Id of the connection a received frame came on ("" when none): a
    pyzmq Frame, or the compiled receive path's memoryview of its ReceivedFrame."""
    try:
        if isinstance(frame, memoryview):
            return frame.obj.user_id()
        return frame.get("User-Id") if isinstance(frame, zmq.Frame) else ""
    except (zmq.ZMQError, AttributeError):
        return ""


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
    ) -> None:
        self.settings = settings
        # Every frame in and out, raw, for `tickbridge replay` (not the record of truth).
        self.capture = capture
        # Replay: frames go to `replay_out` instead of the socket.
        self.replay_out: list[tuple[bytes, bytes]] | None = None
        self.risk = risk
        self.store = store
        self.config = config
        self.session_id = int.from_bytes(os.urandom(8), "little") or 1
        self._audit_sink = audit
        self._context = context or zmq.Context.instance()
        # CURVE: each connection's client key (ZAP User-Id) is read with its frames, and
        # (with a config) an account's hello is taken only from a key bound to it.
        self._curve = settings.curve_secret_key_file is not None
        self._account_keys: AccountKeys | None = None
        if self._curve and config is not None:
            assert settings.curve_authorized_keys_dir is not None  # bind_router checks
            self._account_keys = bind_account_keys(
                ((a.name, a.curve_public_keys) for a in config.accounts),
                authorized_keys(settings.curve_authorized_keys_dir))
        self.socket = bind_router(self._context, settings.endpoint,
                                  insecure=settings.insecure_bind,
                                  curve_secret_key_file=settings.curve_secret_key_file,
                                  curve_authorized_keys_dir=settings.curve_authorized_keys_dir,
                                  max_message_bytes=settings.max_message_bytes,
                                  receive_hwm=settings.receive_hwm)
        # The bound address (differs from settings.endpoint when the port was '*').
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.core = MarketCore(bar_interval_ns=int(settings.bar_interval_s * 1e9),
                               ema_fast=settings.ema_fast, ema_slow=settings.ema_slow)
        self.router = OrderRouter(self, self.audit, epoch=order_id_epoch)
        # Armed orders are made and checked in the core: it uses the engine's own book
        # and compiled gate (the pure-Python twin cannot be called from C++).
        gate = risk.gate.core if risk is not None and not risk.gate.pure_python else None
        self.core.attach(self.router.book, gate)
        # The compiled receive path (frame_pump.cpp); None: frames are read in Python.
        self._pump = (frame_pump(self.core, self.socket, self.session_id)
                      if settings.compiled_receive else None)
        if self._pump is not None and capture is None:  # a capture records every frame
            self._pump.set_absorb(ABSORB_FRAMES)
        self.control = (ControlServer(self._context, control_endpoint, self.handle_control,
                                      auth=control_auth(config, store.path if store else None),
                                      insecure=settings.insecure_bind)
                        if control_endpoint else None)
        self._rcvtimeo = -1  # the shim socket's RCVTIMEO as last set (poll's wait)
        self._spin_s = settings.busy_poll_us / 1e6
        self._last_frame = 0.0  # perf_counter of the last frame handled
        self._budget_end = 0.0  # monotonic end of the current run of frames
        self._last_risk_eval = 0.0
        self._states: dict[str | None, TradingState] = {}
        self.kills = 0
        self._kill_results: deque[Any] = deque()  # from kill-on-shim-lost threads
        # (account, symbol) -> (platform, engine) position difference last reported
        self._position_drift: dict[tuple[str, str], tuple[int, int]] = {}
        # Safety state first: nothing is accepted before it is back (engine/recovery.py).
        self.recovered: RecoveredSafety | None = None
        self._trading_day = 0  # start (UTC ns) of the trading day the gate's PnL is of
        if store is not None:
            restored = restore_orders(store, self.router.book)
            if restored:
                log.info("restored %d orders from %s", restored, store.path)
            states = restore_trading_states(store, self._apply_trading_state)
            if risk is not None:
                now = risk.wall_clock()
                self.recovered = restore_gate(risk, store, self.router.book, now)
                self.recovered.trading_states = states
                self._trading_day = trading_day_start_ns(now)
            if states:
                log.warning("trading state restored from %s: %s", store.path,
                            ", ".join(f"{k} {v}" for k, v in states.items()))
        self.sessions: dict[bytes, ShimSession] = {}
        self._by_slot: dict[int, ShimSession] = {}  # MarketCore session slot -> session
        self.strategies = list(strategies)
        self.contexts = {s.name: Context(self.router, s) for s in self.strategies}
        self.running = True
        self.ticks = 0
        self.frames = 0
        self.bars = 0
        self.protocol_errors = 0
        self.peers_forgotten = 0
        # Malformed frames reported one by one in the current second, and those counted
        # only (settings.protocol_error_audits_per_s).
        self._error_window_end = 0.0
        self._error_reports = 0
        self._errors_suppressed = 0
        self.external_orders = 0
        self._next_snapshot_request = 1
        self._started = False
        self._last_timer = 0.0

    @property
    def receive_path(self) -> str:
        """'compiled' (frame_pump.cpp reads, ingests and sends armed orders) or 'python'."""
        return "python" if self._pump is None else "compiled"

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
        if self.store is not None:
            self._audit_kill_journal(self.store)
        for strategy in self.strategies:
            self._call(strategy, "on_start")

    def _audit_kill_journal(self, store: StateStore) -> None:
        """Kill actions taken while this engine was down go into the audit chain now."""
        from tickbridge.risk.kill_switch import clear_kill_journal, read_kill_journal

        entries = read_kill_journal(store.path)
        for entry in entries:
            log.warning("kill switch used while the engine was down: %s", entry)
            self.audit("kill", source="kill cli (engine not answering)", **entry)
            if "unreadable" in entry or entry.get("account") is None:
                account = None  # a torn line: the widest halt is the safe reading
            else:
                account = str(entry["account"])
            # The kill's halt is in force now: a restart must not undo it.
            self.set_trading_state(TradingState.HALTED, account,
                                   source="kill cli (engine not answering)")
        if entries:
            store.sync().result(timeout=30)
            clear_kill_journal(store.path)

    def close(self) -> None:
        for strategy in self.strategies:
            self._call(strategy, "on_stop")
        self.audit("engine_stop", frames=self.frames, ticks=self.ticks)
        if self.control is not None:
            self.control.close()
        self._pump = None  # it uses the socket: gone first
        self.socket.close(linger=200)
        if self._curve:
            ZapHandler.release(self._context)
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
        """Handle what has arrived (waiting up to timeout_ms for the first frame) and the
        timers; returns the number of frames handled.

        The wait is a blocking receive on the shim socket (RCVTIMEO), not zmq_poll over
        both sockets: it wakes 15-20 us sooner on a frame (the tick-to-order path). The
        control socket is looked at on every pass (ZMQ_EVENTS, no system call), so a
        control request waits at most timeout_ms."""
        control = self.control
        if control is not None and control.socket.get(zmq.EVENTS) & zmq.POLLIN:
            control.poll()
        if self._pump is not None:
            return self._poll_pump(self._pump, timeout_ms)
        socket = self.socket
        if timeout_ms and self._spin_s:
            # Busy-poll (settings.busy_poll_us) for a while after the last frame only:
            # an idle engine sleeps.
            spin_end = min(self._last_frame + self._spin_s, time.perf_counter() +
                           timeout_ms / 1000)
            while time.perf_counter() < spin_end:
                if socket.get(zmq.EVENTS) & zmq.POLLIN:
                    timeout_ms = 0
                    break
        if timeout_ms != self._rcvtimeo:
            socket.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._rcvtimeo = timeout_ms
        handled = 0
        while True:
            try:  # [identity, frame]: two receives, less Python than recv_multipart
                identity = socket.recv()
            except zmq.Again:
                break
            frame = socket.recv(copy=False) if socket.rcvmore else b""
            while socket.rcvmore:  # a peer sending multipart messages: not ours to read
                socket.recv()
                frame = b""  # refused as malformed (truncated) below, that peer dropped
            key = _user_id(frame) if self._curve else ""
            self.handle_frame(identity, frame.buffer if frame else frame, key=key)
            handled += 1
            self._last_frame = time.perf_counter()
            # More queued? (ZMQ_EVENTS: cheaper than a receive that raises Again.)
            if not socket.get(zmq.EVENTS) & zmq.POLLIN:
                break
            if not self._within_budget(handled):
                break
        self._timers()
        return handled

    def _poll_pump(self, pump: Any, timeout_ms: int) -> int:
        """poll() through the compiled receive path: it waits (spinning first, like the
        Python loop), reads, ingests and sends armed Submits without the GIL."""
        spin_us = 0
        if timeout_ms and self._spin_s:
            spin_us = int(max(0.0, min(self._last_frame + self._spin_s - time.perf_counter(),
                                       timeout_ms / 1000)) * 1e6)
        handled = 0
        while True:
            got = pump.pump(timeout_ms if not handled else 0, spin_us if not handled else 0)
            if got is None:
                break
            if got.absorbed is not None:
                a = got.absorbed
                self._absorbed(a.slot, a.frames, a.ticks, a.last_sequence)
            if got.identity is not None:
                key = _user_id(got.frame) if self._curve else ""
                self.handle_frame(got.identity, got.frame, got if got.handled else None,
                                  key=key)
            handled += 1
            self._last_frame = time.perf_counter()
            if not self._within_budget(handled):
                break
        self._timers()
        return handled

    def _absorbed(self, slot: int, frames: int, ticks: int, last_sequence: int) -> None:
        """Market-only frames the compiled receive path took in a row (nothing in them
        for Python): booked as handle_frame would have, one by one."""
        session = self._by_slot[slot]
        session.last_rx = time.monotonic()
        for sequence in range(last_sequence - frames + 1, last_sequence + 1):
            session.book(sequence)
        session.pump_view = (session.peer_session_id, session.last_sequence)
        self.frames += frames
        session.frames += frames
        self.ticks += ticks
        session.ticks += ticks

    def _within_budget(self, handled: int) -> bool:
        """Frames are handled in a run bounded by time, so heartbeats and timers keep
        their pace under a flood."""
        if handled == 1:
            self._budget_end = time.monotonic() + 0.02
        elif handled % 16 == 0 and time.monotonic() >= self._budget_end:
            return False
        return True

    # -- inbound ---------------------------------------------------------------------
    def handle_frame(self, identity: bytes, frame: memoryview | bytes,
                     pumped: Any | None = None, key: str = "") -> None:
        """One frame from a peer. `pumped`: what the compiled receive path already did
        with it (a Pumped: the ingest result or its error, and the Submits it sent),
        else None.
        `key`: the connection's CURVE client key (its ZAP User-Id), "" without CURVE."""
        if self.capture is not None:
            self.capture.record(Direction.IN, frame, identity)
        session = self.sessions.get(identity)
        if session is not None and key != session.curve_key:
            # A routing id is chosen by the client: another key's connection may claim a
            # departed peer's id. Its frames are not that peer's.
            self._key_changed(session, key)
            return
        if session is None:
            session = ShimSession(identity=identity, slot=self.core.add_session(),
                                  curve_key=key)
            self.sessions[identity] = session
            self._by_slot[session.slot] = session
            if self._pump is not None:
                self._pump.add_peer(identity, session.slot)
            self._sync_armed(session)  # disabled until its hello is accepted
            log.info("new peer %s", identity.hex())
        session.last_rx = time.monotonic()
        session.gone = False  # a frame came: its connection is open
        if session.lost:
            session.lost = False
            log.warning("%s is back", session.name)
            self.audit("shim_back", shim=session.name)
            self._sync_armed(session)
        sent = None
        if pumped is None:
            if len(frame) >= _HEADER_SIZE:
                peer_session, sequence = _SESSION_SEQUENCE.unpack_from(frame, 8)
                zero = not peer_session or not sequence
                if zero or (peer_session == session.peer_session_id
                            and session.is_booked(sequence)):
                    # Validated before it is taken as a duplicate: a malformed resend, or a
                    # new peer's zeroed header (0 == its unset view), is refused and logged,
                    # never acknowledged in silence.
                    try:
                        validate_frame(frame)
                    except ProtocolError as error:
                        self._drop(session, error)
                        return
                    if zero:
                        fault = HeaderFault.ZERO_SESSION if not peer_session \
                            else HeaderFault.ZERO_SEQUENCE
                        self._drop(session, HeaderRefused(
                            fault, f"{fault.name.lower().replace('_', ' ')} at byte "
                                   f"{fault.value}: session ids and sequences start at 1"))
                        return
                    session.duplicates += 1  # a resend of what we booked: ack it, apply nothing
                    session.ack_due = True
                    return
            try:
                result = self.core.ingest(session.slot, frame)
            except ProtocolError as error:
                self._drop(session, error)
                return
        else:
            result, error, sent = pumped.ingested, pumped.error, pumped.sent
            if error is not None:
                self._drop(session, error)
                return
        others, fired = result.others, result.fired
        if fired:
            if sent is not None:  # the compiled receive path sent them already
                self._sent_directly(sent)
            elif result.submits:  # first of all: the tick-to-order path
                self._send_armed(fired, result.submits)
            self.router.armed.on_fired(fired)
        peer_session, sequence = result.session_id, result.sequence
        self.frames += 1
        session.frames += 1
        self.ticks += result.ticks
        session.ticks += result.ticks
        if result.unknown_instrument:
            log.warning("%s: %d market data records for undefined instrument ids",
                        session.name, result.unknown_instrument)
        if peer_session != session.peer_session_id:
            hello_first = bool(others) and others[0].type == RecordType.HELLO
            session.reset_peer(peer_session)
            if not hello_first and session.accepted:
                # Not the peer whose hello was accepted (a restarted shim says hello
                # first; another process may reuse a departed peer's routing id): nothing
                # it says counts until it says hello.
                session.accepted = False
                self._sync_armed(session)
                log.error("%s: frame %d of an unknown peer session without a hello; "
                          "ignored until it says hello", session.name, sequence)
                self.audit("peer_session_changed", shim=session.name, sequence=sequence)
        elif sequence > session.last_sequence + 1:
            session.gaps += 1
            log.warning("%s: sequence gap: expected %d, got %d; snapshot requested",
                        session.name, session.last_sequence + 1, sequence)
            self.audit("sequence_gap", shim=session.name, expected=session.last_sequence + 1,
                       got=sequence)
            self.request_snapshot(session)
        elif sequence < session.last_sequence:
            log.info("%s: resent frame %d applied (not booked before)", session.name, sequence)
        session.book(sequence)
        for other in others:
            rtype, offset = other.type, other.offset
            record = np.ndarray((1,), DTYPES[RecordType(rtype)], frame, offset)[0]
            self._on_record(session, RecordType(rtype), record)
            if rtype in _ANSWERS and int(record["request_id"]) == session.snapshot_id:
                session.snapshot_misses = 0  # it answers: snapshot requests resume
        if self.store is not None and session.ack_due:
            # Acknowledged to the shim only once this frame's order events are on disk.
            session.unsynced[sequence] = self.store.book_sequence(stored_session(
                peer_session, session.account,
                session.platform.name if session.platform else "UNKNOWN", sequence))
        for event in result.events:
            self._on_signal(event)
        if self._pump is not None:
            self._sync_pump(session, pumped is not None, peer_session, sequence)

    def _sync_pump(self, session: ShimSession, pumped: bool, peer_session: int,
                   sequence: int) -> None:
        """The compiled receive path ingests only the next frame of the peer session it
        was told of; it is told again whenever the engine's view moved otherwise."""
        if pumped:
            session.pump_view = (peer_session, sequence)  # what the pump now holds
        view = (session.peer_session_id, session.last_sequence)
        if view != session.pump_view and session.identity in self.sessions:
            self._pump.set_peer(session.slot, *view)
            session.pump_view = view

    def _sent_directly(self, sent: list[Any]) -> None:
        """Accounts for the frames the compiled receive path sent (or could not)."""
        for one in sent:
            slot, frame, errno = one.slot, one.frame, one.errno
            session = self._by_slot[slot]
            if self.capture is not None:
                self.capture.record(Direction.OUT, frame, session.identity)
            if errno == 0:
                session.last_tx = time.monotonic()
            else:
                self._send_failed(session, frame, errno != EAGAIN, os.strerror(errno))

    def _key_changed(self, session: ShimSession, key: str) -> None:
        """A frame on a known routing id from another CURVE key: dropped, audited; the
        session keeps its key (its account is not the newcomer's)."""
        session.key_mismatches += 1
        if session.key_mismatches == 1:  # once per session: a flood is not an audit flood
            log.error("%s: a frame from key %s on the routing id of key %s; ignored "
                      "(and every such frame after it)", session.name, key or "none",
                      session.curve_key or "none")
            self.audit("peer_key_mismatch", shim=session.name, key=key,
                       expected=session.curve_key)

    def _drop(self, session: ShimSession, error: ProtocolError | HeaderRefused) -> None:
        self.protocol_errors += 1
        self._report_protocol_error(session, error)
        self.sessions.pop(session.identity, None)
        if self._pump is not None:
            self._pump.remove_peer(session.identity)
        session.lost = True  # gone: nothing more is sent to it from the tick path
        self._sync_armed(session)
        if self._may_forget(session):
            # Nothing refers to a peer that never completed a hello: its slot is reused
            # by the next new peer, so garbage from new identities costs no memory.
            self._forget(session)

    def _report_protocol_error(self, session: ShimSession,
                               error: ProtocolError | HeaderRefused) -> None:
        """Logged and audited one by one up to protocol_error_audits_per_s; beyond that
        counted, and the count audited once a second (_flush_suppressed)."""
        now = time.monotonic()
        if now >= self._error_window_end:
            self._flush_suppressed()
            self._error_window_end = now + 1.0
            self._error_reports = 0
        if self._error_reports >= self.settings.protocol_error_audits_per_s:
            self._errors_suppressed += 1
            return
        self._error_reports += 1
        log.error("%s: malformed frame: %s; peer dropped, it must say hello again",
                  session.name, error)
        self.audit("protocol_error", shim=session.name, code=error.code.name,
                   offset=error.offset, reason=str(error))

    def _flush_suppressed(self) -> None:
        if self._errors_suppressed:
            log.error("%d more malformed frames in the last second (not logged one by one)",
                      self._errors_suppressed)
            self.audit("protocol_errors_suppressed", count=self._errors_suppressed,
                       limit_per_s=self.settings.protocol_error_audits_per_s)
            self._errors_suppressed = 0

    def _may_forget(self, session: ShimSession) -> bool:
        """No hello completed, and no route (so no order or armed order) uses its slot:
        a shim refused at a second hello may still be the route of its first's symbols."""
        return session.forgettable() and not any(
            route is not None and route[0] is session
            for route in map(self.router.route, self.router.symbols()))

    def _forget(self, session: ShimSession) -> None:
        """Frees everything of a peer that never completed a hello: its session, its
        compiled session slot (reused) and its place in the receive path."""
        if self._by_slot.get(session.slot) is not session:
            return  # forgotten already
        if self.sessions.get(session.identity) is session:
            del self.sessions[session.identity]
            if self._pump is not None:
                self._pump.remove_peer(session.identity)
        del self._by_slot[session.slot]
        session.outbox.clear()
        session.pending.clear()
        self.core.release_session(session.slot)
        self.peers_forgotten += 1

    def _send_armed(self, fired: list[Any], submits: bytes) -> None:
        """The Submits the core made for armed orders, one frame per shim they go to."""
        by_slot: dict[int, list[bytes]] = {}
        offset = 0
        for f in fired:
            if f.outcome == SENT:
                by_slot.setdefault(f.session, []).append(submits[offset:offset + SUBMIT_SIZE])
                offset += SUBMIT_SIZE
        for slot, records in by_slot.items():
            self.send(self._by_slot[slot], records)

    def session_by_slot(self, slot: int) -> ShimSession:
        return self._by_slot[slot]

    def _sync_armed(self, session: ShimSession) -> None:
        """Whether the tick path may send this shim's armed orders itself: a shim whose
        hello was accepted, connected, its account ACTIVE. Otherwise each fire takes the
        Python checks, which say why (halted, reducing-only, not connected...)."""
        enabled = (session.platform is not None and not session.lost and session.accepted
                   and not session.refused and session.account != ""
                   and (session.confirmed or self.risk is None)
                   and self.trading_state(session.account) == TradingState.ACTIVE)
        if enabled != session.armed_enabled:
            session.armed_enabled = enabled
            self.core.set_session_enabled(session.slot, enabled)

    def _on_record(self, session: ShimSession, rtype: RecordType, rec: Any) -> None:
        if rtype == RecordType.HELLO:
            self._on_hello(session, rec)
        elif not session.accepted:
            # No accepted hello (none yet, or refused): nothing it says is taken, so a
            # peer that may not speak for an account cannot move its orders, fills,
            # positions or routes (docs/security.md).
            if session.ignored == 0:
                log.warning("%s: %s before an accepted hello; ignored (and what follows)",
                            session.name, rtype.name)
            session.ignored += 1
        elif rtype == RecordType.INSTRUMENT_DEFINITION:
            self._on_definition(session, rec)
        elif rtype == RecordType.HEARTBEAT:
            pass  # liveness is any frame; the peer's ack_sequence matters to shims only
        elif rtype in (RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT):
            self.router.on_command_answer(session, rtype, rec)
            session.ack_due = True
        elif rtype == RecordType.ORDER_UPDATE:
            session.ack_due = True
            if session.snapshot_orders is not None:
                session.snapshot_orders.add(int(rec["client_order_id"]))
                if not self._compare_restated(session, rec):
                    return  # by policy, the platform's version is not taken
            self.router.on_order_update(session, rec)
        elif rtype == RecordType.FILL:
            booked = self.router.on_fill(session, rec)
            if booked and session.snapshot_orders is not None:
                # Restated by a snapshot and never booked: its Fill event was lost.
                self.audit("reconcile_drift", shim=session.name, drift="missing_fill",
                           client_order_id=int(rec["client_order_id"]),
                           execution_id=_text(rec["execution_id"]), action="adopt")
            session.ack_due = True
        elif rtype == RecordType.POSITION:
            self._on_position(session, rec)
            session.ack_due = True
        elif rtype == RecordType.SNAPSHOT_BOUNDARY:
            self._on_snapshot_boundary(session, rec)
            session.ack_due = True
        elif rtype == RecordType.ACCOUNT:
            session.ack_due = True
        else:
            log.warning("%s sent %s, which only the engine sends; ignored",
                        session.name, rtype.name)

    def _on_hello(self, session: ShimSession, rec: Any) -> None:
        session.confirmed = False  # a (re)connected platform is compared again first
        platform = int(rec["platform"])
        session.platform = Platform(platform) if platform in (1, 2, 3) else None
        session.account = _text(rec["account"])
        session.simulated = bool(rec["simulated"])
        session.platform_version = _text(rec["platform_version"])
        session.heartbeat_ms = int(rec["heartbeat_interval_ms"]) or self.settings.heartbeat_ms
        session.instruments.clear()
        mode = "simulated" if session.simulated else "LIVE"
        log.info("hello from %s (%s, %s account%s)", session.name, session.platform_version,
                 mode, f", key {session.curve_key}" if session.curve_key else "")
        self._admit(session)

    def _admit(self, session: ShimSession, *, retry: bool = False) -> None:
        """Accepts the hello just received, or refuses it (audited). `retry`: a hello
        refused because its account was held, looked at again; silent unless taken."""
        refusal = None
        if self.config is not None:
            from tickbridge.risk.mode import check_hello

            refusal = check_hello(self.config, session.account, session.simulated)
        if refusal is None and self._account_keys is not None:
            refusal = check_key(self._account_keys, session.account, session.curve_key)
        holder = self._holder(session) if refusal is None else None
        if holder is not None:
            refusal = account_held(session.account, holder.name)
        session.waiting_for_account = holder is not None
        if refusal is not None:
            session.accepted = False
            if retry:
                return
            session.refused = str(refusal)
            self._sync_armed(session)
            log.error("%s refused at hello: %s", session.name, refusal)
            self.audit("hello_refused", shim=session.name, account=session.account,
                       simulated=session.simulated, code=refusal.code,
                       reason=refusal.message, key=session.curve_key or None)
            return
        session.refused = ""
        session.accepted = True
        self._sync_armed(session)
        self.audit("hello", shim=session.name, platform=session.platform.name
                   if session.platform else None, account=session.account,
                   simulated=session.simulated, version=session.platform_version)
        session.ack_due = True
        self.request_snapshot(session)

    def _holder(self, session: ShimSession) -> ShimSession | None:
        """Another peer whose hello for the same account was accepted and that still holds
        it: connected, or silent ("lost") but not known to be gone. A peer that is back
        with the same peer session on a new connection (a reconnect) replaces it; so does,
        with CURVE, a lost one's own key. Otherwise the newcomer is refused: never a
        takeover."""
        for other in list(self.sessions.values()):
            if (other is session or not other.accepted or other.gone or other.replaced
                    or other.account != session.account):
                continue
            resumed = other.peer_session_id != 0 and \
                other.peer_session_id == session.peer_session_id
            same_key_lost = other.lost and other.curve_key != "" and \
                other.curve_key == session.curve_key
            if resumed or same_key_lost:
                other.replaced = True
                log.warning("%s replaces %s (%s)", session.name, other.name,
                            "same peer session" if resumed else "same key, it was lost")
                self.audit("shim_replaced", shim=other.name, by=session.name,
                           why="same peer session" if resumed else "same key, lost")
                self._sync_armed(other)
                continue
            if not self._reachable(other):
                continue
            return other
        return None

    def _reachable(self, session: ShimSession) -> bool:
        """Whether the peer's connection is still open: a heartbeat to it fails at once
        with ROUTER_MANDATORY when it is not (its pipe is gone). Marks it gone."""
        if not session.gone:
            self.send(session, [])
        return not session.gone

    def _mark_gone(self, session: ShimSession, why: str) -> None:
        if not session.gone:
            session.gone = True
            log.warning("%s: connection gone (%s)", session.name, why)
            if session.accepted:
                self.audit("shim_gone", shim=session.name, reason=why)

    def _on_definition(self, session: ShimSession, rec: Any) -> None:
        symbol = _text(rec["symbol"])
        if session.refused:
            return  # a refused shim's instruments are never traded
        instrument = Instrument(
            instrument_id=int(rec["instrument_id"]), symbol=symbol,
            tick_size=float(rec["tick_size"]), point_value=float(rec["point_value"]),
            slot=self.core.define_instrument(session.slot, int(rec["instrument_id"]), symbol),
        )
        if not (instrument.tick_size > 0 and instrument.point_value > 0):
            log.error("%s: instrument %s has tick size %s and point value %s; not tradable",
                      session.name, symbol, instrument.tick_size, instrument.point_value)
            return
        session.instruments[instrument.instrument_id] = instrument
        self.router.define(session, instrument)
        log.info("%s defines %s (tick %g, point value %g)", session.name, symbol,
                 instrument.tick_size, instrument.point_value)
        for strategy in self.strategies:
            if self._wants(strategy, symbol):
                self._call(strategy, "on_instrument", symbol)

    def _on_snapshot_boundary(self, session: ShimSession, rec: Any) -> None:
        if int(rec["request_id"]) != session.snapshot_id:
            return  # an older snapshot's, or one we did not ask for
        if int(rec["phase"]) == int(SnapshotPhase.BEGIN):
            session.snapshot_orders = set()
            return
        seen, session.snapshot_orders = session.snapshot_orders, None
        if seen is None:
            return
        # Reconciliation, "missing at the platform": a live engine order, sent before the
        # snapshot was asked for, that the platform does not restate (working or recently
        # finished) cannot be working there. Policy: mark it canceled, audited.
        for coid in self.router.live_orders_of(session):
            order = self.router.book.order(coid)
            if coid in seen or order.created_ts >= session.snapshot_asked_ns:
                continue
            action = self.policy.missing_at_platform
            log.warning("%s does not know order %s (%s at the engine); policy: %s",
                        session.name, coid, order.status.name, action)
            self.audit("reconcile_drift", shim=session.name, client_order_id=coid,
                       drift="missing_at_platform", engine_state=order.status.name,
                       action="marked canceled" if action == Action.MARK_CANCELED
                       else str(action))
            if action == Action.MARK_CANCELED:
                self.router.mark_canceled(coid)
            self._drift_action(session, action, "missing at the platform")
        self._reconcile_positions(session)
        if self.risk is not None:
            # Orders the snapshot made known (adopted) or finished now count as the gate's
            # working quantities: what it reserves is what is working.
            resync_working(self.risk, self.router.book)
        if not session.confirmed:
            session.confirmed = True
            log.info("%s: positions confirmed by the platform's snapshot; orders accepted",
                     session.name)
            self.audit("positions_confirmed", shim=session.name, account=session.account,
                       positions=dict(session.platform_positions))
            self._sync_armed(session)

    def _compare_restated(self, session: ShimSession, rec: Any) -> bool:
        """Reconciliation of an order both sides know, as a snapshot restates it: "state
        differs" (one side finished, the other not, or finished differently) and
        "quantity differs" (the working quantity). An engine order with a command in
        flight (submitted, cancel or replace pending) is not compared: its answer is on
        the way, and guessing its outcome is what DESIGN forbids. Fills are compared by
        execution id (missing_fill). Returns whether the platform's version is applied."""
        coid = int(rec["client_order_id"])
        status = int(rec["status"])
        if not coid or coid not in self.router.book or status not in _STATUS_NAMES:
            return True
        order = self.router.book.order(coid)
        if order.status.name not in _SETTLED:
            return True
        theirs = _STATUS_NAMES[status]
        theirs_final = theirs in _FINAL
        # FILLED/PARTIALLY_FILLED move with Fill records, which the snapshot sends next.
        fill_driven = theirs in ("FILLED", "PARTIALLY_FILLED")
        if not fill_driven and (order.is_terminal != theirs_final or (
                theirs_final and order.status.name != theirs)):
            action = self.policy.state_differs
            self._report_drift(session, "state_differs", action, client_order_id=coid,
                               engine=order.status.name, platform=theirs)
            if action == Action.MARK_CANCELED and not order.is_terminal:
                self.router.mark_canceled(coid)
            return action == Action.ADOPT
        quantity = int(rec["quantity"])
        if not order.is_terminal and not theirs_final and quantity != int(order.qty):
            action = self.policy.quantity_differs
            self._report_drift(session, "quantity_differs", action, client_order_id=coid,
                               engine=int(order.qty), platform=quantity)
            if action == Action.ADOPT:
                self.router.adopt_quantity(coid, quantity)
        return True

    def _report_drift(self, session: ShimSession, drift: str, action: Action,
                      **detail: Any) -> None:
        log.warning("%s: reconciliation: %s %s; policy: %s", session.name, drift,
                    " ".join(f"{k}={v}" for k, v in detail.items()), action)
        self.audit("reconcile_drift", shim=session.name, drift=drift, action=str(action),
                   **detail)
        self._drift_action(session, action, drift.replace("_", " "))

    def _reconcile_positions(self, session: ShimSession) -> None:
        """Reconciliation, "position differs": after a snapshot (its fills booked), the
        platform's position must equal the engine's. A difference is audited and, by
        policy, halts the account's trading: the engine's picture of the risk is wrong."""
        for symbol, theirs in session.platform_positions.items():
            ours = self.router.position(symbol)
            key = (session.account, symbol)
            if ours == theirs or self._position_drift.get(key) == (theirs, ours):
                if ours == theirs:
                    self._position_drift.pop(key, None)
                continue  # in agreement, or this very difference was reported already
            self._position_drift[key] = (theirs, ours)
            action = self.policy.position_differs
            log.error("%s: %s position %+d at the platform, %+d at the engine; policy: %s",
                      session.name, symbol, theirs, ours, action)
            self.audit("reconcile_drift", shim=session.name, symbol=symbol,
                       drift="position_differs", platform=theirs, engine=ours,
                       action="halted" if action == Action.HALT else str(action))
            self._drift_action(session, action, "position differs")

    @property
    def policy(self) -> ReconcilePolicy:
        return self.config.reconcile if self.config is not None else _DEFAULT_POLICY

    def _drift_action(self, session: ShimSession, action: Action, why: str) -> None:
        """The account-wide part of a drift's policy: halt, or the kill switch."""
        if action in (Action.HALT, Action.FLATTEN) and \
                self.trading_state(session.account) != TradingState.HALTED:
            self.set_trading_state(TradingState.HALTED, session.account,
                                   source=f"reconciliation: {why}")
        if action == Action.FLATTEN:
            self.kill(flatten=True, account=session.account, source=f"reconciliation: {why}")

    def _on_position(self, session: ShimSession, rec: Any) -> None:
        instrument = session.instruments.get(int(rec["instrument_id"]))
        if instrument is None:
            return
        ours = self.router.position(instrument.symbol)
        theirs = int(rec["quantity"])
        session.platform_positions[instrument.symbol] = theirs
        if ours != theirs:
            # Fills can still be in flight; a lasting difference is reconciliation's job.
            log.debug("%s reports %s position %d, engine has %d", session.name,
                      instrument.symbol, theirs, ours)

    def _on_signal(self, event: Any) -> None:
        signal = bar_from_event(event)
        is_bar = event.is_bar
        self.bars += is_bar
        for strategy in self.strategies:
            if self._wants(strategy, signal.symbol):
                self._call(strategy, "on_bar" if is_bar else "on_trigger", signal)

    def on_external_order(self, session: ShimSession, rec: Any) -> None:
        self.external_orders += 1
        if self.policy.unknown_external_order != Action.ALERT:
            self._drift_action(session, self.policy.unknown_external_order,
                               "unknown external order")
        log.warning("%s reports an order the engine did not make (%s, platform id %s); "
                    "left to reconciliation", session.name,
                    int(rec["client_order_id"]) or "no client order id",
                    _text(rec["platform_order_id"]))
        self.audit("external_order", shim=session.name,
                   platform_order_id=_text(rec["platform_order_id"]),
                   client_order_id=int(rec["client_order_id"]) or None)
        if session.snapshot_orders is not None:  # found by reconciliation: classified
            self.audit("reconcile_drift", shim=session.name, drift="unknown_external_order",
                       platform_order_id=_text(rec["platform_order_id"]),
                       action=str(self.policy.unknown_external_order))

    def on_external_fill(self, session: ShimSession, rec: Any) -> None:
        log.warning("%s reports fill %s for an order the engine did not make", session.name,
                    _text(rec["execution_id"]))
        self.audit("external_fill", shim=session.name, execution_id=_text(rec["execution_id"]))

    # -- strategy callbacks ------------------------------------------------------------
    def notify_order(self, strategy_name: str | None, update: Any) -> None:
        for strategy in self.strategies:
            if strategy.name == strategy_name:
                self._call(strategy, "on_order", update)

    def notify_fill(self, strategy_name: str | None, coid: int, symbol: str, rec: Any,
                    position: int) -> None:
        fill = FillEvent(coid, symbol, Side(int(rec["side"])), int(rec["quantity"]),
                         float(rec["price"]), _text(rec["execution_id"]), int(rec["time_ns"]),
                         position)
        for strategy in self.strategies:
            if strategy.name == strategy_name:
                self._call(strategy, "on_fill", fill)

    def notify_armed(self, strategy_name: str, fired: Any) -> None:
        for strategy in self.strategies:
            if strategy.name == strategy_name:
                self._call(strategy, "on_armed", fired)

    def _wants(self, strategy: Strategy, symbol: str) -> bool:
        """By the platform's symbol (``ESZ6``) or the configured one it maps to (``ES``)."""
        if strategy.wants(symbol):
            return True
        configured = self.risk.map_symbol(symbol) if self.risk is not None else None
        return configured is not None and strategy.wants(configured)

    def _call(self, strategy: Strategy, method: str, *args: Any) -> None:
        try:
            getattr(strategy, method)(self.contexts[strategy.name], *args)
        except Exception:  # a strategy bug must not take the engine down
            log.exception("strategy %s failed in %s", strategy.name, method)
            self.audit("strategy_error", strategy=strategy.name, callback=method)

    # -- pre-trade checks ----------------------------------------------------------------
    def pre_trade_check(self, session: ShimSession, instrument: Instrument, side: Side,
                        quantity: int, order_type: OrderType, price: float,
                        stop_price: float) -> RiskDecision:
        return pre_trade.pre_trade_check(self, session, instrument, side, quantity,
                                         order_type, price, stop_price)

    # -- trading state and the kill switch ------------------------------------------------
    def trading_state(self, account: str | None = None) -> TradingState:
        if self.risk is not None:
            known = account is None or account in self.risk.gate.account_ids
            return self.risk.gate.trading_state(account if known else None)
        return self._states.get(account, self._states.get(None, TradingState.ACTIVE))

    def set_trading_state(self, state: TradingState, account: str | None = None, *,
                          source: str = "engine") -> None:
        before = self.trading_state(account)
        self._apply_trading_state(state, account)
        for session in self.sessions.values():
            self._sync_armed(session)
        log.warning("trading state %s -> %s (%s, by %s)", before.name, state.name,
                    account or "all accounts", source)
        self.audit("trading_state", account=account, before=before.name, after=state.name,
                   source=source)
        if self.store is not None:
            # On disk before anyone is told it is in force: a halt a crash forgets is no
            # halt. A disk flush (rare: a person, a kill or a limit changes it).
            try:
                self.store.save_trading_state(account, state.name, source).result(timeout=10)
            except Exception as error:  # the halt holds in memory; say it may not survive
                log.error("trading state %s for %s NOT saved (%s): a restart would not "
                          "restore it", state.name, account or "all accounts", error)

    def _apply_trading_state(self, state: TradingState, account: str | None) -> None:
        if self.risk is None:
            self._states[account] = state
        elif account is None or account in self.risk.gate.account_ids:
            self.risk.gate.set_trading_state(state, account)
        else:
            log.warning("trading state %s for account %s ignored: not a configured account",
                        state.name, account)

    def kill(self, *, flatten: bool, account: str | None = None, source: str = "engine"
             ) -> list[str]:
        """Halts trading, then cancels every working order (and flattens) at every shim of
        the account; returns the shims reached. The shims' own kill endpoints are the
        other path, for when this engine is the problem (see tickbridge kill)."""
        self.kills += 1
        self.set_trading_state(TradingState.HALTED, account, source=source)
        reached = []
        for session in self.sessions.values():
            if account is not None and session.account != account:
                continue
            self.router.cancel_all(session)
            if flatten:
                self.router.flatten_session(session)
            reached.append(session.name)
        log.error("KILL (%s): %s%s", source, ", ".join(reached) or "no shims connected",
                  " with flatten" if flatten else "")
        self.audit("kill", source=source, flatten=flatten, account=account, shims=reached)
        return reached

    def mode_banner(self) -> str:
        if self.config is None:
            return "PAPER MODE (no configuration: simulator defaults)"
        from tickbridge.risk.mode import mode_banner

        return mode_banner(self.config)

    def handle_control(self, request: dict[str, Any],
                       caller: Caller | None = None) -> dict[str, Any]:
        """One control request from ``caller`` (None: not authenticated, refused). Who may
        do what, the strict field checks and the audit of every request, refusals too,
        are in control_commands."""
        return handle_control(self, request, caller)

    # -- persistence hooks (called by the router) -------------------------------------------
    def persist_transition(self, coid: int, event: str, before: str, ts: int) -> None:
        if self.store is not None:
            save_transition(self.store, self.router.book.order(coid), event, before, ts)

    def on_fill_booked(self, order: Any, rec: Any, execution_id: str) -> None:
        if self.store is not None:
            book_fill(self.store, order, rec, execution_id)
        if self.risk is not None:
            self.risk.on_fill(order.account, order.instrument, Side(int(rec["side"])),
                              int(rec["quantity"]), float(rec["price"]))

    def on_order_done(self, order: Any) -> None:
        if self.risk is not None:
            self.risk.on_order_done(order.account, order.instrument, Side(int(order.side)),
                                    int(order.leaves_qty))

    # -- outbound ------------------------------------------------------------------------
    def send_command(self, session: ShimSession, command: RecordType, request_id: int,
                     coid: int, record: bytes) -> None:
        session.pending[request_id] = PendingCommand(request_id, command, coid, time.monotonic())
        self.send(session, [record])

    def request_snapshot(self, session: ShimSession) -> None:
        now = time.monotonic()
        if now - session.snapshot_requested < 0.5:
            return  # one in flight is enough
        session.snapshot_requested = now
        request_id = self._next_snapshot_request | (1 << 62)  # apart from order commands
        self._next_snapshot_request += 1
        record = pack_record(RecordType.SNAPSHOT_REQUEST, request_id=request_id,
                             what=int(SnapshotPart.ALL), fills_since_ns=0)
        session.snapshot_id, session.snapshot_asked_ns = request_id, time.time_ns()
        session.snapshot_orders = None
        self.send_command(session, RecordType.SNAPSHOT_REQUEST, request_id, 0, record)

    def send(self, session: ShimSession, records: list[bytes]) -> None:
        """Sends now, or queues (bounded) when the peer cannot take it; never drops a
        command silently. A frame with only a heartbeat is not queued: the next one
        carries the same acknowledgement. Records are packed bytes (pack_record)."""
        now_ns = time.time_ns()
        heartbeat = _HEARTBEAT.pack(int(RecordType.HEARTBEAT), _HEARTBEAT.size, 0,
                                    session.ack_sequence(), now_ns)
        session.ack_due = False
        frame = encode_packed([*records, heartbeat], session_id=self.session_id,
                              sequence=self.core.next_tx_sequence(session.slot),
                              send_time_ns=now_ns)
        if self.capture is not None:
            self.capture.record(Direction.OUT, frame, session.identity)
        if self.replay_out is not None:
            self.replay_out.append((session.identity, frame))
            return
        if session.outbox:
            if records:
                self._queue(session, frame)
            self._flush_outbox(session)
            return
        try:
            # Two sends, not send_multipart: the same message, less Python on the way.
            # With ROUTER_MANDATORY an unroutable peer fails on the first part.
            self.socket.send(session.identity, zmq.SNDMORE | zmq.NOBLOCK)
            self.socket.send(frame, zmq.NOBLOCK)
            session.last_tx = time.monotonic()
        except zmq.Again:
            if records:
                self._queue(session, frame)
        except zmq.ZMQError as e:  # EHOSTUNREACH: the peer is gone (ROUTER_MANDATORY)
            self._mark_gone(session, e.strerror)
            if records:
                self._send_failed(session, frame, True, e.strerror)
            else:
                session.last_tx = time.monotonic()

    def _send_failed(self, session: ShimSession, frame: bytes, gone: bool, why: str) -> None:
        """A frame with commands the socket did not take: queued, sent when it can be.
        `gone`: the peer is unroutable (not merely busy)."""
        if gone:
            self._mark_gone(session, why)
            session.last_tx = time.monotonic()
            log.error("%s: cannot send a command (%s); queued until it is back",
                      session.name, why)
        self._queue(session, frame)

    def _queue(self, session: ShimSession, frame: bytes) -> None:
        if len(session.outbox) >= self.settings.outbox_limit:
            # One peer that takes nothing must not end the engine for the others: its
            # queue goes, it is lost (its commands time out and are audited as such).
            dropped = len(session.outbox) + 1
            session.outbox.clear()
            if self._pump is not None:
                self._pump.set_direct(session.slot, True)
            log.error("%s: outbox full (%d frames unsent); %d frames dropped, shim lost",
                      session.name, self.settings.outbox_limit, dropped)
            self.audit("outbox_overflow", shim=session.name, account=session.account,
                       dropped=dropped, limit=self.settings.outbox_limit)
            if not session.lost:
                self._mark_lost(session, "outbox full")
            return
        session.outbox.append(frame)
        if self._pump is not None:  # nothing may overtake what is queued
            self._pump.set_direct(session.slot, False)

    def _flush_outbox(self, session: ShimSession) -> None:
        while session.outbox:
            try:
                self.socket.send_multipart([session.identity, session.outbox[0]], zmq.NOBLOCK)
            except zmq.ZMQError as e:
                if e.errno == zmq.EHOSTUNREACH:
                    self._mark_gone(session, e.strerror)
                return
            session.outbox.popleft()
            session.last_tx = time.monotonic()
        if self._pump is not None:
            self._pump.set_direct(session.slot, True)

    def _timers(self) -> None:
        now = time.monotonic()
        if now - self._last_timer < 0.005:
            return
        self._last_timer = now
        if self._kill_results:
            self._drain_kill_results()
        if self._errors_suppressed and now >= self._error_window_end:
            self._flush_suppressed()
        if self.risk is not None and now - self._last_risk_eval >= 0.25:
            self._last_risk_eval = now
            self._evaluate_loss()
        attempts = self.settings.snapshot_attempts
        for session in list(self.sessions.values()):
            if now - session.last_rx > self.settings.peer_forget_s and self._may_forget(session):
                log.info("%s: no hello completed, silent for %.0f s; forgotten",
                         session.name, now - session.last_rx)
                self.audit("peer_forgotten", shim=session.name, refused=session.refused,
                           frames=session.frames)
                self._forget(session)
                continue
            if session.unsynced and session.settle_durable():
                session.ack_due = True
            if session.outbox:
                self._flush_outbox(session)
            if (self.settings.snapshot_interval_s > 0 and session.accepted
                    and not session.lost and not session.refused
                    and session.snapshot_misses < attempts
                    and now - session.snapshot_requested >= self.settings.snapshot_interval_s):
                self.request_snapshot(session)  # reconciliation on a timer
            if session.snapshot_due and now >= session.snapshot_due:
                if now - session.snapshot_requested < 0.5:  # request_snapshot's own pace
                    session.snapshot_due = session.snapshot_requested + 0.5
                else:
                    session.snapshot_due = 0.0
                    self.request_snapshot(session)  # after a doubt, backed off
            interval = session.heartbeat_ms / 1000
            # At the faster of the two intervals: the shim judges our silence by its own.
            beat = min(interval, self.settings.heartbeat_ms / 1000)
            if session.ack_due or now - session.last_tx >= beat:
                self.send(session, [])
            if (session.waiting_for_account and not session.lost and not session.gone
                    and now - session.admit_retried >= 1.0):
                # Is the account's holder gone now? Once a second: each look sends the
                # holder a heartbeat (an unroutable one says its connection is closed).
                session.admit_retried = now
                self._admit(session, retry=True)
            silent = now - session.last_rx
            if not session.lost and silent > interval * self.settings.silence_intervals:
                self._mark_lost(session, f"nothing received for {silent:.1f} s")
            timeout = self.settings.command_timeout_ms / 1000
            # Oldest first (insertion order): stop at the first still in time, so a
            # long queue of unanswered commands costs nothing per timer tick.
            for request_id, pending in list(_oldest(session.pending, now - timeout)):
                del session.pending[request_id]
                log.error("%s: no answer to %s %d after %.1f s; snapshot requested",
                          session.name, pending.command.name, request_id, timeout)
                self.audit("command_timeout", shim=session.name,
                           command=pending.command.name, request_id=request_id)
                if pending.command == RecordType.SNAPSHOT_REQUEST:
                    session.snapshot_misses += 1
                    if session.snapshot_misses == attempts:
                        log.error("%s: %d snapshot requests unanswered; no more are sent "
                                  "until it answers", session.name, attempts)
                        self.audit("snapshot_abandoned", shim=session.name,
                                   attempts=attempts)
                misses = session.snapshot_misses
                if misses >= attempts:
                    session.snapshot_due = 0.0  # stop: nobody there, or nobody answering
                elif not session.snapshot_due:
                    # Backs off: at once after a first doubt, then timeout * 1, 2, 4...
                    session.snapshot_due = now + (timeout * 2 ** (misses - 2) if misses > 1
                                                  else 0.0)

    def _mark_lost(self, session: ShimSession, why: str) -> None:
        session.lost = True
        self._sync_armed(session)
        if self._pump is not None:  # its next frame: Python's, to see it back first
            self._pump.set_peer(session.slot, 0, 0)
            session.pump_view = (0, 0)
        if not session.accepted or session.replaced:
            # It spoke for no account (refused, never said hello, or taken over by its
            # own reconnect): its silence is nobody's loss.
            log.info("%s: %s", session.name, why)
            return
        log.error("%s: %s; shim lost", session.name, why)
        self.audit("shim_lost", shim=session.name, reason=why)
        self._on_shim_lost(session)

    def _on_shim_lost(self, session: ShimSession) -> None:
        """The automatic kill of a lost shim: its account halts, and its working orders
        are canceled through the shim's own kill endpoint (this engine's commands cannot
        reach it), from a thread so the loop never waits; the result is audited."""
        if (self.config is None or not self.config.engine.kill_on_shim_lost
                or not session.accepted or session.replaced or not session.account):
            return
        from tickbridge.risk.kill_switch import kill_at_shim, shim_targets

        targets = shim_targets(self.config, session.account)
        self.set_trading_state(TradingState.HALTED, session.account, source="shim lost")

        def run() -> None:
            for target in targets:
                self._kill_results.append(kill_at_shim(target, flatten=False, timeout_s=3.0))

        threading.Thread(target=run, name="kill-on-shim-lost", daemon=True).start()

    def _drain_kill_results(self) -> None:
        while self._kill_results:
            outcome = self._kill_results.popleft()
            log.error("kill on shim lost: %s %s: %s", outcome.target,
                      "ok" if outcome.ok else "FAILED", outcome.detail)
            self.audit("kill", source="shim lost", flatten=False, shim=outcome.target,
                       ok=outcome.ok, detail=outcome.detail)

    def _evaluate_loss(self) -> None:
        assert self.risk is not None
        day = trading_day_start_ns(self.risk.wall_clock())
        if day != self._trading_day:
            if self._trading_day:  # a new trading day: realized PnL and loss states reset
                self.risk.gate.start_new_day()
                if self.store is not None:  # ...but a halt a person or a kill made stays
                    restore_trading_states(self.store, self._apply_trading_state)
                log.info("new trading day: daily PnL and loss-limit states reset")
                self.audit("new_trading_day", day_start_ns=day)
            self._trading_day = day
        for symbol in self.router.symbols():
            configured = self.risk.map_symbol(symbol)
            if configured is not None:
                self.risk.sync_market(configured, self.core.state(
                    self.router.instrument(symbol).slot))
        for account, state in self.risk.evaluate_loss():
            log.error("daily loss limit: %s is now %s", account, state.name)
            self.audit("daily_loss_limit", account=account, trading_state=state.name,
                       pnl=self.risk.gate.account_pnl(account))
            if state == TradingState.HALTED:
                self.kill(flatten=False, account=account, source="daily loss limit")
        for session in self.sessions.values():
            self._sync_armed(session)  # the gate's states move with the loss limit too

    # -- audit ---------------------------------------------------------------------------
    def audit(self, kind: str, **payload: Any) -> None:
        if self._audit_sink is not None:
            self._audit_sink(kind, **payload)
        if self.store is not None:
            coid = payload.get("client_order_id")
            # Platform-made ids (flatten orders, PLATFORM_ORDER_ID_BIT) stay in the payload
            # only: the order column holds the engine's ids, 1..2**63-1.
            ours = isinstance(coid, int) and 0 < coid < 1 << 63
            self.store.audit(kind, payload, client_order_id=coid if ours else None,
                             account=str(payload.get("account") or ""))
        if self._audit_sink is None and self.store is None:
            log.debug("audit %s %s", kind, payload)
