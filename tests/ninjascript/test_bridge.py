"""The NinjaTrader shim end to end: TickBridgeStrategy compiled with mcs against the
NinjaTrader stub, run under mono by the test host, talking over real ZeroMQ sockets to
the engine peer of peer.py (and to a kill client)."""

from __future__ import annotations

import time

import pytest
import zmq

from tests.waiting import WaitTimeout, wait_until
from tickbridge.protocol import RecordType, decode_frame, encode_frame, make_record

from .conftest import free_port
from .peer import EnginePeer, record_dict

SECRET = "correct-horse-battery"
ES = "ES 12-26"


def start(host, peer: EnginePeer | None, *, kill_port: int | None = None, **options) -> dict:
    engine = peer.endpoint if peer else f"tcp://127.0.0.1:{free_port()}"   # nobody listening
    kill = f"tcp://127.0.0.1:{kill_port}" if kill_port else "none"
    words = [f"start engine={engine} kill={kill} secret={SECRET} hb=100 silence=3 depth=1"]
    words += [f"{k}={v}" for k, v in options.items()]
    started = host.command(" ".join(words), "started")
    if peer:
        peer.wait_type("Hello")
    return started


def calls_of(host, method: str) -> list[dict]:
    calls = []
    for call in host.calls():
        # every strategy order method ran inside a NinjaScript event (TriggerCustomEvent);
        # the Account's methods (the kill path) may run on any thread but the bridge's socket
        # thread, which never touches orders; "NinjaTrader." calls are the platform's own (its
        # start behaviour), not the strategy's
        in_event = call.pop("in_script_event")
        assert in_event is True or call["method"].startswith(("Account.", "NinjaTrader.")), call
        assert call.pop("thread") != "TickBridge", call
        if call["method"] == method:
            calls.append(call)
    return calls


def test_an_account_name_that_does_not_fit_is_a_clear_error(make_host):
    host = make_host()
    started = start(host, None, account="Sim" + "x" * 40)
    assert started["session_id"] == "0" and started["sockets"] == 0
    logs = " ".join(host.command("logs")["logs"])
    assert "not started: Hello.account: 43 bytes do not fit in 32" in logs, logs


def wait_call(host, method: str, timeout: float = 10.0, **fields) -> dict:
    def found() -> dict | None:
        return next((c for c in calls_of(host, method)
                     if all(c.get(k) == v for k, v in fields.items())), None)

    try:
        return wait_until(found, timeout, f"a {method} call with {fields}", poll=0.02)
    except WaitTimeout as e:
        raise WaitTimeout(f"{e}; calls: {host.calls()}") from None


def submit(peer, request_id, client_order_id, *, side=1, order_type=2, price=6010.25,
           stop_price=0.0, quantity=2, tif=1, instrument_id=1):
    peer.send(RecordType.SUBMIT, request_id=request_id, client_order_id=client_order_id,
              price=price, stop_price=stop_price, quantity=quantity, side=side,
              order_type=order_type, time_in_force=tif, instrument_id=instrument_id)


def answer(peer, request_id) -> dict:
    return peer.wait_for(
        lambda r: r["type"] in ("CommandAck", "CommandReject") and r["request_id"] == request_id,
        what=f"answer to request {request_id}",
    )


def test_hello_and_instrument_and_no_sockets_in_set_defaults(make_host, engine):
    peer = engine()
    started = start(make_host(), peer)
    assert started["sockets_after_setdefaults"] == 0
    assert started["kill_button"] == 1
    hello = peer.wait_type("Hello")
    assert hello["platform"] == 2 and hello["simulated"] == 1 and hello["account"] == "Sim101"
    assert hello["platform_version"].startswith("NinjaTrader ")
    assert hello["heartbeat_interval_ms"] == 100
    definition = peer.wait_type("InstrumentDefinition")
    assert definition == dict(definition, instrument_id=1, tick_size=0.25, point_value=50.0,
                              symbol=ES, exchange="Globex")
    # a live account says so
    live = engine()
    start(make_host(), live, account="Rithmic01")
    assert live.wait_type("Hello")["simulated"] == 0


def test_every_event_type_arrives_intact(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    host.command("market")
    host.command("external")
    base = 1_795_530_600_000_000_000   # 2026-11-24 14:30:00 UTC (the stub's time zone is UTC)
    peer.wait_type("Account", net_liquidation=100250.5)
    trades = peer.records("Trade")
    assert [(t["price"], t["size"], t["aggressor"], t["time_ns"]) for t in trades] == [
        (6012.75, 3, 1, base + 2_000_000), (6012.5, 2, 2, base + 3_000_000)]
    quotes = peer.records("Quote")
    assert (quotes[-1]["bid_price"], quotes[-1]["bid_size"], quotes[-1]["ask_price"],
            quotes[-1]["ask_size"]) == (6012.5, 41, 6012.75, 17)
    depth = [(d["side"], d["action"], d["level"], d["price"], d["size"])
             for d in peer.records("Depth")]
    assert depth == [(1, 1, 4, 6011.5, 120), (2, 2, 2, 6013.25, 0), (1, 3, 0, 0.0, 0)]
    external = [u for u in peer.records("OrderUpdate") if u["platform_order_id"] == "555"]
    assert [u["status"] for u in external] == [4, 6]
    assert all(u["client_order_id"] == 0 and u["side"] == 2 and u["time_in_force"] == 2
               for u in external)
    assert external[-1]["filled_quantity"] == 2 and external[-1]["average_fill_price"] == 6015.25
    fill = peer.wait_type("Fill", platform_order_id="555")
    assert fill["client_order_id"] == 0 and fill["quantity"] == 2 and fill["side"] == 2
    assert fill["execution_id"].startswith("ex0001") and fill["price"] == 6015.25
    position = peer.wait_type("Position", quantity=-2)
    assert position["average_price"] == 6015.25 and position["instrument_id"] == 1
    account = peer.records("Account")[-1]
    assert (account["cash_balance"], account["realized_pnl"]) == (100000.5, 250.0)


def test_commands_reach_the_order_methods(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)

    submit(peer, 1, 0xABC, quantity=2, price=6010.25)
    ack = answer(peer, 1)
    assert ack == dict(ack, type="CommandAck", client_order_id=0xABC, command_type=0x0201)
    assert calls_of(host, "SubmitOrderUnmanaged") == [{
        "method": "SubmitOrderUnmanaged", "selectedBarsInProgress": 0, "orderAction": "Buy",
        "orderType": "Limit", "quantity": 2, "limitPrice": 6010.25, "stopPrice": 0,
        "oco": "", "signalName": "TB0000000000000ABC", "timeInForce": "Day"}]
    # NinjaTrader reported the order from inside SubmitOrderUnmanaged; matched by name
    peer.wait_type("OrderUpdate", client_order_id=0xABC, status=4)
    assert [u["status"] for u in peer.records("OrderUpdate")
            if u["client_order_id"] == 0xABC] == [2, 3, 4]

    # a retried submit places nothing: ack + the order's current state
    submit(peer, 2, 0xABC, quantity=2, price=6010.25)
    assert answer(peer, 2)["type"] == "CommandAck"
    peer.wait_type("OrderUpdate", client_order_id=0xABC, text="current state")
    assert len(calls_of(host, "SubmitOrderUnmanaged")) == 1

    peer.send(RecordType.REPLACE, request_id=3, client_order_id=0xABC, price=6009.75,
              quantity=3, instrument_id=1)
    assert answer(peer, 3)["type"] == "CommandAck"
    assert wait_call(host, "ChangeOrder") == {
        "method": "ChangeOrder", "name": "TB0000000000000ABC", "quantity": 3,
        "limitPrice": 6009.75, "stopPrice": 0}

    submit(peer, 4, 0xDEF, side=2, order_type=3, price=0.0, stop_price=6000.0, quantity=1, tif=2)
    assert answer(peer, 4)["type"] == "CommandAck"
    stop = wait_call(host, "SubmitOrderUnmanaged", signalName="TB0000000000000DEF")
    assert (stop["orderAction"], stop["orderType"], stop["limitPrice"], stop["stopPrice"],
            stop["quantity"], stop["timeInForce"]) == ("SellShort", "StopMarket", 0, 6000, 1, "Gtc")

    peer.send(RecordType.CANCEL, request_id=5, client_order_id=0xABC, instrument_id=1)
    assert answer(peer, 5)["type"] == "CommandAck"
    assert wait_call(host, "CancelOrder")["name"] == "TB0000000000000ABC"
    peer.wait_type("OrderUpdate", client_order_id=0xABC, status=9)

    rejects = {
        6: (RecordType.CANCEL, {"client_order_id": 0x999}, 1),            # unknown order
        7: (RecordType.CANCEL, {"client_order_id": 0xABC}, 2),            # already canceled
        8: (RecordType.REPLACE, {"client_order_id": 0xDEF, "quantity": 0}, 6),
    }
    for request_id, (kind, fields, reason) in rejects.items():
        peer.send(kind, request_id=request_id, **fields)
        got = answer(peer, request_id)
        assert (got["type"], got["reason"]) == ("CommandReject", reason), got
    for request_id, fields, reason in [
        (9, {"price": 6010.3}, 3),                       # off the tick grid
        (10, {"quantity": 0}, 6),                        # invalid quantity
        (11, {"tif": 4}, 9),                             # FOK: NinjaTrader has none
        (16, {"tif": 3}, 9),                             # IOC: not a strategy time in force
        (12, {"instrument_id": 42}, 11),                 # not this strategy's instrument
    ]:
        submit(peer, request_id, 0x5000 + request_id, **fields)
        got = answer(peer, request_id)
        assert (got["type"], got["reason"]) == ("CommandReject", reason), got

    peer.send(RecordType.CANCEL_ALL, request_id=13, instrument_id=1)
    assert answer(peer, 13)["type"] == "CommandAck"
    assert wait_call(host, "Account.CancelAllOrders")["instrument"] == ES
    peer.wait_type("OrderUpdate", client_order_id=0xDEF, status=9)

    submit(peer, 14, 0x111, order_type=1, price=0.0, quantity=1)
    answer(peer, 14)
    filled = host.command("fill id=273 qty=1 price=6012.75 first=execution", "filled")
    fill = peer.wait_type("Fill", client_order_id=0x111)
    assert fill["execution_id"] == filled["execution_id"] and fill["side"] == 1
    peer.wait_type("Position", quantity=1)
    peer.send(RecordType.FLATTEN, request_id=15, instrument_id=1)
    assert answer(peer, 15)["type"] == "CommandAck"
    assert wait_call(host, "Account.Flatten")["instruments"] == [ES]
    peer.wait_type("Position", quantity=0)
    assert not peer.errors


def test_fills_before_and_after_the_order_update(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0x21, quantity=3)
    answer(peer, 1)
    first = host.command("fill id=33 qty=1 price=6010.25 first=execution", "filled")
    second = host.command("fill id=33 qty=2 price=6010.25 first=order", "filled")
    for filled in (first, second):
        fill = peer.wait_type("Fill", execution_id=filled["execution_id"])
        assert fill["client_order_id"] == 0x21 and fill["platform_order_id"] == filled["order_id"]
    done = peer.wait_type("OrderUpdate", client_order_id=0x21, status=6)
    assert done["filled_quantity"] == 3


def test_snapshot(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0x31)
    answer(peer, 1)
    submit(peer, 4, 0x32, order_type=1, price=0.0, quantity=1)
    answer(peer, 4)
    host.command("fill id=50 qty=1 price=6012.75 first=order", "filled")
    peer.send(RecordType.SNAPSHOT_REQUEST, request_id=2, what=15, fills_since_ns=0)
    assert answer(peer, 2)["type"] == "CommandAck"
    end = peer.wait_type("SnapshotBoundary", request_id=2, phase=2)
    records = peer.records()
    begin_at = next(i for i, r in enumerate(records)
                    if r["type"] == "SnapshotBoundary" and r["phase"] == 1)
    end_at = records.index(end)
    between = [r for r in records[begin_at + 1:end_at] if r["type"] not in ("Heartbeat",)]
    assert end["record_count"] == len(between)
    assert {r["type"] for r in between} == {"OrderUpdate", "Position", "Account", "Fill"}
    assert any(r["type"] == "OrderUpdate" and r["client_order_id"] == 0x31 for r in between)
    assert [r["client_order_id"] for r in between if r["type"] == "Fill"] == [0x32]
    # fills before fills_since_ns are left out
    peer.send(RecordType.SNAPSHOT_REQUEST, request_id=3, what=4, fills_since_ns=2**62)
    assert peer.wait_type("SnapshotBoundary", request_id=3, phase=2)["record_count"] == 0


def test_kill_on_the_engine_link_is_refused(make_host, engine):
    peer = engine()
    start(make_host(), peer)
    peer.send(RecordType.KILL, request_id=8, flatten=1, secret=SECRET)
    got = answer(peer, 8)
    assert (got["type"], got["reason"], got["command_type"]) == ("CommandReject", 13, 0x0207)


def _kill(port: int, secret: str, flatten: int = 1, request_id: int = 700) -> dict:
    ctx = zmq.Context.instance()
    client = ctx.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(f"tcp://127.0.0.1:{port}")
    try:
        frame = encode_frame([make_record(RecordType.KILL, request_id=request_id, flatten=flatten,
                                          secret=secret)],
                             session_id=99, sequence=1, send_time_ns=time.time_ns())
        client.send(frame)
        assert client.poll(10_000), "no answer from the kill endpoint"
        reply = decode_frame(client.recv())
        return next(record_dict(kind, rec) for kind, rec in reply)
    finally:
        client.close(0)


def test_kill_endpoint_works_with_no_engine(make_host):
    host = make_host()
    port = free_port()
    start(host, None, kill_port=port, preexisting=0x77)
    host.command("external")   # a short position to flatten
    bad = _kill(port, "wrong-secret", request_id=701)
    assert (bad["type"], bad["reason"], bad["request_id"]) == ("CommandReject", 10, 701)
    assert not calls_of(host, "Account.Cancel") and not calls_of(host, "Account.Flatten")
    good = _kill(port, SECRET, request_id=702)
    assert (good["type"], good["request_id"], good["command_type"]) == ("CommandAck", 702, 0x0207)
    assert wait_call(host, "Account.Cancel")["names"] == ["TB0000000000000077"]
    assert wait_call(host, "Account.Flatten")["instruments"] == [ES]


def test_chart_kill_button(make_host):
    host = make_host()
    start(host, None)
    host.command("external")
    armed = host.command("click_kill", "clicked")   # first click: arms, names the account
    assert armed["content"] == "CONFIRM KILL Sim101", armed
    assert "Sim101" in armed["tooltip"]
    time.sleep(0.3)                                  # a kill would have been called by now
    assert not calls_of(host, "Account.Flatten")
    done = host.command("click_kill", "clicked")    # second click: kills
    assert done["content"] == "TB KILL Sim101", done
    assert wait_call(host, "Account.Flatten")["instruments"] == [ES]


def test_cancel_on_disconnect_then_resend(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0xC0D)
    answer(peer, 1)
    peer.silent = True                        # the engine hangs: no heartbeats
    silent_at = time.monotonic()
    wait_call(host, "CancelOrder", name="TB0000000000000C0D", timeout=5)
    waited = time.monotonic() - silent_at
    # 3 intervals of 100 ms since the engine's last frame (up to one interval before it
    # went quiet), plus scheduling
    assert 0.15 < waited < 3.0, waited
    assert not any(u["client_order_id"] == 0xC0D and u["status"] == 9
                   for u in peer.records("OrderUpdate"))   # not reported while the engine is down
    peer.silent = False                       # back: the shim resends what was not acknowledged
    canceled = peer.wait_type("OrderUpdate", client_order_id=0xC0D, status=9)
    assert canceled["_sequence"] > 0


def test_resend_to_a_restarted_engine(make_host, engine):
    port = free_port()
    first = engine(endpoint=f"tcp://127.0.0.1:{port}", acknowledge=False)
    host = make_host()
    start(host, first)
    submit(first, 1, 0xE1)
    answer(first, 1)
    host.command("fill id=225 qty=2 price=6010.25 first=order", "filled")
    fill = first.wait_type("Fill", client_order_id=0xE1)
    # The fill's Position too, before the engine goes: a frame still in flight would reach
    # the next engine first, and this peer acknowledges the highest sequence it saw.
    first.wait_for(lambda r: r["type"] == "Position" and r["_sequence"] >= fill["_sequence"],
                   what="the fill's Position")
    kept = {r["_sequence"] for r in first.records()
            if r["type"] in ("OrderUpdate", "Fill", "CommandAck", "Position")}
    first.close()
    second = engine(endpoint=f"tcp://127.0.0.1:{port}", session_id=0xE2E2)
    second.wait_type("Hello", timeout=10)
    second.wait_type("Fill", client_order_id=0xE1, timeout=10)
    resent = {r["_sequence"] for r in second.records()
              if r["type"] in ("OrderUpdate", "Fill", "CommandAck", "Position")}
    assert kept <= resent, (sorted(kept), sorted(resent))   # original sequence numbers
    assert host.command("stats")["engine_connected"]


def test_a_late_frame_of_a_replaced_engine_session_is_never_executed(make_host, engine):
    # After an engine restart a frame of the dead engine can still be read from its old
    # connection: run after the new engine compared this account's orders, its Submit would
    # be an order the new engine never learns of (a copier would send it again).
    peer = engine(session_id=0xA1A1)
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0xA1)
    assert answer(peer, 1)["type"] == "CommandAck"
    hellos = len(peer.records("Hello"))
    peer.session_id = 0xB2B2   # the engine restarted: its frames carry a new session...
    wait_until(lambda: len(peer.records("Hello")) > hellos, 10, "a Hello to the new session")
    hellos = len(peer.records("Hello"))
    late = [make_record(RecordType.SUBMIT, request_id=2, client_order_id=0xA2, price=6010.25,
                        quantity=1, side=1, order_type=2, time_in_force=1, instrument_id=1),
            make_record(RecordType.CANCEL, request_id=3, client_order_id=0xA1, instrument_id=1)]
    peer.send_raw(encode_frame(late, session_id=0xA1A1, sequence=1000, send_time_ns=1))
    submit(peer, 4, 0xA4)   # the new engine's, on the same connection after the late frame
    assert answer(peer, 4)["type"] == "CommandAck"
    assert not [r for r in peer.records() if r.get("request_id") in (2, 3)]
    assert [c["signalName"] for c in calls_of(host, "SubmitOrderUnmanaged")] == [
        "TB00000000000000A1", "TB00000000000000A4"]
    assert calls_of(host, "CancelOrder") == []
    ignored = [line for line in host.command("logs")["logs"] if "ignored" in line
               and "engine session" in line]
    assert ignored == ["TickBridge: frame 1000 of engine session 000000000000A1A1, replaced by "
                       "000000000000B2B2: ignored"], ignored
    stats = host.command("stats")
    assert stats["retired_session_frames"] == 1 and stats["engine_connected"]
    assert len(peer.records("Hello")) == hellos   # the dead session was not taken for a new one


def test_malformed_frames_do_not_crash_the_strategy(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    good = encode_frame([make_record(RecordType.CANCEL_ALL, request_id=5)],
                        session_id=peer.session_id, sequence=900, send_time_ns=0)
    for garbage in (b"", b"TBRG", b"\xff" * 64, good[:-3], good[:4] + b"\x02\x00" + good[6:],
                    good[:40] + b"\x99\x09" + good[42:]):
        peer.send_raw(garbage)
    submit(peer, 6, 0x66)
    assert answer(peer, 6)["type"] == "CommandAck"
    stats = host.command("stats")
    assert stats["malformed_frames"] >= 5
    logs = host.command("logs")["logs"]
    assert any("refused whole, byte 0: bad magic" in line for line in logs), logs


def test_terminated_closes_sockets_and_joins(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer, kill_port=free_port())
    assert host.command("stats")["open_sockets"] == 2
    result = host.command("terminate", "terminated")
    assert result["open_sockets"] == 0 and result["running_threads"] == 0
    assert result["kill_button"] == 0
    assert result["ms"] < 3000


def test_terminated_racing_other_callbacks(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer, kill_port=free_port())
    for i in range(20):
        submit(peer, 100 + i, 0x900 + i)
    result = host.command("race ms=300", "race")
    print(result)
    assert result["failure"] is None
    assert result["open_sockets"] == 0 and result["running_threads"] == 0
    assert result["calls"] > 0


@pytest.mark.parametrize("engine_state", ["absent", "present", "stalled"])
def test_callbacks_never_wait(make_host, engine, engine_state, record_property):
    peer = None if engine_state == "absent" else engine()
    host = make_host()
    start(host, peer)
    if engine_state == "stalled":
        peer.stalled = True                   # reads nothing: TCP and ZeroMQ buffers fill up
        host.command("flood n=200000", "flood")
    timing = host.command("timing n=50000", "timing")
    record_property("timing", timing)
    print(engine_state, timing)
    # Generous bound: proves the call does not wait on the network (a wait would be a
    # heartbeat interval or more); the figures themselves are in docs/benchmarks-ninjascript.md.
    assert timing["mean_ns"] < 5_000_000 and timing["p99_ns"] < 5_000_000


def test_orders_from_before_a_restart_are_adopted(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer, preexisting=0x77)       # a working TB order left by a previous run
    submit(peer, 1, 0x77)                     # the engine retries its submit
    assert answer(peer, 1)["type"] == "CommandAck"
    current = peer.wait_type("OrderUpdate", client_order_id=0x77, text="current state")
    assert current["platform_order_id"] == "900" and current["status"] == 4
    assert not calls_of(host, "SubmitOrderUnmanaged")
    # not this instance's order: NinjaTrader's strategy methods would refuse it; the account's do
    peer.send(RecordType.REPLACE, request_id=2, client_order_id=0x77, price=6000.25, quantity=3)
    assert answer(peer, 2)["type"] == "CommandAck"
    assert wait_call(host, "Account.Change") == {
        "method": "Account.Change", "names": ["TB0000000000000077"], "quantities": [3]}
    peer.send(RecordType.CANCEL, request_id=3, client_order_id=0x77)
    assert answer(peer, 3)["type"] == "CommandAck"
    assert wait_call(host, "Account.Cancel")["names"] == ["TB0000000000000077"]
    assert not calls_of(host, "ChangeOrder") and not calls_of(host, "CancelOrder")


def test_a_taken_kill_port_does_not_stop_the_strategy(make_host, engine):
    port = free_port()
    peer = engine()
    first = make_host()
    start(first, peer, kill_port=port)
    assert first.command("stats")["open_sockets"] == 2
    other = engine()
    second = make_host()
    start(second, other, kill_port=port)      # same kill port: bind fails, engine link works
    wait_until(lambda: "not bound" in " ".join(second.command("logs")["logs"]), 10,
               "the second kill bind's failure logged", poll=0.05)
    assert second.command("stats")["open_sockets"] == 1
    submit(other, 1, 0x44)
    assert answer(other, 1)["type"] == "CommandAck"
    assert _kill(port, SECRET, flatten=0)["type"] == "CommandAck"   # the first one answers


def test_an_overfill_is_forwarded_and_does_not_halt(make_host, engine):
    """A fill after a cancel was requested (help guide: an overfill) reaches the engine as a
    fill; with NinjaTrader's default (IgnoreOverfill false) the stub halts the strategy."""
    peer = engine()
    host = make_host()
    start(host, peer, hold_cancels=1)          # the cancel stays CancelPending: a fill can race it
    submit(peer, 1, 0xF1, quantity=2)
    answer(peer, 1)
    peer.send(RecordType.CANCEL, request_id=2, client_order_id=0xF1, instrument_id=1)
    assert answer(peer, 2)["type"] == "CommandAck"
    peer.wait_type("OrderUpdate", client_order_id=0xF1, status=7)   # pending cancel
    filled = host.command("fill id=241 qty=2 price=6010.25 first=execution", "filled")
    fill = peer.wait_type("Fill", execution_id=filled["execution_id"])
    assert fill["client_order_id"] == 0xF1 and fill["quantity"] == 2
    peer.wait_type("OrderUpdate", client_order_id=0xF1, status=6)
    stats = host.command("stats")
    assert (stats["state"], stats["halts"]) == ("Realtime", 0), stats


def test_a_skipped_trigger_custom_event_does_not_wedge_commands(make_host, engine):
    """TriggerCustomEvent may return without running the delegate (help guide); the commands
    behind it still get their answers."""
    peer = engine()
    host = make_host()
    start(host, peer)
    host.command("trigger skip=1")
    for request_id in (1, 2, 3):
        submit(peer, request_id, 0x700 + request_id)
        assert answer(peer, request_id)["type"] == "CommandAck"
    assert host.command("trigger")["skipped"] >= 1
    assert len(calls_of(host, "SubmitOrderUnmanaged")) == 3


def test_kill_works_when_trigger_custom_event_never_runs(make_host, engine):
    peer = engine()
    host = make_host()
    port = free_port()
    start(host, peer, kill_port=port, preexisting=0x77)
    host.command("external")                          # a short position to flatten
    host.command("trigger never=1")
    submit(peer, 1, 0x801)
    # never run: answered with a reject once the command deadline passes, never left hanging
    busy = answer(peer, 1)
    assert (busy["type"], busy["reason"]) == ("CommandReject", 5), busy
    assert not calls_of(host, "SubmitOrderUnmanaged")
    good = _kill(port, SECRET, request_id=703)
    assert (good["type"], good["request_id"], good["command_type"]) == ("CommandAck", 703, 0x0207)
    assert wait_call(host, "Account.Cancel")["names"] == ["TB0000000000000077"]
    assert wait_call(host, "Account.Flatten")["instruments"] == [ES]
    # and the chart button, on its two clicks
    host.command("external")                          # short again
    host.command("click_kill", "clicked")
    host.command("click_kill", "clicked")
    wait_until(lambda: len(calls_of(host, "Account.Flatten")) >= 2, 10,
               "a second Account.Flatten", poll=0.02)


def test_two_instances_on_one_account_touch_only_their_own_orders(make_host, engine):
    """Two charts (ES, NQ), one account: each instance reports only its own orders, and
    cancel-on-disconnect of one leaves the other's orders alone."""
    es, nq = engine(), engine()
    host = make_host()
    start(host, es)
    host.command(f"start2 engine={nq.endpoint} kill=none secret={SECRET} hb=100 silence=3",
                 "started2")
    nq.wait_type("Hello")
    submit(es, 1, 0xE5)
    assert answer(es, 1)["type"] == "CommandAck"
    submit(nq, 1, 0x4E, price=21000.25)
    assert answer(nq, 1)["type"] == "CommandAck"
    es.wait_type("OrderUpdate", client_order_id=0xE5, status=4)
    nq.wait_type("OrderUpdate", client_order_id=0x4E, status=4)
    host.command("fill id=78 qty=1 price=21000.25 first=order", "filled")    # 0x4E, part filled
    nq.wait_type("Fill", client_order_id=0x4E)
    es.silent = True                           # the ES session's engine link goes quiet
    wait_call(host, "CancelOrder", name="TB00000000000000E5", timeout=5)
    # Both would be cancelled in the same pass: a short grace for a wrong second call to show.
    time.sleep(0.3)
    touched = [c for c in host.calls() if c["method"] in ("CancelOrder", "Account.Cancel")]
    assert all("TB000000000000004E" not in (c.get("name"), *c.get("names", []))
               for c in touched), touched
    assert not any(u["client_order_id"] == 0x4E and u["status"] == 9
                   for u in nq.records("OrderUpdate"))
    # no order, and no fill, reported by the session that does not own it
    assert not any(r["client_order_id"] == 0x4E or r["platform_order_id"] == "1001"
                   for r in es.records("OrderUpdate") + es.records("Fill"))
    assert not any(r["client_order_id"] == 0xE5 for r in nq.records("OrderUpdate"))
    assert {r["instrument_id"] for r in nq.records("OrderUpdate")} == {1}


@pytest.mark.parametrize("failing", ["cancel", "change"])
def test_a_failed_cancel_or_change_is_a_command_reject(make_host, engine, failing):
    """NinjaTrader answers a cancel/change it cannot carry out later, with an order update
    carrying UnableToCancelOrder / UnableToChangeOrder: the engine gets a CommandReject."""
    peer = engine()
    host = make_host()
    start(host, peer, **{f"fail_{failing}": 1})
    submit(peer, 1, 0xFA)
    answer(peer, 1)
    if failing == "cancel":
        peer.send(RecordType.CANCEL, request_id=2, client_order_id=0xFA, instrument_id=1)
        kind, error = RecordType.CANCEL, "UnableToCancelOrder"
    else:
        peer.send(RecordType.REPLACE, request_id=2, client_order_id=0xFA, price=6009.75,
                  quantity=3, instrument_id=1)
        kind, error = RecordType.REPLACE, "UnableToChangeOrder"
    reject = peer.wait_type("CommandReject", request_id=2)
    assert (reject["client_order_id"], reject["command_type"], reject["reason"]) == (0xFA, kind, 9)
    assert reject["text"].startswith(error), reject
    update = peer.wait_for(lambda r: r["type"] == "OrderUpdate" and r["client_order_id"] == 0xFA
                           and r["text"].startswith(error), what="the update with the error")
    assert update["status"] == 4 and update["reason"] == 9


@pytest.mark.parametrize(("state", "status"), [("AcceptedByRisk", 3), ("Suspended", 3)])
def test_order_states_beyond_the_common_ones(make_host, engine, state, status):
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0xAB)
    answer(peer, 1)
    peer.wait_type("OrderUpdate", client_order_id=0xAB, status=4)
    seen = len(peer.records())
    host.command(f"state id=171 state={state}", "state")
    got = records_after(peer, seen, lambda r: r["type"] == "OrderUpdate", f"the {state} update")
    assert got[0]["status"] == status, got


def records_after(peer, seen: int, predicate, what: str, count: int = 1) -> list[dict]:
    """The records after the first ``seen`` that match, once there are ``count`` of them."""
    def matching() -> list[dict]:
        got = [r for r in peer.records()[seen:] if predicate(r)]
        return got if len(got) >= count else []

    try:
        return wait_until(matching, 10, what)
    except WaitTimeout as e:
        raise WaitTimeout(f"{e}; records: {peer.records()[seen:]}") from None


def test_a_position_closed_is_flat_whatever_the_remove_event_carries(make_host, engine):
    """Help guide: a position is flat when Operation.Remove is seen; the stub's Remove carries
    the closed position's values."""
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0x91, order_type=1, price=0.0, quantity=1)
    answer(peer, 1)
    host.command("fill id=145 qty=1 price=6012.75 first=order", "filled")
    peer.wait_type("Position", quantity=1)
    submit(peer, 2, 0x92, side=2, order_type=1, price=0.0, quantity=1)
    answer(peer, 2)
    seen = len(peer.records())
    host.command("fill id=146 qty=1 price=6013.00 first=order", "filled")
    # the strategy's own position event and the account's Remove: two Position records
    after = records_after(peer, seen, lambda r: r["type"] == "Position", "both Position records",
                          count=2)
    assert all(p["quantity"] == 0 for p in after), after


def test_the_kill_secret_is_not_in_the_label_nor_saved(make_host, tmp_path):
    """A [NinjaScriptProperty] is shown in the strategy's label; a property without
    [XmlIgnore] is saved in the workspace. The secret is neither; a file can hold it."""
    host = make_host()
    secret_file = tmp_path / "kill.secret"
    secret_file.write_text("from-the-file-0123\n")
    port = free_port()
    start(host, None, kill_port=port, secret="", secret_file=secret_file)
    attributes = host.command("properties")["properties"]
    assert "NinjaScriptPropertyAttribute" not in attributes["KillSecret"]
    assert {"XmlIgnoreAttribute", "PasswordPropertyTextAttribute"} <= set(attributes["KillSecret"])
    assert "NinjaScriptPropertyAttribute" not in attributes["KillSecretFile"]
    assert _kill(port, SECRET, flatten=0, request_id=704)["reason"] == 10
    good = _kill(port, "from-the-file-0123", flatten=0, request_id=705)
    assert (good["type"], good["request_id"]) == ("CommandAck", 705)


@pytest.mark.parametrize("category", ["Backtest", "Optimize", "WalkForward", "MultiObjective"])
def test_the_strategy_analyzer_starts_no_bridge(make_host, category):
    host = make_host()
    started = start(host, None, kill_port=free_port(), category=category)
    assert started["sockets"] == 0 and started["session_id"] == "0"
    assert "Strategy Analyzer" in " ".join(host.command("logs")["logs"])


def test_no_order_action_while_the_order_connection_is_down(make_host, engine):
    """Help guide: with the default ConnectionLossHandling an order action during an order
    connection loss stops the strategy (the stub does so); the strategy keeps running and
    refuses the engine's commands with NotConnected until the connection is back."""
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0xC1)
    assert answer(peer, 1)["type"] == "CommandAck"
    host.command("connection status=ConnectionLost price=Connected")
    submit(peer, 2, 0xC2)
    peer.send(RecordType.CANCEL, request_id=3, client_order_id=0xC1, instrument_id=1)
    for request_id in (2, 3):
        got = answer(peer, request_id)
        assert (got["type"], got["reason"]) == ("CommandReject", 8), got
    assert len(calls_of(host, "SubmitOrderUnmanaged")) == 1 and not calls_of(host, "CancelOrder")
    stats = host.command("stats")
    assert (stats["state"], stats["halts"]) == ("Realtime", 0), stats
    host.command("connection status=Connected")
    submit(peer, 4, 0xC4)
    assert answer(peer, 4)["type"] == "CommandAck"
    assert "order connection ConnectionLost" in " ".join(host.command("logs")["logs"])


def test_no_libzmq_is_a_clear_error_and_the_strategy_stops(make_host, tmp_path):
    host = make_host()
    folder = tmp_path / "no-zmq-here"
    started = start(host, None, kill_port=free_port(), zmq_folder=folder)
    assert started["sockets"] == 0 and started["state"] == "Terminated", started
    logs = " ".join(host.command("logs")["logs"])
    # in the Log tab with a pop-up (LogLevel.Alert), and on the chart (Draw.TextFixed)
    said = "Log(Alert): TickBridge: not started, the strategy stops: libzmq.so.5 not found at "
    assert f"{said}{folder}" in logs, logs
    shown = host.command("chart")["texts"]["TickBridgeStatus"]
    assert shown.startswith("TickBridge: not started, the strategy stops: libzmq.so.5 not found")


def test_cancel_on_disconnect_when_trigger_custom_event_never_runs(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    submit(peer, 1, 0xCD1)
    answer(peer, 1)
    host.command("trigger never=1")
    peer.silent = True
    assert wait_call(host, "Account.Cancel", timeout=5)["names"] == ["TB0000000000000CD1"]


PLATFORM_MADE = 1 << 63


def _ids_by_platform_order(peer, type_name: str) -> dict[str, set[int]]:
    ids: dict[str, set[int]] = {}
    for r in peer.records(type_name):
        ids.setdefault(r["platform_order_id"], set()).add(r["client_order_id"])
    return ids


def test_a_flattens_closing_order_has_a_platform_made_id_and_a_hand_order_0(make_host, engine):
    """NinjaTrader closes the position of an Account.Flatten with an order of its own (no
    engine name): reported with a platform-made id (top bit), order and fill alike, so the
    engine books it as the flatten's; orders placed by hand, before or after, stay 0."""
    peer = engine()
    host = make_host()
    port = free_port()
    start(host, peer, kill_port=port)
    submit(peer, 1, 0x111, order_type=1, price=0.0, quantity=2)
    answer(peer, 1)
    host.command("fill id=273 qty=2 price=6012.75 first=execution", "filled")
    peer.wait_type("Position", quantity=2)
    before = host.command("hand action=Sell type=Limit qty=1 price=6020", "hand")["order_id"]

    peer.send(RecordType.FLATTEN, request_id=2, instrument_id=1)
    assert answer(peer, 2)["type"] == "CommandAck"
    peer.wait_type("Position", quantity=0)
    after = host.command("hand action=SellShort type=Market qty=1 fill=6010.5", "hand")["order_id"]
    peer.wait_for(lambda r: r["type"] == "Fill" and r["platform_order_id"] == after)

    updates = _ids_by_platform_order(peer, "OrderUpdate")
    fills = _ids_by_platform_order(peer, "Fill")
    closing = [k for k, ids in updates.items() if any(i & PLATFORM_MADE for i in ids)]
    assert len(closing) == 1, updates
    (made,) = updates[closing[0]]
    assert not made & (1 << 62) and fills[closing[0]] == {made}
    assert updates[before] == {0} and updates[after] == {0} and fills[after] == {0}

    # A kill with flatten (the kill endpoint): the short 1 placed by hand is closed by a
    # new closing order, with a new platform-made id.
    assert _kill(port, SECRET, request_id=702)["type"] == "CommandAck"
    second = peer.wait_for(lambda r: r["type"] == "Fill" and r["client_order_id"] & PLATFORM_MADE
                           and r["client_order_id"] != made)
    assert second["side"] == 1 and second["quantity"] == 1
    assert not peer.errors


def test_an_order_on_the_account_before_the_flatten_is_not_its_closing_order(make_host, engine):
    """The closing order left working: an order placed by hand before the flatten with all
    its properties (canceled by the flatten), and one placed after the position is closed,
    stay 0; the closing order's fill, reported before its update, has its id."""
    peer = engine()
    host = make_host()
    start(host, peer)
    host.command("flatten_fills on=0", "flatten_fills")
    host.command("hand action=SellShort type=Market qty=2 fill=6010", "hand")   # short 2, by hand
    peer.wait_type("Position", quantity=-2)
    before = host.command("hand action=BuyToCover type=Market qty=2", "hand")["order_id"]
    peer.send(RecordType.FLATTEN, request_id=2, instrument_id=1)
    assert answer(peer, 2)["type"] == "CommandAck"
    after = host.command("hand action=BuyToCover type=Market qty=1", "hand")["order_id"]
    peer.wait_for(lambda r: r["type"] == "OrderUpdate" and r["platform_order_id"] == after)
    updates = _ids_by_platform_order(peer, "OrderUpdate")
    closing = [k for k, ids in updates.items() if any(i & PLATFORM_MADE for i in ids)]
    assert len(closing) == 1 and closing[0] not in (before, after), updates
    assert updates[before] == {0} and updates[after] == {0}
    host.command(f"fill order={closing[0]} qty=2 price=6011.25 first=execution", "filled")
    fill = peer.wait_for(lambda r: r["type"] == "Fill" and r["platform_order_id"] == closing[0])
    assert fill["client_order_id"] == next(iter(updates[closing[0]]))
    peer.wait_type("Position", quantity=0)
