"""The simulated platform: one account's orders, positions and PnL, as Sierra Chart or
NinjaTrader report them through a shim. Applies engine commands, feeds the tape to the
matching engine, and turns what happens into protocol records.

No sockets here (process.py owns them): every method takes the simulated time and
returns the records to send, in order.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

import numpy as np

from tickbridge.protocol import (
    ConnectionState,
    OrderType,
    Platform,
    RecordType,
    RejectReason,
    Side,
    SnapshotPart,
    SnapshotPhase,
    TimeInForce,
    make_record,
)
from tickbridge.sim.generator import InstrumentSpec
from tickbridge.sim.matching import (
    Ack,
    Event,
    Execution,
    MatchingEngine,
    Reject,
    SessionOpen,
    Update,
    always_open,
)
from tickbridge.sim.quirks import QuirkConfig, Quirks

# Orders the platform itself creates (Flatten and Kill closing orders) have no engine
# client order id; they get ids with the top bit set, which the engine never makes.
PLATFORM_ORDER_ID_BIT = 1 << 63
# Orders the trader places by hand (Simulator.by_hand): kept under these ids inside, reported
# with client order id 0, as the shims report every order the engine did not make (only the
# platform's flatten orders keep a platform-made id on the wire: engine/flatten_orders.py).
HAND_ORDER_ID_BITS = PLATFORM_ORDER_ID_BIT | 1 << 62


def wire_client_order_id(client_order_id: int) -> int:
    hand = client_order_id & HAND_ORDER_ID_BITS == HAND_ORDER_ID_BITS
    return 0 if hand else client_order_id


def _engine_made(client_order_id: int) -> bool:
    return not client_order_id & PLATFORM_ORDER_ID_BIT
RECENTLY_FINISHED_NS = 10 * 60 * 1_000_000_000  # finished orders restated in snapshots
VERSION_TEXT = "tickbridge-sim 0.1"

Records = list[np.ndarray]
# Refused while the simulated order connection is down (a Kill still acts: it is the
# platform's own action, and a snapshot is the platform's own books).
_ORDER_COMMANDS = frozenset({RecordType.SUBMIT, RecordType.CANCEL, RecordType.REPLACE,
                             RecordType.CANCEL_ALL, RecordType.FLATTEN})


@dataclass
class PositionBook:
    quantity: int = 0  # signed: + long, - short
    average_price: float = 0.0
    realized_pnl: float = 0.0

    def apply(self, side: Side, quantity: int, price: float, point_value: float) -> None:
        signed = quantity if side == Side.BUY else -quantity
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            total = self.quantity + signed
            self.average_price = (
                self.average_price * abs(self.quantity) + price * abs(signed)
            ) / abs(total)
            self.quantity = total
            return
        closing = min(abs(signed), abs(self.quantity))
        direction = 1 if self.quantity > 0 else -1
        self.realized_pnl += (price - self.average_price) * closing * direction * point_value
        self.quantity += signed
        if self.quantity == 0:
            self.average_price = 0.0
        elif (self.quantity > 0) != (direction > 0):
            self.average_price = price  # flipped through flat: the rest opened at price

    def open_pnl(self, mark: float, point_value: float) -> float:
        return (mark - self.average_price) * self.quantity * point_value if self.quantity else 0.0


@dataclass(frozen=True)
class PlatformConfig:
    account: str = "Sim101"
    latency_ns: int = 5_000_000
    starting_cash: float = 50_000.0
    quirks: QuirkConfig = field(default_factory=QuirkConfig)
    kill_secret: str | None = None
    live_account: bool = False  # say "live" in Hello (the fills stay paper)
    queue_front: bool = False  # resting orders join at the front of their price level
    # What Hello says the platform is: one simulator can stand for either platform (the
    # copier's tests run a Sierra Chart-like and a NinjaTrader-like session side by side).
    platform: Platform = Platform.SIMULATOR


class SimulatedPlatform:
    def __init__(
        self,
        instruments: list[InstrumentSpec],
        config: PlatformConfig | None = None,
        *,
        is_open: SessionOpen = always_open,
        execution_prefix: str = "X",
    ) -> None:
        self.config = config or PlatformConfig()
        # Instrument ids 1..n in the order given (the contract with the engine).
        self.instruments = {i: spec for i, spec in enumerate(instruments, start=1)}
        self.matching = MatchingEngine(
            {i: s.tick_size for i, s in self.instruments.items()},
            latency_ns=self.config.latency_ns, is_open=is_open,
            execution_prefix=execution_prefix, queue_front=self.config.queue_front,
        )
        self.quirks = Quirks(self.config.quirks)
        self.positions = {i: PositionBook() for i in self.instruments}
        self.fills: Records = []  # every Fill record of the session, for snapshots
        self._platform_orders = 0
        self.dirty = False  # order state changed since the last save (persist.py)
        # The platform's own connections, as PlatformStatus reports them (set_connection
        # simulates a broker or data outage).
        self.orders_connection = ConnectionState.CONNECTED
        self.prices_connection = ConnectionState.CONNECTED
        self.connection_text = "simulated connection"
        # What the engine last said of this account's trading state (TradingState): shown
        # in the status line, never acted on (the engine enforces it).
        self.trading_state: tuple[int, str] | None = None

    # ---- start-up ------------------------------------------------------------------
    def hello(self, heartbeat_interval_ms: int, now: int = 0) -> Records:
        """Hello, the instrument definitions, then the platform's connection status."""
        records = [make_record(
            RecordType.HELLO, platform=int(self.config.platform),
            simulated=0 if self.config.live_account else 1,
            heartbeat_interval_ms=heartbeat_interval_ms, platform_version=VERSION_TEXT,
            account=self.config.account,
        )]
        for iid, spec in self.instruments.items():
            records.append(make_record(
                RecordType.INSTRUMENT_DEFINITION, instrument_id=iid, tick_size=spec.tick_size,
                point_value=spec.point_value, symbol=spec.symbol, exchange=spec.exchange,
            ))
        records.append(self.platform_status(now))
        return records

    def platform_status(self, now: int) -> np.ndarray:
        return make_record(RecordType.PLATFORM_STATUS, time_ns=now,
                           orders=int(self.orders_connection),
                           prices=int(self.prices_connection),
                           text=_fit(self.connection_text, 48))

    def set_connection(self, orders: ConnectionState, prices: ConnectionState, text: str,
                       now: int) -> Records:
        """A simulated change of the platform's own connection: its PlatformStatus, or
        nothing when nothing changed. While the order connection is down, order commands
        are refused NOT_CONNECTED (as the NinjaTrader strategy does); working orders keep
        working and may fill (they rest at the exchange, not at the platform)."""
        if (orders, prices, text) == (self.orders_connection, self.prices_connection,
                                      self.connection_text):
            return []
        self.orders_connection, self.prices_connection = orders, prices
        self.connection_text = text
        return [self.platform_status(now)]

    # ---- market data ---------------------------------------------------------------
    def on_quote(self, iid: int, now: int, bid: float, ask: float, bid_size: int,
                 ask_size: int) -> Records:
        return self._records(self.matching.on_quote(iid, now, bid, ask, bid_size, ask_size))

    def on_trade(self, iid: int, now: int, price: float, size: int, aggressor: int) -> Records:
        return self._records(self.matching.on_trade(iid, now, price, size, aggressor))

    def advance(self, now: int) -> Records:
        return self._records(self.matching.advance(now))

    # ---- commands ------------------------------------------------------------------
    def command(self, rtype: RecordType, rec: np.void, now: int) -> Records:
        """One engine command: exactly one CommandAck or CommandReject among the records
        (for a Submit held by the update-before-ack quirk, later)."""
        m = self.matching
        if self.orders_connection != ConnectionState.CONNECTED and rtype in _ORDER_COMMANDS:
            return self._records([Reject(
                int(rec["request_id"]), int(rec["client_order_id"])
                if "client_order_id" in (rec.dtype.names or ()) else 0, rtype,
                RejectReason.NOT_CONNECTED,
                f"order connection {self.orders_connection.name}",
                int(rec["instrument_id"]))])
        if rtype == RecordType.SUBMIT:
            events = m.submit(
                request_id=int(rec["request_id"]), client_order_id=int(rec["client_order_id"]),
                instrument_id=int(rec["instrument_id"]), side=int(rec["side"]),
                order_type=int(rec["order_type"]), time_in_force=int(rec["time_in_force"]),
                quantity=int(rec["quantity"]), price=float(rec["price"]),
                stop_price=float(rec["stop_price"]), now=now,
            )
        elif rtype == RecordType.CANCEL:
            events = m.cancel(request_id=int(rec["request_id"]),
                              client_order_id=int(rec["client_order_id"]), now=now)
        elif rtype == RecordType.REPLACE:
            events = m.replace(
                request_id=int(rec["request_id"]), client_order_id=int(rec["client_order_id"]),
                price=float(rec["price"]), stop_price=float(rec["stop_price"]),
                quantity=int(rec["quantity"]), now=now,
            )
        elif rtype == RecordType.CANCEL_ALL:
            events = [Ack(int(rec["request_id"]), 0, rtype, int(rec["instrument_id"]))]
            events += m.cancel_all(int(rec["instrument_id"]), now)
        elif rtype == RecordType.FLATTEN:
            events = [Ack(int(rec["request_id"]), 0, rtype, int(rec["instrument_id"]))]
            events += self._flatten_events(int(rec["instrument_id"]), now)
        elif rtype == RecordType.SNAPSHOT_REQUEST:
            ack = self._records([Ack(int(rec["request_id"]), 0, rtype)])
            return ack + self.snapshot(int(rec["request_id"]), int(rec["what"]),
                                       int(rec["fills_since_ns"]), now)
        elif rtype == RecordType.KILL:
            return self.kill(rec, now)
        else:
            raise ValueError(f"{rtype.name} is not a command")
        return self._records(events)

    def kill(self, rec: np.void, now: int) -> Records:
        """The kill switch: cancel every working order and, with flatten=1, close every
        position. Refused unless the secret matches (constant-time compare)."""
        request_id = int(rec["request_id"])
        secret = self.config.kill_secret
        given = bytes(rec["secret"]).rstrip(b"\0")
        if not secret or not hmac.compare_digest(given, secret.encode()):
            why = "no kill secret configured" if not secret else "bad kill secret"
            return self._records([Reject(request_id, 0, RecordType.KILL,
                                         RejectReason.BAD_SECRET, why)])
        events: list[Event] = [Ack(request_id, 0, RecordType.KILL)]
        if int(rec["flatten"]):
            events += self._flatten_events(0, now)
        else:
            events += self.matching.cancel_all(0, now)
        return self._records(events)

    def cancel_everything(self, now: int) -> Records:
        """Cancel-on-disconnect: the engine went silent, its working orders must not stay
        unattended (DESIGN: the shim cancels the engine's working orders). The trader's
        own orders (by hand, or a flatten's) stay, as the real shims leave them."""
        return self._records(self.matching.cancel_all(0, now, which=_engine_made))

    def engine_working_count(self) -> int:
        return sum(_engine_made(o.client_order_id) for o in self.matching.working_orders())

    def _flatten_events(self, instrument_id: int, now: int) -> list[Event]:
        events = self.matching.cancel_all(instrument_id, now)
        for iid, book in self.positions.items():
            if instrument_id not in (0, iid) or book.quantity == 0:
                continue
            self._platform_orders += 1
            coid = PLATFORM_ORDER_ID_BIT | self._platform_orders
            side = Side.SELL if book.quantity > 0 else Side.BUY
            placed = self.matching.submit(
                request_id=0, client_order_id=coid, instrument_id=iid, side=int(side),
                order_type=int(OrderType.MARKET), time_in_force=int(TimeInForce.DAY),
                quantity=abs(book.quantity), price=0.0, stop_price=0.0, now=now,
            )
            # The flatten's own Ack answers the command; the closing order's is internal.
            events += [e for e in placed if not isinstance(e, Ack | Reject)]
        return events

    # ---- orders the trader places by hand ------------------------------------------
    def by_hand(self, action: str, hand_id: int, now: int, **fields: float) -> Records:
        """An order the trader works at the platform itself (not the engine's): the shim
        reports it as an external order, client order id 0 (``wire_client_order_id``).
        ``submit`` (symbol index ``instrument_id``, side, quantity, order_type, price),
        ``replace`` (price, quantity), ``cancel``, and ``fill``: ``quantity`` of it
        executed now at its limit price (the exchange matching the trader's order; the
        tests' way to fill it partly without waiting for the tape)."""
        m = self.matching
        if action == "submit":
            events = m.submit(
                request_id=0, client_order_id=hand_id, instrument_id=int(fields["instrument_id"]),
                side=int(fields["side"]), order_type=int(fields.get("order_type", OrderType.LIMIT)),
                time_in_force=int(TimeInForce.DAY), quantity=int(fields["quantity"]),
                price=float(fields.get("price", 0.0)), stop_price=0.0, now=now)
        elif action == "replace":
            order = m.orders[hand_id]
            events = m.replace(request_id=0, client_order_id=hand_id,
                               price=float(fields.get("price", 0.0)), stop_price=0.0,
                               quantity=int(fields.get("quantity", order.quantity)), now=now)
        elif action == "cancel":
            events = m.cancel(request_id=None, client_order_id=hand_id, now=now)
        elif action == "fill":
            events = m.execute(hand_id, int(fields["quantity"]), now)
        else:
            raise ValueError(f"by_hand: unknown action {action!r} (submit, replace, cancel, "
                             "fill)")
        # No engine command to answer: the platform's own acknowledgements stay inside.
        return self._records([e for e in events if not isinstance(e, Ack | Reject)])

    # ---- snapshots and account -----------------------------------------------------
    def snapshot(self, request_id: int, what: int, fills_since_ns: int, now: int) -> Records:
        parts = SnapshotPart(what & int(SnapshotPart.ALL))
        body: Records = []
        if parts & SnapshotPart.ORDERS:
            for order in self.matching.orders.values():
                recent = order.finished_ns is not None and \
                    order.finished_ns >= now - RECENTLY_FINISHED_NS
                if not order.finished or recent:
                    body.append(self._order_update(Update(order, now, "snapshot")))
        if parts & SnapshotPart.POSITIONS:
            body += [self.position_record(iid, now) for iid in self.instruments]
        if parts & SnapshotPart.FILLS:
            body += [f for f in self.fills if int(f["time_ns"][0]) >= fills_since_ns]
        if parts & SnapshotPart.ACCOUNT:
            body.append(self.account_record(now))
        begin = make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                            phase=int(SnapshotPhase.BEGIN))
        end = make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                          phase=int(SnapshotPhase.END), record_count=len(body))
        return [begin, *body, end]

    def mark(self, iid: int) -> float:
        book = self.positions[iid]
        return self.matching.last_trade.get(iid, book.average_price)

    def position_record(self, iid: int, now: int) -> np.ndarray:
        book = self.positions[iid]
        pnl = book.open_pnl(self.mark(iid), self.instruments[iid].point_value)
        return make_record(RecordType.POSITION, instrument_id=iid, time_ns=now,
                           quantity=book.quantity, average_price=book.average_price,
                           open_pnl=pnl)

    def account_record(self, now: int) -> np.ndarray:
        realized = sum(b.realized_pnl for b in self.positions.values())
        unrealized = sum(
            b.open_pnl(self.mark(i), self.instruments[i].point_value)
            for i, b in self.positions.items()
        )
        cash = self.config.starting_cash + realized
        return make_record(RecordType.ACCOUNT, time_ns=now, cash_balance=cash,
                           realized_pnl=realized, unrealized_pnl=unrealized,
                           net_liquidation=cash + unrealized)

    # ---- events to records ---------------------------------------------------------
    def _records(self, events: list[Event]) -> Records:
        if not events:
            return []
        self.dirty = True
        out: Records = []
        for event in self.quirks.apply(events):
            if isinstance(event, Ack):
                out.append(make_record(
                    RecordType.COMMAND_ACK, instrument_id=event.instrument_id,
                    request_id=event.request_id, client_order_id=event.client_order_id,
                    command_type=int(event.command_type)))
            elif isinstance(event, Reject):
                out.append(make_record(
                    RecordType.COMMAND_REJECT, instrument_id=event.instrument_id,
                    request_id=event.request_id, client_order_id=event.client_order_id,
                    command_type=int(event.command_type), reason=int(event.reason),
                    text=_fit(event.text, 64)))
            elif isinstance(event, Update):
                out.append(self._order_update(event))
            elif isinstance(event, Execution):
                out += self._execution(event)
        return out

    @staticmethod
    def _order_update(event: Update) -> np.ndarray:
        o = event.order
        return make_record(
            RecordType.ORDER_UPDATE, instrument_id=o.instrument_id,
            client_order_id=wire_client_order_id(o.client_order_id), time_ns=event.time_ns,
            price=o.price,
            stop_price=o.stop_price, quantity=o.quantity, filled_quantity=o.filled_quantity,
            average_fill_price=o.average_fill_price, status=int(o.status), side=int(o.side),
            order_type=int(o.order_type), time_in_force=int(o.time_in_force),
            reason=int(RejectReason.NONE), platform_order_id=o.platform_order_id,
            text=_fit(event.text, 40),
        )

    def _execution(self, event: Execution) -> Records:
        o = event.order
        fill = make_record(
            RecordType.FILL, instrument_id=o.instrument_id,
            client_order_id=wire_client_order_id(o.client_order_id),
            time_ns=event.time_ns, price=event.price, quantity=event.quantity,
            side=int(o.side), execution_id=event.execution_id,
            platform_order_id=o.platform_order_id,
        )
        self.fills.append(fill)
        spec = self.instruments[o.instrument_id]
        self.positions[o.instrument_id].apply(o.side, event.quantity, event.price,
                                              spec.point_value)
        return [fill, self.position_record(o.instrument_id, event.time_ns)]

    # ---- reporting -----------------------------------------------------------------
    def working_count(self) -> int:
        return len(self.matching.working_orders())

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for order in self.matching.orders.values():
            counts[order.status.name] = counts.get(order.status.name, 0) + 1
        return counts


def _fit(text: str, size: int) -> str:
    data = text.encode()[:size]
    return data.decode(errors="ignore")

