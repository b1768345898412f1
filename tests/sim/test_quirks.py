"""The awkward event orders, on and off, through the platform's records."""

from __future__ import annotations

import pytest

from tickbridge.protocol import OrderStatus, RecordType, make_record
from tickbridge.sim.generator import ES
from tickbridge.sim.platform import PlatformConfig, SimulatedPlatform
from tickbridge.sim.quirks import QuirkConfig

MS = 1_000_000


def platform(latency_ms: float = 0, **quirks: bool) -> SimulatedPlatform:
    p = SimulatedPlatform([ES], PlatformConfig(latency_ns=int(latency_ms * MS),
                                               quirks=QuirkConfig(**quirks)))
    p.on_quote(1, 0, 6000.00, 6000.25, 10, 10)
    return p


def submit(p: SimulatedPlatform, coid: int, price: float, now: int = 1):
    rec = make_record(RecordType.SUBMIT, instrument_id=1, request_id=coid,
                      client_order_id=coid, price=price, quantity=1, side=1, order_type=2,
                      time_in_force=1)[0]
    return p.command(RecordType.SUBMIT, rec, now)


def shape(records) -> list[str]:
    out = []
    for r in records:
        kind = RecordType(int(r["type"][0]))
        if kind == RecordType.ORDER_UPDATE:
            out.append(OrderStatus(int(r["status"][0])).name)
        else:
            out.append(kind.name)
    return out


def test_natural_order():
    assert shape(submit(platform(), 1, 6000.25)) == [
        "COMMAND_ACK", "ACKNOWLEDGED", "WORKING", "FILL", "POSITION", "FILLED"]


def test_update_before_ack():
    p = platform(update_before_ack=True)
    assert shape(submit(p, 1, 6000.25)) == [
        "ACKNOWLEDGED", "WORKING", "COMMAND_ACK", "FILL", "POSITION", "FILLED"]


def test_update_before_ack_holds_the_ack_across_the_latency():
    p = platform(latency_ms=5, update_before_ack=True)
    assert shape(submit(p, 1, 5999.00)) == ["ACKNOWLEDGED"]
    assert p.quirks.held == 1
    assert shape(p.advance(10 * MS)) == ["WORKING", "COMMAND_ACK"]
    assert p.quirks.held == 0


def test_fill_before_working():
    p = platform(fill_before_working=True)
    assert shape(submit(p, 1, 6000.25)) == [
        "COMMAND_ACK", "ACKNOWLEDGED", "FILL", "POSITION", "WORKING", "FILLED"]


def test_both_quirks():
    p = platform(update_before_ack=True, fill_before_working=True)
    assert shape(submit(p, 1, 6000.25)) == [
        "ACKNOWLEDGED", "FILL", "POSITION", "WORKING", "COMMAND_ACK", "FILLED"]


def test_rejects_are_never_held():
    p = platform(update_before_ack=True)
    assert shape(submit(p, 1, 6000.10)) == ["COMMAND_REJECT"]


@pytest.mark.parametrize("names,expected", [
    ([], QuirkConfig()),
    (["all"], QuirkConfig(True, True)),
    (["update-before-ack"], QuirkConfig(update_before_ack=True)),
    (["fill_before_working,none"], QuirkConfig(fill_before_working=True)),
])
def test_parse(names, expected):
    assert QuirkConfig.parse(names) == expected


def test_parse_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown quirk"):
        QuirkConfig.parse(["sometimes"])


def test_a_retried_submit_inside_the_latency_keeps_both_acks():
    p = platform(latency_ms=5, update_before_ack=True)
    submit(p, 1, 5999.00)
    assert shape(submit(p, 1, 5999.00)) == ["ACKNOWLEDGED"]
    assert shape(p.advance(10 * MS)) == ["WORKING", "COMMAND_ACK", "COMMAND_ACK"]
