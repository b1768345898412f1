"""The NinjaTrader strategy and the platform's own state: PlatformStatus after the Hello and
on every OnConnectionStatusUpdate, the engine's TradingState shown on the chart (never
acted on), the start behaviours (help guide: Syncing Account Positions), Buy vs SellShort
from the account's position, bounded order maps, and the frames left at Terminated. Over
real sockets with the engine peer of peer.py; NinjaTrader is the stub and the test host."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from tickbridge.protocol import RecordType, decode_frame

from .test_bridge import answer, calls_of, start, submit, wait_call


def wait_chart(host, text: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = host.command("chart")["texts"].get("TickBridgeStatus", "")
        if text in shown:
            return shown
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not on the chart; it shows {shown!r}")


def test_platform_status_follows_the_hello_and_every_connection_change(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    hello = peer.wait_type("Hello")
    status = peer.wait_type("PlatformStatus", orders=1, prices=1)
    assert status["_sequence"] == hello["_sequence"]  # in the Hello's own frame
    host.command("connection status=ConnectionLost price=Connected")
    peer.wait_type("PlatformStatus", orders=3, prices=1)
    host.command("connection status=Connected price=Disconnected")
    peer.wait_type("PlatformStatus", orders=1, prices=4)
    assert "order connection: Connected" in wait_chart(host, "order connection: Connected")


def test_the_engines_trading_state_is_shown_and_not_acted_on(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer)
    peer.send(RecordType.TRADING_STATE, state=2, reason="HALTED by kill")
    wait_chart(host, "engine trading state: HALTED (HALTED by kill)")
    assert "engine trading state for Sim101: HALTED (HALTED by kill)" in \
        " ".join(host.command("logs")["logs"])
    # Shown only: the engine enforces it, so a command it still sends is carried out.
    submit(peer, 1, 0x51)
    assert answer(peer, 1)["type"] == "CommandAck"
    peer.send(RecordType.TRADING_STATE, state=0, reason="")
    wait_chart(host, "engine trading state: ACTIVE |")


def test_orders_the_strategy_made_earlier_are_cancelled_at_start_and_reported(make_host,
                                                                             engine):
    peer = engine()
    host = make_host()
    start(host, peer, preexisting=0x78, preexisting_by="TickBridge")
    assert wait_call(host, "NinjaTrader.CancelAtStart")["name"] == "TB0000000000000078"
    update = peer.wait_type("OrderUpdate", client_order_id=0x78, status=9)
    assert update["platform_order_id"] == "900"


def test_a_start_behaviour_that_trades_the_account_is_refused(make_host, engine):
    peer = engine()
    host = make_host()
    started = host.command(
        f"start engine={peer.endpoint} kill=none secret=x hb=100 account_position=2 "
        "start_behavior=WaitUntilFlatSynchronizeAccount", "started")
    assert started["state"] == "Terminated" and started["sockets"] == 0, started
    assert not calls_of(host, "NinjaTrader.ReconcileAtStart")  # the account kept its position
    logs = " ".join(host.command("logs")["logs"])
    assert "Log(Alert): TickBridge: not started, the strategy stops: start behaviour " \
           "WaitUntilFlatSynchronizeAccount" in logs


def test_sell_or_sell_short_from_the_accounts_position(make_host, engine):
    peer = engine()
    host = make_host()
    # The account is long 2 (not the strategy's doing: its own position is flat).
    start(host, peer, account_position=2)
    submit(peer, 1, 0x61, side=2, quantity=1)
    assert answer(peer, 1)["type"] == "CommandAck"
    assert wait_call(host, "SubmitOrderUnmanaged")["orderAction"] == "Sell"
    host2 = make_host()
    peer2 = engine()
    start(host2, peer2, account_position=-1)
    submit(peer2, 1, 0x62, side=1, quantity=1)
    assert answer(peer2, 1)["type"] == "CommandAck"
    assert wait_call(host2, "SubmitOrderUnmanaged")["orderAction"] == "BuyToCover"


def test_finished_orders_leave_the_live_maps_and_are_bounded(make_host, engine):
    peer = engine()
    host = make_host()
    start(host, peer, max_finished=2)
    for request_id, coid in ((1, 0x71), (2, 0x72), (3, 0x73)):
        submit(peer, request_id, coid)
        answer(peer, request_id)
    assert host.command("stats")["live_orders"] == 6  # 3 known by id, 3 submitted here
    for request_id, coid in ((4, 0x71), (5, 0x72), (6, 0x73)):
        peer.send(RecordType.CANCEL, request_id=request_id, client_order_id=coid)
        assert answer(peer, request_id)["type"] == "CommandAck"
        peer.wait_type("OrderUpdate", client_order_id=coid, status=9)
    stats = host.command("stats")
    assert (stats["live_orders"], stats["finished_orders"]) == (0, 2), stats
    # A retried submit of a finished (remembered) order places nothing.
    submit(peer, 7, 0x73)
    assert answer(peer, 7)["type"] == "CommandAck"
    peer.wait_type("OrderUpdate", client_order_id=0x73, text="current state", status=9)
    assert len(calls_of(host, "SubmitOrderUnmanaged")) == 3


def test_frames_not_acknowledged_at_terminated_are_written_not_lost(make_host, engine,
                                                                   tmp_path):
    peer = engine(acknowledge=False)
    host = make_host()
    start(host, peer, data_dir=tmp_path)
    submit(peer, 1, 0x81)
    answer(peer, 1)
    done = host.command("terminate", "terminated")
    assert done["open_sockets"] == 0 and done["unsent_file"], done
    data = Path(done["unsent_file"]).read_bytes()
    frames, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        frames.append(decode_frame(data[offset + 4:offset + 4 + length]))
        offset += 4 + length
    kinds = {kind for frame in frames for kind, _ in frame}
    assert RecordType.COMMAND_ACK in kinds and RecordType.ORDER_UPDATE in kinds, kinds
    assert done["unsent_file"].startswith(str(tmp_path / "tickbridge" / "unsent"))
    assert "frames the engine did not acknowledge were written to" in \
        " ".join(host.command("logs")["logs"])


def test_frames_are_acknowledged_before_terminated_when_the_engine_is_up(make_host, engine,
                                                                         tmp_path):
    peer = engine()
    host = make_host()
    start(host, peer, data_dir=tmp_path)
    submit(peer, 1, 0x82)
    answer(peer, 1)
    done = host.command("terminate", "terminated")
    assert done["unsent_file"] == "", done
