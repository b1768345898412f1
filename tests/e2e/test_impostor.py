"""Issue 17, item 3: any local process could be the shim. `tickbridge run` and
`tickbridge sim` as separate processes; the impostor is another peer on the engine's
shim socket (a real DEALER in the test process) that says hello for the simulator's
account, defines ESZ6, books fills at 5000.0, answers snapshots empty, and leaves.

Without CURVE it is refused (the account is spoken for) and changes nothing; with CURVE a
key not on the allow-list gets no answer at all, a key bound to another account is
refused at hello, and the simulator with its own key trades end to end."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from tests.fake_shim import ScriptedShim
from tests.waiting import wait_until
from tickbridge.protocol import (
    RecordType,
    SnapshotPhase,
    decode_frame,
    make_record,
)

from .stack import Stack

TICK = 0.25
FAKE_PRICE = 5000.0


class Impostor(ScriptedShim):
    """The fake shim on a thread of its own: says hello for Sim101 with ESZ6 as instrument
    1, then beats every 100 ms; fills every Submit it gets at 5000.0, answers a snapshot
    request with an empty snapshot, and on `fake()` sends fills at 5000.0 and a cancel for
    orders it names."""

    def __init__(self, endpoint: str, *, account: str = "Sim101",
                 curve: tuple[bytes, bytes, bytes] | None = None) -> None:
        super().__init__(endpoint, session_id=0x1badc0de, account=account,
                         curve=None if curve is None else (curve[0], (curve[1], curve[2])))
        self.frames_in = 0  # frames the engine sent it, of any kind
        self.submits: list[int] = []
        self.snapshots = 0
        self._fakes: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def fake(self, filled: int, working: int) -> None:
        with self._lock:
            self._fakes += [
                _fill(filled, "FAKE-1", 1, FAKE_PRICE), _fill(working, "FAKE-2", 1, FAKE_PRICE),
                make_record(RecordType.ORDER_UPDATE, instrument_id=1, client_order_id=working,
                            status=6, quantity=1, price=FAKE_PRICE, side=1, order_type=2,
                            platform_order_id="FAKE")]  # 6: CANCELED

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        super().close()

    def _send(self, records: list[Any]) -> None:
        self.send(records, nonblocking=True)

    def _run(self) -> None:
        self._send(self.hello_records(("ESZ6",), version="impostor"))
        next_beat = 0.0
        while not self._stop.is_set():
            if self.socket.poll(20):
                self._on_frame(decode_frame(self.socket.recv()))
            with self._lock:
                fakes, self._fakes = self._fakes, []
            if fakes:
                self._send(fakes)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + 0.1
                self._send([make_record(RecordType.HEARTBEAT, time_ns=time.time_ns())])

    def _on_frame(self, frame: Any) -> None:
        self.frames_in += 1
        for rtype, rec in frame:
            if rtype == RecordType.SUBMIT:
                coid = int(rec["client_order_id"])
                self.submits.append(coid)
                self._send([make_record(RecordType.COMMAND_ACK,
                                        request_id=int(rec["request_id"]),
                                        client_order_id=coid,
                                        command_type=int(RecordType.SUBMIT)),
                            _fill(coid, f"FAKE-{coid}", int(rec["quantity"]), FAKE_PRICE)])
            elif rtype == RecordType.SNAPSHOT_REQUEST:
                self.snapshots += 1
                request_id = int(rec["request_id"])
                self._send([make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                                        phase=int(SnapshotPhase.BEGIN)),
                            make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                                        phase=int(SnapshotPhase.END))])


def _fill(coid: int, execution_id: str, quantity: int, price: float) -> Any:
    return make_record(RecordType.FILL, instrument_id=1, client_order_id=coid, price=price,
                       quantity=quantity, side=1, execution_id=execution_id,
                       time_ns=time.time_ns())


def _audit(store: Path) -> list[tuple[str, dict]]:
    with sqlite3.connect(str(store)) as db:
        return [(k, json.loads(p)) for k, p in
                db.execute("SELECT kind, payload FROM audit_log ORDER BY id")]


def _real_orders(stack: Stack) -> tuple[int, int]:
    """A market buy filled (1 of 1) and a limit buy working, at the engine and the
    simulator."""
    filled = stack.submit(side="BUY", quantity=1, order_type="MARKET")
    stack.wait_order(filled, lambda o: o["status"] == "FILLED", 30, "the market buy filled")
    last = float(stack.market()["last_price"])
    working = stack.submit(side="BUY", quantity=1, order_type="LIMIT", price=last - 100 * TICK)
    stack.wait_order(working, lambda o: o["status"] == "WORKING", 30, "the limit working")
    wait_until(lambda: len(stack.sim_working()) == 1, 30, "the simulator to hold the order")
    return filled, working


def _refused(stack: Stack) -> list[dict]:
    return [s for s in stack.status()["shims"] if s["refused"]]


def test_an_impostor_without_curve_is_refused_and_changes_nothing(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim(speed=2)
    stack.wait_trading()
    filled, working = _real_orders(stack)
    impostor = Impostor(stack.shim)
    try:
        wait_until(lambda: len([s for s in stack.status()["shims"] if s["account"]]) == 2, 30,
                 "the impostor's hello seen")
        impostor.fake(filled, working)
        frames = stack.status()["frames"]
        wait_until(lambda: impostor.sequence > 5 and stack.status()["frames"] > frames + 5, 30,
                 "the impostor's fakes sent and read")
        # Routing stays with the simulator: a market order fills there, not at 5000.
        coid = stack.submit(side="BUY", quantity=1, order_type="MARKET")
        order = stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "it filled")
        assert order["fills"][0]["price"] != FAKE_PRICE
        assert impostor.submits == [] and impostor.snapshots == 0
        # No fake fill booked, the filled order is still 1 of 1, the working one works.
        first = stack.order(filled)
        assert (first["qty"], first["filled"], len(first["fills"])) == (1, 1, 1)
        assert all(f["price"] != FAKE_PRICE for f in first["fills"])
        rest = stack.order(working)
        assert (rest["status"], rest["filled"]) == ("WORKING", 0)
        (refused,) = _refused(stack)
        assert "already spoken for" in refused["refused"] and refused["instruments"] == []
    finally:
        impostor.close()
    # It left: no halt, nothing canceled, ESZ6 still trades through the simulator.
    wait_until(lambda: all(s["lost"] for s in stack.status()["shims"] if s["refused"]), 30,
             "the impostor's silence noticed")
    status = stack.status()
    assert status["accounts"]["Sim101"] == "ACTIVE" and status["trading_state"] == "ACTIVE"
    assert stack.order(working)["status"] == "WORKING"
    assert len(stack.sim_working()) == 1
    coid = stack.submit(side="BUY", quantity=1, order_type="MARKET")
    stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "a fill after it left")
    kinds = [k for k, _ in _audit(stack.store)]
    assert kinds.count("hello_refused") == 1
    assert "shim_lost" not in kinds and "kill" not in kinds
    assert stack.stop_sim() == 0
    assert stack.sim_positions()["ESZ6"] == 3 == stack.status()["positions"]["ESZ6"]  # 3 buys


# -- with CURVE ----------------------------------------------------------------------------

def _curve_stack(stack: Stack) -> dict[str, tuple[bytes, bytes]]:
    """Keys made with `tickbridge keys create`; the config binds sim to Sim101 and other
    to Other101; stranger's key is not on the allow-list."""
    import subprocess
    import sys

    keys = stack.folder / "keys"
    authorized = stack.folder / "authorized"
    authorized.mkdir()
    for name in ("engine", "sim", "other", "stranger"):
        subprocess.run([sys.executable, "-m", "tickbridge", "keys", "create", name, "--dir",
                        str(keys)], check=True, capture_output=True, timeout=60)
        if name in ("sim", "other"):
            (authorized / f"{name}.key").write_bytes((keys / f"{name}.key").read_bytes())
    text = stack.config.read_text()
    text = text.replace("[[shims]]", f'''curve_secret_key_file = "{keys / 'engine.key_secret'}"
curve_public_key_file = "{keys / 'engine.key'}"
curve_authorized_keys_dir = "{authorized}"

[[shims]]''', 1)
    text = text.replace('shim = "simulator"\n', '''shim = "simulator"
curve_public_keys = ["sim"]

[[accounts]]
name = "Other101"
mode = "paper"
curve_public_keys = ["other"]
''', 1)
    stack.config.write_text(text)
    return {name: zmq.auth.load_certificate(keys / f"{name}.key_secret")
            for name in ("engine", "sim", "other", "stranger")}


def test_with_curve_only_a_bound_key_speaks_for_the_account(stack: Stack) -> None:
    pairs = _curve_stack(stack)
    keys = stack.folder / "keys"
    stack.start_engine()
    server = pairs["engine"][0]
    stranger = Impostor(stack.shim, curve=(server, *pairs["stranger"]))
    other = Impostor(stack.shim, curve=(server, *pairs["other"]))
    try:
        wait_until(lambda: _refused(stack), 30, "the other account's key refused at hello")
        (refused,) = _refused(stack)
        assert "not one of its curve_public_keys" in refused["refused"]
        # The simulator with its own key trades end to end.
        stack.start_sim("--curve-server-key", str(keys / "engine.key"), "--curve-key",
                        str(keys / "sim.key_secret"), speed=2)
        stack.wait_trading()
        filled, working = _real_orders(stack)
        other.fake(filled, working)
        stranger.fake(filled, working)
        wait_until(lambda: other.sequence > 5 and stranger.sequence > 5, 30, "fakes sent")
        coid = stack.submit(side="BUY", quantity=1, order_type="MARKET")
        order = stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "it filled")
        assert order["fills"][0]["price"] != FAKE_PRICE
        first = stack.order(filled)
        assert (first["filled"], len(first["fills"])) == (1, 1)
        assert stack.order(working)["status"] == "WORKING"
        # The stranger never got a single frame: its key never completed the handshake.
        assert stranger.frames_in == 0
        shims = stack.status()["shims"]
        assert len(shims) == 2  # the simulator and the refused key; no stranger
        hellos = [p for k, p in _audit(stack.store) if k in ("hello", "hello_refused")]
        assert [(p["account"], p.get("code")) for p in hellos] == [
            ("Sim101", "KEY_NOT_BOUND"), ("Sim101", None)]
        assert hellos[0]["key"] == pairs["other"][0].decode()
    finally:
        stranger.close()
        other.close()
    assert stack.stop_sim() == 0
