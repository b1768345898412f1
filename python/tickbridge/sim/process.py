"""The simulator process: a DEALER to the engine's ROUTER (as a platform shim), a ROUTER
for the kill switch, and one loop that replays the tape, applies commands and sends
batched frames.

One thread owns both sockets (ZeroMQ sockets are not thread-safe), like the shims'
background thread. ``stop()`` may be called from any thread or a signal handler.

Sending never blocks: a frame the engine cannot take yet (no connection, high-water mark)
is kept and retried first, in order, with its sequence number; market data produced
meanwhile is dropped (counted), order events are kept (DESIGN: never a silently dropped
order event).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from tickbridge.protocol import (
    COMMANDS,
    ConnectionState,
    Platform,
    ProtocolError,
    RecordType,
    RejectReason,
    decode_frame,
    encode_frame,
    make_record,
)
from tickbridge.sim.feed import MarketTape, rebased
from tickbridge.sim.matching import SessionOpen, always_open
from tickbridge.sim.persist import load_state, save_state, saved_clock
from tickbridge.sim.platform import HAND_ORDER_ID_BITS, PlatformConfig, SimulatedPlatform
from tickbridge.sim.quirks import QuirkConfig

log = logging.getLogger("tickbridge.sim")

NS = 1_000_000_000
_STATE_NAMES = {0: "ACTIVE", 1: "REDUCING_ONLY", 2: "HALTED"}  # TradingState.state
# Frames holding any of these are kept until the engine acknowledges them: order events,
# positions, answers to commands. Market data is not (a live feed is never replayed).
_KEPT = frozenset(int(t) for t in (
    RecordType.ORDER_UPDATE, RecordType.FILL, RecordType.POSITION, RecordType.ACCOUNT,
    RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT, RecordType.SNAPSHOT_BOUNDARY))
# Not PlatformStatus: every (re)hello carries the current one, and an older one resent
# after that hello would overwrite it at the engine.


@dataclass(frozen=True)
class SimConfig:
    engine: str = "tcp://127.0.0.1:5555"
    kill_endpoint: str | None = "tcp://127.0.0.1:5557"  # None: no kill socket
    kill_secret: str | None = None
    account: str = "Sim101"
    live_account: bool = False  # Hello.simulated=0: tests the engine's paper/live refusal
    queue_front: bool = False  # resting orders join at the front of their price level
    platform: Platform = Platform.SIMULATOR  # what Hello reports (--platform)
    heartbeat_ms: int = 500
    silence_intervals: int = 3  # engine silent this many heartbeats: it is gone
    cancel_on_disconnect: bool = True
    speed: float = 1.0  # 0: as fast as possible; 1: real time; N: N x real time
    max_batch: int = 1000  # records per frame
    latency_ms: float = 5.0  # simulated time between a command and its effect
    quirks: QuirkConfig = field(default_factory=QuirkConfig)
    wait_for_engine: bool = True  # start the tape when the engine is first heard
    rebase_time: bool = True  # shift the tape so its first tick is 'now'
    exit_after_end: float | None = None  # seconds after the tape ends; None: run on
    status_interval: float = 1.0  # seconds between status lines; 0: none
    account_interval: float = 5.0  # seconds between Account records
    starting_cash: float = 50_000.0
    linger_ms: int = 200
    state_path: str | None = None  # persist orders/positions/fills here across restarts
    sndhwm: int = 10_000
    outbox_max_frames: int = 100_000  # unacknowledged event frames kept for a resend
    # ZeroMQ CURVE (docs/security.md): the engine's public key and this shim's key pair,
    # z85 text (40 characters each); None: a plain connection.
    curve_server_key: str | None = None
    curve_public_key: str | None = None
    curve_secret_key: str | None = None


class Simulator:
    """``Simulator(tape, config).run()`` blocks until ``stop()`` (or the tape ends with
    ``exit_after_end``) and returns the exit code, 0 when it shut down cleanly."""

    def __init__(
        self,
        tape: MarketTape,
        config: SimConfig | None = None,
        *,
        is_open: SessionOpen = always_open,
        session_id: int | None = None,
        context: zmq.Context | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.tape = tape
        self.session_id = session_id if session_id is not None else random.getrandbits(64)
        self.platform = SimulatedPlatform(
            tape.specs,
            PlatformConfig(
                account=self.config.account, latency_ns=int(self.config.latency_ms * 1e6),
                starting_cash=self.config.starting_cash, quirks=self.config.quirks,
                kill_secret=self.config.kill_secret, live_account=self.config.live_account,
                queue_front=self.config.queue_front, platform=self.config.platform,
            ),
            is_open=is_open, execution_prefix=f"{self.session_id:016x}",
        )
        self._resume_ns: int | None = None
        if self.config.state_path and os.path.exists(self.config.state_path):
            log.info("%s: %s", self.config.state_path,
                     load_state(self.platform, self.config.state_path, self._state_time()))
            if not self.config.rebase_time:
                self._resume_ns = saved_clock(self.config.state_path)
        self._context = context or zmq.Context.instance()
        self._stop = threading.Event()
        self.ready = threading.Event()  # sockets bound/connected (tests wait on it)
        self.stats: dict[str, int] = {
            "ticks": 0, "frames_sent": 0, "records_sent": 0, "market_dropped": 0,
            "engine_frames": 0, "engine_errors": 0, "kill_requests": 0, "frames_resent": 0,
        }
        # outbound state
        self._out: deque[np.ndarray] = deque()
        self._out_count = 0
        self._unsent: bytes | None = None
        self._sequence = 0
        # Frames with events the engine must not miss, until its ack_sequence covers them;
        # resent with their original sequence numbers after a re-hello (as the shims do).
        self._unacked: deque[tuple[int, bytes]] = deque()
        self._resend_upto = 0  # frames up to this sequence are due for a resend
        self._resend_next = 0  # a resend in progress: the next sequence to send (0: none)
        self._kill_sequence = 0
        self._last_sent = 0.0
        # engine state
        self._engine_session: int | None = None
        self._retired_sessions: set[int] = set()
        self._engine_ack = 0
        self._engine_heard: float | None = None
        self._engine_silent = False
        self._hello_since_heard = False
        # replay state
        self._pos = 0
        self._replaying = False
        self._ended_at: float | None = None
        self._tape_t0 = 0
        self._wall_t0 = 0.0
        first = int(tape.ticks.time_ns[0]) if len(tape) else time.time_ns()
        self._idle_sim = time.time_ns() if self.config.rebase_time else first
        self._idle_wall = time.monotonic()
        self._connection_changes: deque[tuple[ConnectionState, ConnectionState, str]] = deque()
        self._hand: deque[tuple[str, int, dict[str, float]]] = deque()
        self._hand_ids = itertools.count(1)
        self._last_now = 0
        self._last_tick_ns = self._idle_sim

    # ---- public --------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def set_connection(self, orders: ConnectionState,
                       prices: ConnectionState = ConnectionState.CONNECTED,
                       text: str = "simulated connection") -> None:
        """Simulates a change of the platform's own connection (a broker or data outage,
        and its end): reported to the engine as PlatformStatus. Safe from any thread: the
        change is applied by the simulator's loop."""
        self._connection_changes.append((orders, prices, text))

    def by_hand(self, action: str, hand_id: int = 0, **fields: float | str) -> int:
        """What the trader does at the platform by hand (platform.py ``by_hand``), which
        the shim reports as external orders: ``by_hand("submit", symbol="ESZ6",
        side=Side.BUY, quantity=3, price=6000.0)`` returns the order's id for the
        ``replace`` / ``cancel`` / ``fill`` that follow. Safe from any thread: applied
        by the simulator's loop, in order."""
        if action == "submit":
            symbol = fields.pop("symbol")
            ids = [i for i, spec in self.platform.instruments.items() if spec.symbol == symbol]
            if not ids:
                raise ValueError(f"by_hand: {symbol!r} is not an instrument of this simulator")
            fields["instrument_id"] = ids[0]
            hand_id = HAND_ORDER_ID_BITS | next(self._hand_ids)
        elif not hand_id:
            raise ValueError(f"by_hand({action!r}) needs the hand_id submit returned")
        self._hand.append((action, hand_id, {k: float(v) for k, v in fields.items()}))
        return hand_id

    @property
    def trading_state(self) -> tuple[int, str] | None:
        """(state, reason) the engine last sent in TradingState, None before any."""
        return self.platform.trading_state

    @property
    def engine_ack(self) -> int:
        return self._engine_ack

    def run(self) -> int:
        try:
            self._open()
        except zmq.ZMQError as exc:
            log.error("cannot open sockets: %s (endpoint taken? pass another "
                      "--kill-endpoint/--engine, or --kill-endpoint none)", exc)
            self._close()
            return 1
        self.ready.set()
        try:
            self._loop()
        finally:
            self._close()
        return 0

    # ---- sockets -------------------------------------------------------------------
    def _open(self) -> None:
        c = self.config
        self._dealer = self._context.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.LINGER, c.linger_ms)
        self._dealer.setsockopt(zmq.SNDHWM, c.sndhwm)
        if c.curve_server_key is not None:
            # A CURVE client: the engine is who its public key says, and the engine lets
            # this key in only if it is in its allow-list (before any frame goes through).
            assert c.curve_public_key is not None and c.curve_secret_key is not None
            self._dealer.curve_serverkey = c.curve_server_key.encode()
            self._dealer.curve_publickey = c.curve_public_key.encode()
            self._dealer.curve_secretkey = c.curve_secret_key.encode()
        # A restarted engine at the same endpoint is reached by ZeroMQ's reconnect, which
        # is invisible to the application: the monitor tells us, and the engine gets a
        # fresh Hello (the first connect finds the start-up Hello already queued).
        self._monitor = self._dealer.get_monitor_socket(zmq.EVENT_CONNECTED)
        self._connects = 0
        self._dealer.connect(c.engine)  # lazy: the engine may start later
        self._kill: zmq.Socket | None = None
        if c.kill_endpoint:
            self._kill = self._context.socket(zmq.ROUTER)
            self._kill.setsockopt(zmq.LINGER, c.linger_ms)
            self._kill.bind(c.kill_endpoint)
        self._poller = zmq.Poller()
        self._poller.register(self._dealer, zmq.POLLIN)
        if self._kill is not None:
            self._poller.register(self._kill, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)
        log.info("session %016x: engine %s, kill endpoint %s, %d ticks of %s", self.session_id,
                 c.engine, c.kill_endpoint or "none", len(self.tape),
                 ",".join(s.symbol for s in self.tape.specs))

    def _close(self) -> None:
        if getattr(self, "_monitor", None) is not None:
            self._dealer.disable_monitor()
        for name in ("_monitor", "_dealer", "_kill"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close(linger=self.config.linger_ms)
                setattr(self, name, None)

    # ---- the loop ------------------------------------------------------------------
    def _loop(self) -> None:
        c = self.config
        self._say_hello()
        self._flush()
        if not c.wait_for_engine:
            self._start_replay()
        next_status = next_account = time.monotonic()
        while not self._stop.is_set():
            busy = self._replaying and c.speed == 0
            timeout = 0 if busy else (1 if self._replaying or self.platform.matching._due
                                      else 20)
            for sock, _ in self._poller.poll(timeout):
                if sock is self._dealer:
                    self._drain_engine()
                elif sock is self._monitor:
                    self._drain_monitor()
                else:
                    self._drain_kill()
            while self._connection_changes:
                orders, prices, text = self._connection_changes.popleft()
                log.warning("platform connection: orders %s, prices %s (%s)", orders.name,
                            prices.name, text)
                self._queue(self.platform.set_connection(orders, prices, text, time.time_ns()))
            while self._hand:
                action, hand_id, fields = self._hand.popleft()
                try:
                    self._queue(self.platform.by_hand(action, hand_id, self._now(), **fields))
                except (KeyError, ValueError) as exc:
                    log.error("by hand: %s %d refused: %s", action, hand_id, exc)
            self._replay()
            self._queue(self.platform.advance(self._now()))
            wall = time.monotonic()
            self._check_engine(wall)
            if self._engine_heard is not None and wall >= next_account:
                next_account = wall + c.account_interval
                self._queue([self.platform.account_record(self._now())])
            idle = not self._out and self._unsent is None
            if idle and wall - self._last_sent >= c.heartbeat_ms / 1000:
                self._queue([make_record(RecordType.HEARTBEAT, ack_sequence=self._engine_ack,
                                         time_ns=time.time_ns())])
            self._flush()
            self._save_state()
            if c.status_interval and wall >= next_status:
                next_status = wall + c.status_interval
                self._status()
            if self._ended_at is not None and c.exit_after_end is not None and \
                    wall - self._ended_at >= c.exit_after_end:
                log.info("tape ended %.1f s ago: exiting", wall - self._ended_at)
                break
        self._flush()
        self._save_state()
        if c.status_interval:
            self._status(final=True)

    def _state_time(self) -> int:
        """Simulated 'now' before the loop runs: wall time, or the tape's start."""
        if self.config.rebase_time or not len(self.tape):
            return time.time_ns()
        return int(self.tape.ticks.time_ns[0])

    def _save_state(self) -> None:
        if self.config.state_path and self.platform.dirty:
            save_state(self.platform, self.config.state_path, self._now())
            self.platform.dirty = False

    def _now(self) -> int:
        """Simulated time: the tape's clock while it plays, wall time elapsed otherwise;
        never backwards, except once at the start of a --keep-time replay."""
        wall = time.monotonic()
        if self._replaying and self.config.speed > 0:
            now = self._tape_t0 + int((wall - self._wall_t0) * self.config.speed * NS)
        elif self._replaying:
            now = self._last_tick_ns
        else:
            now = self._idle_sim + int((wall - self._idle_wall) * NS)
        self._last_now = max(self._last_now, now)
        return self._last_now

    # ---- replay --------------------------------------------------------------------
    def _start_replay(self) -> None:
        if self._replaying or self._ended_at is not None:
            return
        if not len(self.tape):
            self._end_replay()
            return
        if self.config.rebase_time:
            self.tape = rebased(self.tape, self._now())
        self._tape_t0 = int(self.tape.ticks.time_ns[0])
        if self._resume_ns is not None:
            # A restart on a saved account: the market goes on after the last save.
            self._pos = int(np.searchsorted(self.tape.ticks.time_ns, self._resume_ns, "right"))
            self._tape_t0 = max(self._tape_t0, self._resume_ns)
            log.info("resuming the tape after the saved time: %d ticks skipped", self._pos)
        # --keep-time: the idle clock ran on from the first tick while we waited; step
        # back to the tape's clock (commands made meanwhile just take effect a little
        # later) rather than replaying the waiting time's ticks in one burst.
        self._last_now = min(self._last_now, self._tape_t0)
        self._wall_t0 = time.monotonic()
        self._replaying = True
        log.info("replay started at %gx", self.config.speed)

    def _end_replay(self) -> None:
        self._idle_sim, self._idle_wall = self._now(), time.monotonic()
        self._replaying = False
        self._ended_at = time.monotonic()
        log.info("tape ended after %d ticks", self._pos)

    def _replay(self) -> None:
        if not self._replaying:
            return
        n, c = len(self.tape), self.config
        if c.speed == 0:
            stop = min(n, self._pos + c.max_batch)
        else:
            target = self._now()
            stop = int(np.searchsorted(self.tape.ticks.time_ns, target, side="right"))
            stop = min(stop, self._pos + 4 * c.max_batch)  # keep the loop responsive
        if stop > self._pos:
            self._play_rows(self._pos, stop)
            self._last_tick_ns = int(self.tape.ticks.time_ns[stop - 1])
            self.stats["ticks"] += stop - self._pos
            self._pos = stop
        if self._pos >= n:
            self._end_replay()

    def _play_rows(self, start: int, stop: int) -> None:
        """Rows to records, with the order events each tick causes right after it."""
        tape, platform = self.tape, self.platform
        t = tape.ticks
        if not platform.matching.has_active():
            self._queue_market(start, stop)  # nothing to match: vectorised path
            ids_chunk = tape.instrument_id[start:stop]
            for iid in platform.instruments:
                rows = np.flatnonzero(ids_chunk == iid)
                if len(rows):
                    row = start + int(rows[-1])
                    platform.matching.set_market(
                        iid, float(t.bid[row]), float(t.ask[row]), int(t.bid_size[row]),
                        int(t.ask_size[row]), float(t.price[row]))
            return
        rows = range(start, stop)
        ids = tape.instrument_id[start:stop].tolist()
        times, prices = t.time_ns[start:stop].tolist(), t.price[start:stop].tolist()
        sizes, aggressors = t.size[start:stop].tolist(), t.aggressor[start:stop].tolist()
        changed = tape.quote_changed[start:stop].tolist()
        run_start = start
        for k, row in enumerate(rows):
            events = []
            if changed[k]:
                events += platform.on_quote(ids[k], times[k], float(t.bid[row]),
                                            float(t.ask[row]), int(t.bid_size[row]),
                                            int(t.ask_size[row]))
            events += platform.on_trade(ids[k], times[k], prices[k], sizes[k], aggressors[k])
            if events:
                self._queue_market(run_start, row + 1)
                self._queue(events)
                run_start = row + 1
        if stop > run_start:
            self._queue_market(run_start, stop)

    # ---- outbound ------------------------------------------------------------------
    def _queue(self, records: list[np.ndarray]) -> None:
        for r in records:
            self._out.append(r)
            self._out_count += len(r)

    def _queue_market(self, start: int, stop: int) -> None:
        if self._unsent is not None or self._engine_silent:
            # The engine cannot take data now: ticks are dropped (an engine resyncs
            # market data by itself); order events are never dropped.
            self.stats["market_dropped"] += self.tape.record_count(start, stop)
            return
        self._queue(self.tape.records(start, stop))

    def _flush(self) -> None:
        if self._unsent is not None and not self._send(self._unsent):
            return
        self._unsent = None
        # A resend cut short (the new connection not ready) goes on before anything new:
        # the engine must see the old events before, say, a snapshot's answer.
        if self._resend_next and not self._resend():
            return
        while self._out:
            batch, count = self._take_batch()
            self._sequence += 1
            frame = encode_frame(batch, session_id=self.session_id, sequence=self._sequence,
                                 send_time_ns=time.time_ns())
            self.stats["records_sent"] += count
            if any(int(a["type"][0]) in _KEPT for a in batch if len(a)):
                self._keep(self._sequence, frame)
            if not self._send(frame):
                self._unsent = frame
                return
        if self._resend_upto and not self._resend_next:
            self._resend_next = 1
            self._resend()

    def _keep(self, sequence: int, frame: bytes) -> None:
        self._unacked.append((sequence, frame))
        if len(self._unacked) > self.config.outbox_max_frames:
            dropped, _ = self._unacked.popleft()
            log.error("over %d unacknowledged frames: frame %d dropped (the engine must "
                      "reconcile with a snapshot)", self.config.outbox_max_frames, dropped)

    def _resend(self) -> bool:
        """After a re-hello: the unacknowledged frames sent before it, as they were, in
        order; True when all went. One the socket does not take yet (the connection still
        being made) stops it: the rest go at the next flush, from there."""
        frames = [(seq, frame) for seq, frame in self._unacked
                  if self._resend_next <= seq <= self._resend_upto]
        for seq, frame in frames:
            if not self._send(frame):
                self._resend_next = seq
                return False
            self.stats["frames_resent"] += 1
        if frames:
            log.warning("resent %d unacknowledged frames (%d..%d)", len(frames), frames[0][0],
                        frames[-1][0])
        self._resend_upto = self._resend_next = 0
        return True

    def _on_engine_ack(self, ack: int) -> None:
        while self._unacked and self._unacked[0][0] <= ack:
            self._unacked.popleft()

    def _take_batch(self) -> tuple[list[np.ndarray], int]:
        batch: list[np.ndarray] = []
        room = self.config.max_batch
        while self._out and room:
            head = self._out[0]
            if len(head) <= room:
                batch.append(self._out.popleft())
                room -= len(head)
            else:
                batch.append(head[:room])
                self._out[0] = head[room:]
                room = 0
        count = self.config.max_batch - room
        self._out_count -= count
        return batch, count

    def _send(self, frame: bytes) -> bool:
        try:
            self._dealer.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            return False
        self.stats["frames_sent"] += 1
        self._last_sent = time.monotonic()
        return True

    # ---- inbound: engine -----------------------------------------------------------
    def _drain_monitor(self) -> None:
        while True:
            try:
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] != zmq.EVENT_CONNECTED:
                continue
            self._connects += 1
            if self._connects > 1:
                log.warning("reconnected to the engine: sending hello and definitions again")
                self._say_hello()

    def _say_hello(self) -> None:
        # A re-hello (engine restarted, reconnected or back from silence) is followed by
        # every frame it has not acknowledged; the engine books each event once.
        self._resend_upto, self._resend_next = self._sequence, 0
        self._queue(self.platform.hello(self.config.heartbeat_ms, time.time_ns()))
        self._hello_since_heard = True

    def _drain_engine(self) -> None:
        while True:
            try:
                payload = self._dealer.recv(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            self._on_engine_frame(payload)

    def _on_engine_frame(self, payload: bytes) -> None:
        try:
            frame = decode_frame(payload)
        except ProtocolError as exc:
            self.stats["engine_errors"] += 1
            log.error("engine frame of %d bytes refused: %s; frame ignored, sim keeps "
                      "running", len(payload), exc)
            return
        header = frame.header
        self.stats["engine_frames"] += 1
        wall = time.monotonic()
        if header.session_id in self._retired_sessions:
            # A frame of an engine that has since restarted, read late from its dead
            # connection: its commands must not act after the new engine compared this
            # platform's orders (the new one would not know of them).
            log.warning("frame %d of engine session %016x, replaced by %016x: ignored",
                        header.sequence, header.session_id, self._engine_session or 0)
            return
        if self._engine_session is None:
            log.info("engine session %016x heard", header.session_id)
        elif header.session_id != self._engine_session:
            # A restarted engine knows nothing of this session: introduce ourselves again.
            log.warning("engine session changed %016x -> %016x: engine restarted",
                        self._engine_session, header.session_id)
            self._retired_sessions.add(self._engine_session)
            self._engine_ack = 0
            if not self._hello_since_heard:
                self._say_hello()
        if self._engine_silent:
            log.warning("engine back after %.1f s of silence", wall - (self._engine_heard or wall))
            self._engine_silent = False
            if not self._hello_since_heard:
                self._say_hello()
        self._engine_session = header.session_id
        self._engine_heard = wall
        self._hello_since_heard = False
        if self._engine_ack and header.sequence <= self._engine_ack:
            log.warning("engine frame sequence %d already received (last %d); ignored",
                        header.sequence, self._engine_ack)
            return
        if self._engine_ack and header.sequence != self._engine_ack + 1:
            log.warning("engine sequence gap: expected %d, got %d (%d frames missing)",
                        self._engine_ack + 1, header.sequence,
                        header.sequence - self._engine_ack - 1)
        self._engine_ack = header.sequence
        if self.config.wait_for_engine:
            self._start_replay()
        now = self._now()
        for rtype, rec in frame:
            if rtype == RecordType.HEARTBEAT:
                self._on_engine_ack(int(rec["ack_sequence"]))
                continue
            if rtype == RecordType.TRADING_STATE:
                # Shown, never acted on: the engine enforces its trading state.
                state = int(rec["state"])
                reason = bytes(rec["reason"]).rstrip(b"\0").decode("utf-8", "replace")
                self.platform.trading_state = (state, reason)
                log.warning("engine trading state for %s: %s%s", self.config.account,
                            _STATE_NAMES.get(state, str(state)), f" ({reason})" if reason else "")
                continue
            if rtype not in COMMANDS:
                log.warning("engine frame %d: %s is not a command; ignored",
                            header.sequence, rtype.name)
                continue
            self._queue(self._command(rtype, rec, now))

    def _command(self, rtype: RecordType, rec: np.void, now: int) -> list[np.ndarray]:
        try:
            return self.platform.command(rtype, rec, now)
        except Exception as exc:  # a simulator bug must not kill the session
            log.exception("%s failed inside the simulator", rtype.name)
            return [_reject(rec, rtype, RejectReason.PLATFORM_REJECTED,
                            f"simulator error: {exc}")]

    def _check_engine(self, wall: float) -> None:
        c = self.config
        if self._engine_heard is None or self._engine_silent:
            return
        silent_for = wall - self._engine_heard
        if silent_for < c.silence_intervals * c.heartbeat_ms / 1000:
            return
        self._engine_silent = True
        working = self.platform.engine_working_count()
        if c.cancel_on_disconnect and working:
            log.warning("engine silent for %.1f s: canceling the engine's %d working orders "
                        "(cancel-on-disconnect)", silent_for, working)
            self._queue(self.platform.cancel_everything(self._now()))
        else:
            log.warning("engine silent for %.1f s", silent_for)

    # ---- inbound: kill switch ------------------------------------------------------
    def _drain_kill(self) -> None:
        assert self._kill is not None
        while True:
            try:
                parts = self._kill.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.stats["kill_requests"] += 1
            envelope, payload = parts[:-1], parts[-1]
            replies = self._on_kill_frame(payload)
            self._kill_sequence += 1
            frame = encode_frame(replies, session_id=self.session_id,
                                 sequence=self._kill_sequence, send_time_ns=time.time_ns())
            try:
                self._kill.send_multipart([*envelope, frame], zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                log.error("kill reply not delivered: %s", exc)

    def _on_kill_frame(self, payload: bytes) -> list[np.ndarray]:
        """Kill records are applied; the CommandAck/Reject go back to the requester, the
        order events to the engine. Works with no engine at all."""
        try:
            frame = decode_frame(payload)
        except ProtocolError as exc:
            log.error("kill endpoint: frame of %d bytes refused: %s", len(payload), exc)
            return [make_record(RecordType.COMMAND_REJECT, command_type=int(RecordType.KILL),
                                reason=int(RejectReason.MALFORMED), text=str(exc)[:64])]
        replies: list[np.ndarray] = []
        for rtype, rec in frame:
            if rtype != RecordType.KILL:
                replies.append(_reject(rec, rtype, RejectReason.MALFORMED,
                                       "kill endpoint accepts Kill records only"))
                continue
            for record in self.platform.kill(rec, self._now()):
                kind = int(record["type"][0])
                if kind in (RecordType.COMMAND_ACK, RecordType.COMMAND_REJECT):
                    replies.append(record)
                else:
                    self._queue([record])
            ok = int(replies[-1]["type"][0]) == RecordType.COMMAND_ACK
            log.warning("kill request %d (flatten=%d): %s", int(rec["request_id"]),
                        int(rec["flatten"]), "done" if ok else "refused")
        return replies

    # ---- status --------------------------------------------------------------------
    def _status(self, final: bool = False) -> None:
        s, p = self.stats, self.platform
        engine = ("waiting" if self._engine_heard is None else
                  "silent" if self._engine_silent else "up")
        positions = " ".join(f"{spec.symbol} {p.positions[i].quantity:+d}"
                             for i, spec in p.instruments.items())
        told = p.trading_state
        engine += f" {_STATE_NAMES.get(told[0], told[0])}" if told else ""
        if p.orders_connection != ConnectionState.CONNECTED:
            engine += f" | broker {p.orders_connection.name}"
        line = (f"sim: ticks {s['ticks']}/{len(self.tape)} | engine {engine} | "
                f"orders {len(p.matching.orders)} working {p.working_count()} | "
                f"fills {len(p.fills)} | {positions} | frames {s['frames_sent']} "
                f"unacked {len(self._unacked)} resent {s['frames_resent']} "
                f"dropped {s['market_dropped']} | errors {s['engine_errors']}")
        print(line + (" | stopped" if final else ""), file=sys.stderr, flush=True)


def _reject(rec: np.void, rtype: RecordType, reason: RejectReason, text: str) -> np.ndarray:
    fields = rec.dtype.names or ()
    return make_record(
        RecordType.COMMAND_REJECT, instrument_id=int(rec["instrument_id"]),
        request_id=int(rec["request_id"]) if "request_id" in fields else 0,
        client_order_id=int(rec["client_order_id"]) if "client_order_id" in fields else 0,
        command_type=int(rtype), reason=int(reason), text=text.encode()[:64],
    )


def run_in_thread(simulator: Simulator, timeout: float = 5.0) -> threading.Thread:
    """Starts ``simulator.run()`` on a daemon thread and waits until its sockets are up
    (for in-process tests; the process tests use ``python -m tickbridge sim``)."""
    thread = threading.Thread(target=simulator.run, name="tickbridge-sim", daemon=True)
    thread.start()
    if not simulator.ready.wait(timeout):
        raise RuntimeError("simulator did not open its sockets in time")
    return thread


def curve_client_keys(server_key_file: str | os.PathLike[str],
                      key_file: str | os.PathLike[str]) -> dict[str, str]:
    """SimConfig's curve_* fields from zmq.auth certificate files: the engine's public key
    (its NAME.key) and this shim's pair (its NAME.key_secret); ValueError names the file."""
    import zmq.auth

    try:
        server, _ = zmq.auth.load_certificate(server_key_file)
    except (OSError, ValueError) as e:
        raise ValueError(f"--curve-server-key {server_key_file}: {e}") from e
    try:
        public, secret = zmq.auth.load_certificate(key_file)
    except (OSError, ValueError) as e:
        raise ValueError(f"--curve-key {key_file}: {e}") from e
    if secret is None:
        raise ValueError(f"--curve-key {key_file}: no secret key in it (give the "
                         "NAME.key_secret file)")
    return {"curve_server_key": server.decode(), "curve_public_key": public.decode(),
            "curve_secret_key": secret.decode()}


def kill_secret_from_env() -> str | None:
    return os.environ.get("TICKBRIDGE_KILL_SECRET") or None
