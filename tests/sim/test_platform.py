"""Positions, PnL, flatten, snapshots and the kill secret, without sockets."""

from __future__ import annotations

from tickbridge.protocol import (
    OrderStatus,
    RecordType,
    RejectReason,
    SnapshotPart,
    SnapshotPhase,
    make_record,
)
from tickbridge.sim.generator import ES, NQ
from tickbridge.sim.platform import (
    PLATFORM_ORDER_ID_BIT,
    PlatformConfig,
    PositionBook,
    SimulatedPlatform,
)


def platform(**kw) -> SimulatedPlatform:
    p = SimulatedPlatform([ES, NQ], PlatformConfig(latency_ns=0, **kw))
    p.on_quote(1, 0, 6000.00, 6000.25, 10, 10)
    p.on_quote(2, 0, 21000.00, 21000.25, 10, 10)
    return p


def command(p, kind, now=1, **fields):
    return p.command(kind, make_record(kind, **fields)[0], now)


def kinds(records):
    return [RecordType(int(r["type"][0])) for r in records]


def market(p, coid, side, qty, iid=1, now=1):
    return command(p, RecordType.SUBMIT, now=now, instrument_id=iid, request_id=coid,
                   client_order_id=coid, quantity=qty, side=side, order_type=1,
                   time_in_force=1)


def test_position_book_average_realized_and_flip():
    book = PositionBook()
    book.apply(1, 2, 100.0, 50.0)
    book.apply(1, 2, 101.0, 50.0)
    assert (book.quantity, book.average_price) == (4, 100.5)
    book.apply(2, 1, 102.0, 50.0)
    assert (book.quantity, book.average_price, book.realized_pnl) == (3, 100.5, 75.0)
    book.apply(2, 5, 99.0, 50.0)
    assert (book.quantity, book.average_price) == (-2, 99.0)
    assert book.realized_pnl == 75.0 + 3 * (99.0 - 100.5) * 50.0
    assert book.open_pnl(98.0, 50.0) == 100.0


def test_fill_is_followed_by_position():
    p = platform()
    out = market(p, 1, 1, 2)
    assert kinds(out)[-3:] == [RecordType.FILL, RecordType.POSITION, RecordType.ORDER_UPDATE]
    position = out[-2]
    assert int(position["quantity"][0]) == 2 and float(position["average_price"][0]) == 6000.25
    assert p.fills and bytes(p.fills[0]["execution_id"][0])


def test_flatten_cancels_and_closes_with_platform_orders():
    p = platform()
    market(p, 1, 1, 2)
    market(p, 2, 2, 3, iid=2)
    command(p, RecordType.SUBMIT, instrument_id=1, request_id=3, client_order_id=3,
            price=5990.0, quantity=1, side=1, order_type=2, time_in_force=1)
    out = command(p, RecordType.FLATTEN, now=2, request_id=9)
    assert kinds(out)[0] == RecordType.COMMAND_ACK and int(out[0]["request_id"][0]) == 9
    assert kinds(out).count(RecordType.COMMAND_ACK) == 1
    assert p.positions[1].quantity == 0 and p.positions[2].quantity == 0
    assert p.matching.orders[3].status == OrderStatus.CANCELED
    closers = [o for o in p.matching.orders if o & PLATFORM_ORDER_ID_BIT]
    assert len(closers) == 2


def test_snapshot_honours_what_and_counts_records():
    p = platform()
    market(p, 1, 1, 2)
    command(p, RecordType.SUBMIT, instrument_id=1, request_id=2, client_order_id=2,
            price=5990.0, quantity=1, side=1, order_type=2, time_in_force=1)
    out = command(p, RecordType.SNAPSHOT_REQUEST, now=5, request_id=77,
                  what=int(SnapshotPart.ALL), fills_since_ns=0)
    assert kinds(out)[:2] == [RecordType.COMMAND_ACK, RecordType.SNAPSHOT_BOUNDARY]
    begin, end = out[1], out[-1]
    assert int(begin["phase"][0]) == SnapshotPhase.BEGIN
    assert int(end["phase"][0]) == SnapshotPhase.END and int(end["request_id"][0]) == 77
    body = kinds(out[2:-1])
    assert int(end["record_count"][0]) == len(body)
    assert body.count(RecordType.ORDER_UPDATE) == 2  # working + recently filled
    assert body.count(RecordType.POSITION) == 2 and body.count(RecordType.FILL) == 1
    assert body.count(RecordType.ACCOUNT) == 1
    out = command(p, RecordType.SNAPSHOT_REQUEST, now=5, request_id=78,
                  what=int(SnapshotPart.POSITIONS), fills_since_ns=0)
    assert kinds(out[2:-1]) == [RecordType.POSITION] * 2
    out = command(p, RecordType.SNAPSHOT_REQUEST, now=5, request_id=79,
                  what=int(SnapshotPart.FILLS), fills_since_ns=2)
    assert kinds(out[2:-1]) == []


def test_kill_needs_the_secret():
    p = platform(kill_secret="s3cret")
    command(p, RecordType.SUBMIT, instrument_id=1, request_id=1, client_order_id=1,
            price=5990.0, quantity=1, side=1, order_type=2, time_in_force=1)
    bad = command(p, RecordType.KILL, request_id=5, secret="guess")
    assert kinds(bad) == [RecordType.COMMAND_REJECT]
    assert int(bad[0]["reason"][0]) == RejectReason.BAD_SECRET
    good = command(p, RecordType.KILL, request_id=6, secret="s3cret")
    assert kinds(good)[0] == RecordType.COMMAND_ACK
    assert p.matching.orders[1].status == OrderStatus.CANCELED
    unset = command(platform(), RecordType.KILL, request_id=7, secret="")
    assert int(unset[0]["reason"][0]) == RejectReason.BAD_SECRET


def test_account_sums_realized_and_open_pnl():
    p = platform(starting_cash=1000.0)
    market(p, 1, 1, 1)  # long 1 ES at 6000.25
    p.on_trade(1, 2, 6001.25, 1, 1)
    account = p.account_record(3)
    assert float(account["unrealized_pnl"][0]) == 50.0
    assert float(account["net_liquidation"][0]) == 1050.0


def test_hello_ends_with_the_platform_status_and_an_outage_refuses_order_commands():
    from tickbridge.protocol import ConnectionState

    p = platform(kill_secret="s3cret")
    hello = p.hello(500, now=7)
    assert kinds(hello)[0] == RecordType.HELLO and kinds(hello)[-1] == RecordType.PLATFORM_STATUS
    assert int(hello[-1]["orders"][0]) == ConnectionState.CONNECTED
    lost = p.set_connection(ConnectionState.CONNECTION_LOST, ConnectionState.CONNECTED,
                            "broker down", 8)
    assert kinds(lost) == [RecordType.PLATFORM_STATUS]
    assert (int(lost[0]["orders"][0]), int(lost[0]["time_ns"][0])) == (3, 8)
    assert p.set_connection(ConnectionState.CONNECTION_LOST, ConnectionState.CONNECTED,
                            "broker down", 9) == []  # nothing changed: nothing said
    for kind, fields in ((RecordType.SUBMIT, {"client_order_id": 5, "quantity": 1,
                                              "side": 1, "order_type": 1,
                                              "time_in_force": 1, "instrument_id": 1}),
                         (RecordType.CANCEL, {"client_order_id": 5}),
                         (RecordType.FLATTEN, {})):
        (reject,) = command(p, kind, request_id=9, **fields)
        assert int(reject["reason"][0]) == RejectReason.NOT_CONNECTED, kind
    # The kill is the platform's own action: it still acts.
    (ack, *_) = command(p, RecordType.KILL, request_id=10, secret="s3cret")
    assert kinds([ack]) == [RecordType.COMMAND_ACK]
    p.set_connection(ConnectionState.CONNECTED, ConnectionState.CONNECTED, "back", 11)
    assert RecordType.COMMAND_ACK in kinds(market(p, 12, 1, 1))
