"""Shim authentication over real sockets (issue 17, item 3): with CURVE, a key not in
curve_authorized_keys_dir never gets an answer, a key bound to another account is
refused at hello, the right key trades; without CURVE, a second peer's hello for an
account already spoken for is refused and what it sends changes nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth

from tests.fake_shim import ScriptedShim, of, pump
from tests.waiting import wait_until
from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine import Engine, EngineSettings
from tickbridge.orders import OrderStatus as S
from tickbridge.protocol import OrderStatus, RecordType, SnapshotPhase, make_record
from tickbridge.risk.reasons import TradingState

from .conftest import Recorder


def curve_shim(endpoint: str, server: bytes | None, pair: tuple[bytes, bytes] | None,
               routing_id: bytes | None = None, **kwargs: Any) -> ScriptedShim:
    """The fake shim as a CURVE client of `server` with `pair` (none: a plain client);
    `routing_id`: the one it claims (ZMQ_ROUTING_ID), as any client may."""
    curve = (server, pair) if server is not None and pair is not None else None
    return ScriptedShim(endpoint, curve=curve, routing_id=routing_id, **kwargs)


def _keys(folder: Path) -> dict[str, tuple[bytes, bytes]]:
    """engine, sim (bound to Sim101), other (bound to Other101) in the allow-list; stranger
    not."""
    allowed = folder / "authorized"
    allowed.mkdir()
    pairs = {}
    for name in ("engine", "sim", "other", "stranger"):
        public_file, secret_file = zmq.auth.create_certificates(folder, name)
        pairs[name] = zmq.auth.load_certificate(secret_file)
        if name in ("sim", "other"):
            (allowed / f"{name}.key").write_bytes(Path(public_file).read_bytes())
    return pairs


def _config(folder: Path, *, curve: bool) -> TickbridgeConfig:
    engine: dict[str, Any] = {}
    if curve:
        engine = {"curve_secret_key_file": str(folder / "engine.key_secret"),
                  "curve_public_key_file": str(folder / "engine.key"),
                  "curve_authorized_keys_dir": str(folder / "authorized")}
    accounts = [{"name": "Sim101", "mode": "paper"}, {"name": "Other101", "mode": "paper"}]
    if curve:
        accounts[0]["curve_public_keys"] = ["sim"]
        accounts[1]["curve_public_keys"] = ["other"]
    return TickbridgeConfig.model_validate({"engine": engine, "accounts": accounts,
                                            "instruments": [{"symbol": "ES"}]})


def _engine(folder: Path, audit_log: list, *, curve: bool, compiled: bool = True,
            strategy: Recorder | None = None) -> Engine:
    config = _config(folder, curve=curve)
    keys = {"curve_secret_key_file": config.engine.curve_secret_key_file,
            "curve_authorized_keys_dir": config.engine.curve_authorized_keys_dir} if curve else {}
    settings = EngineSettings(
        endpoint="tcp://127.0.0.1:*", heartbeat_ms=100, command_timeout_ms=2000,
        compiled_receive=compiled, snapshot_interval_s=0, **keys)
    engine = Engine(settings, [strategy] if strategy else [], config=config,
                    audit=lambda kind, **p: audit_log.append((kind, p)))
    engine.start()
    return engine


def _run(engine: Engine, seconds: float, until: Any = None,
         beating: tuple[ScriptedShim, ...] = ()) -> None:
    """Runs the engine; the `beating` shims send a heartbeat every 100 ms meanwhile (a
    silent shim is lost after 3 of its 200 ms intervals)."""
    deadline = time.monotonic() + seconds
    next_beat = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + 0.1
            for shim in beating:
                shim.send([make_record(RecordType.HEARTBEAT, time_ns=time.time_ns())])
        engine.poll(timeout_ms=10)
        if until is not None and until():
            return


def _kinds(audit_log: list, kind: str) -> list[dict]:
    return [p for k, p in audit_log if k == kind]


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[bytes, bytes]]:
    return _keys(tmp_path)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_curve_unknown_key_gets_no_answer_and_no_hello(tmp_path, keys, compiled):
    audit_log: list = []
    engine = _engine(tmp_path, audit_log, curve=True, compiled=compiled)
    stranger = curve_shim(engine.endpoint, keys["engine"][0], keys["stranger"])
    plain = ScriptedShim(engine.endpoint, session_id=7)  # no CURVE at all
    try:
        stranger.hello()
        plain.hello()
        _run(engine, 1.5)
        # Nothing came back (not even a heartbeat), no hello was seen, no peer exists.
        assert stranger.collect(0.2) == [] and stranger.engine_sequences == []
        assert plain.collect(0.2) == [] and plain.engine_sequences == []
        assert engine.sessions == {}
        assert not _kinds(audit_log, "hello") and not _kinds(audit_log, "hello_refused")
    finally:
        stranger.close()
        plain.close()
        engine.close()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_curve_key_of_another_account_is_refused_at_hello(tmp_path, keys, compiled):
    audit_log: list = []
    engine = _engine(tmp_path, audit_log, curve=True, compiled=compiled)
    other = curve_shim(engine.endpoint, keys["engine"][0], keys["other"], account="Sim101")
    try:
        other.hello()
        _run(engine, 3, until=lambda: _kinds(audit_log, "hello_refused"))
        (refused,) = _kinds(audit_log, "hello_refused")
        assert refused["code"] == "KEY_NOT_BOUND" and refused["account"] == "Sim101"
        assert refused["key"] == keys["other"][0].decode()
        assert not _kinds(audit_log, "hello")
        assert engine.router.symbols() == []  # its definition routed nothing
        (session,) = engine.sessions.values()
        assert session.curve_key == keys["other"][0].decode() and not session.accepted
    finally:
        other.close()
        engine.close()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_curve_bound_key_trades(tmp_path, keys, compiled):
    audit_log: list = []
    strategy = Recorder()
    engine = _engine(tmp_path, audit_log, curve=True, compiled=compiled, strategy=strategy)
    shim = curve_shim(engine.endpoint, keys["engine"][0], keys["sim"])
    try:
        shim.hello()
        pump(engine, shim, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        assert [p["account"] for p in _kinds(audit_log, "hello")] == ["Sim101"]
        shim.trades([6000.0, 6000.25])
        pump(engine, shim, timeout=0.3)
        coid = strategy.ctx.buy("ESZ6", 1, 6000.25)
        assert coid, strategy.ctx.last_refusal
        got = pump(engine, shim, until=lambda r: of(r, RecordType.SUBMIT))
        assert int(of(got, RecordType.SUBMIT)[0]["client_order_id"]) == coid
    finally:
        shim.close()
        engine.close()


# -- without CURVE: one peer per account ---------------------------------------------------

def _fill(coid: int, exec_id: str, qty: int, price: float) -> Any:
    return make_record(RecordType.FILL, instrument_id=1, client_order_id=coid, price=price,
                       quantity=qty, side=1, execution_id=exec_id, time_ns=1)


def _update(coid: int, status: OrderStatus, qty: int = 1) -> Any:
    return make_record(RecordType.ORDER_UPDATE, instrument_id=1, client_order_id=coid,
                       status=int(status), quantity=qty, filled_quantity=0, price=6000.25,
                       side=1, order_type=2, platform_order_id="P1")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_a_second_hello_for_a_held_account_changes_nothing(tmp_path, compiled):
    audit_log: list = []
    strategy = Recorder()
    engine = _engine(tmp_path, audit_log, curve=False, compiled=compiled, strategy=strategy)
    real = ScriptedShim(engine.endpoint, session_id=1)
    impostor = ScriptedShim(engine.endpoint, session_id=2)
    try:
        real.hello()
        pump(engine, real, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        real.trades([6000.0, 6000.25])
        pump(engine, real, timeout=0.3)
        working = strategy.ctx.buy("ESZ6", 1, 5990.0)  # rests at the platform
        filled = strategy.ctx.buy("ESZ6", 1, 6000.25)
        got = pump(engine, real, until=lambda r: len(of(r, RecordType.SUBMIT)) >= 2)
        submits = {int(s["client_order_id"]): s for s in of(got, RecordType.SUBMIT)}
        for coid in (working, filled):
            real.send([make_record(RecordType.COMMAND_ACK,
                                   request_id=int(submits[coid]["request_id"]),
                                   client_order_id=coid, command_type=int(RecordType.SUBMIT)),
                       _update(coid, OrderStatus.WORKING)])
        real.send([_fill(filled, "REAL-1", 1, 6000.25)])
        pump(engine, real, until=lambda _: strategy.of("fill"))
        assert engine.router.book.order(filled).status == S.FILLED

        # The impostor: hello for Sim101 with ESZ6, fills at 5000, an empty snapshot.
        impostor.hello()

        def impostor_frames() -> int:
            return sum(s.frames for s in engine.sessions.values() if s.peer_session_id == 2)

        _run(engine, 5, until=lambda: impostor_frames() >= 1, beating=(real,))
        request_id = (1 << 62) | 99
        impostor.send([_fill(filled, "FAKE-1", 1, 5000.0), _fill(working, "FAKE-2", 1, 5000.0),
                       _update(working, OrderStatus.CANCELED),
                       make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                                   phase=int(SnapshotPhase.BEGIN)),
                       make_record(RecordType.SNAPSHOT_BOUNDARY, request_id=request_id,
                                   phase=int(SnapshotPhase.END))])
        _run(engine, 5, until=lambda: impostor_frames() >= 2, beating=(real,))
        # Routing stays with the real shim: a new order goes to it, not to the impostor.
        session, _ = engine.router.route("ESZ6")
        assert session.peer_session_id == 1  # the real shim's
        third = strategy.ctx.buy("ESZ6", 1, 5990.0)
        got = pump(engine, real, until=lambda r: of(r, RecordType.SUBMIT))
        assert [int(s["client_order_id"]) for s in of(got, RecordType.SUBMIT)] == [third]
        assert of(impostor.collect(0.3), RecordType.SUBMIT) == []
        # No fake fill booked, no order canceled, the filled one still 1 of 1.
        book = engine.router.book
        assert (book.order(filled).filled_qty, book.order(filled).qty) == (1, 1)
        assert book.order(working).status == S.WORKING and book.order(working).filled_qty == 0
        assert [f.execution_id for f in strategy.of("fill")] == ["REAL-1"]
        assert strategy.ctx.position("ESZ6") == 1
        (refused,) = _kinds(audit_log, "hello_refused")
        assert refused["code"] == "ACCOUNT_HELD"
        # It leaves: no halt, no kill, the account still trades through the real shim.
        impostor.close()
        _run(engine, 1.5, beating=(real,))
        assert engine.trading_state("Sim101") == TradingState.ACTIVE
        assert not _kinds(audit_log, "shim_lost") and not _kinds(audit_log, "kill")
        assert strategy.ctx.buy("ESZ6", 1, 5990.0)
    finally:
        real.close()
        impostor.close()
        engine.close()


def test_a_reconnect_with_the_same_peer_session_takes_the_account_back(tmp_path):
    """A shim whose connection dropped comes back on a new connection (new routing id)
    with its own peer session: that is the same shim, not a takeover."""
    audit_log: list = []
    engine = _engine(tmp_path, audit_log, curve=False)
    first = ScriptedShim(engine.endpoint, session_id=5)
    again = ScriptedShim(engine.endpoint, session_id=5)
    try:
        first.hello()
        pump(engine, first, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        again.sequence = first.sequence
        again.hello()
        pump(engine, again, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        assert not _kinds(audit_log, "hello_refused")
        assert len(_kinds(audit_log, "shim_replaced")) == 1
        session, _ = engine.router.route("ESZ6")
        assert session.peer_session_id == 5 and not session.replaced
    finally:
        first.close()
        again.close()
        engine.close()


def test_a_restarted_shim_takes_the_account_once_the_old_connection_is_gone(tmp_path):
    audit_log: list = []
    engine = _engine(tmp_path, audit_log, curve=False)
    old = ScriptedShim(engine.endpoint, session_id=11)
    new = ScriptedShim(engine.endpoint, session_id=12)
    try:
        old.hello()
        pump(engine, old, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        old.close()  # the platform restarted: its connection closes
        new.hello()
        pump(engine, new, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        accepted = [p for p in _kinds(audit_log, "hello")]
        assert len(accepted) == 2
        session, _ = engine.router.route("ESZ6")
        assert session.peer_session_id == 12
    finally:
        new.close()
        engine.close()


# -- a departed peer's routing id, claimed by another process -------------------------------

def _wait_gone(engine: Engine, identity: bytes) -> None:
    """Until the ROUTER has dropped the closed connection (a send to it is unroutable)."""

    def unroutable() -> bool:
        try:
            engine.transport.socket.send_multipart([identity, b""], zmq.NOBLOCK)
        except zmq.ZMQError as e:
            # EAGAIN: the pipe is still there, being closed (ROUTER refuses a second
            # connection with its routing id until it is gone).
            return e.errno == zmq.EHOSTUNREACH
        return False

    wait_until(unroutable, 10, "the closed connection to become unroutable", poll=0.02)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_curve_another_key_on_a_departed_peers_routing_id_is_ignored(tmp_path, keys,
                                                                     compiled):
    audit_log: list = []
    engine = _engine(tmp_path, audit_log, curve=True, compiled=compiled)
    first = curve_shim(engine.endpoint, keys["engine"][0], keys["sim"], routing_id=b"SHIM-1")
    try:
        first.hello()
        pump(engine, first, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        first.close()
        _wait_gone(engine, b"SHIM-1")
        for _ in range(3):  # libzmq may drop a connection that races the old one's end
            other = curve_shim(engine.endpoint, keys["engine"][0], keys["other"],
                              routing_id=b"SHIM-1", session_id=first.session_id)
            other.sequence = first.sequence
            other.hello()  # for Sim101, on the routing id Sim101's shim had
            _run(engine, 5, until=lambda: _kinds(audit_log, "peer_key_mismatch"))
            if _kinds(audit_log, "peer_key_mismatch"):
                break
            other.close()
        (mismatch,) = _kinds(audit_log, "peer_key_mismatch")
        assert mismatch["key"] == keys["other"][0].decode()
        assert mismatch["expected"] == keys["sim"][0].decode()
        assert [p["account"] for p in _kinds(audit_log, "hello")] == ["Sim101"]  # the first
        other.close()
    finally:
        first.close()
        engine.close()


def test_a_departed_peers_routing_id_without_a_hello_moves_nothing(tmp_path):
    """Without CURVE: another process claims the routing id of a shim that left and sends
    fills straight away (no hello): they are not booked."""
    audit_log: list = []
    strategy = Recorder()
    engine = _engine(tmp_path, audit_log, curve=False, strategy=strategy)
    first = curve_shim(engine.endpoint, None, None, routing_id=b"SHIM-1", session_id=21)
    try:
        first.hello()
        pump(engine, first, until=lambda r: of(r, RecordType.SNAPSHOT_REQUEST), timeout=5)
        first.trades([6000.0, 6000.25])
        pump(engine, first, timeout=0.3)
        coid = strategy.ctx.buy("ESZ6", 1, 5990.0)
        assert coid, strategy.ctx.last_refusal
        pump(engine, first, until=lambda r: of(r, RecordType.SUBMIT))
        first.close()
        _wait_gone(engine, b"SHIM-1")
        frames_before = engine.sessions[b"SHIM-1"].frames
        for _ in range(3):  # libzmq may drop a connection that races the old one's end
            claimer = curve_shim(engine.endpoint, None, None, routing_id=b"SHIM-1",
                                session_id=22)
            claimer.send([_fill(coid, "FAKE-1", 1, 5000.0)])
            _run(engine, 5, until=lambda: engine.sessions[b"SHIM-1"].frames > frames_before)
            if engine.sessions[b"SHIM-1"].frames > frames_before:
                break
            claimer.close()
        assert engine.sessions[b"SHIM-1"].frames > frames_before, "the claimer never got in"
        _run(engine, 1)
        assert engine.router.book.order(coid).filled_qty == 0 and not strategy.of("fill")
        assert _kinds(audit_log, "peer_session_changed"), " ".join(k for k, _ in audit_log)
        claimer.close()
    finally:
        first.close()
        engine.close()


# -- configuration and keys ------------------------------------------------------------------

def test_key_settings_that_could_not_be_enforced_are_errors(tmp_path, keys):
    from pydantic import ValidationError

    from tickbridge.engine.shim_auth import KeyBindingError

    with pytest.raises(ValidationError, match="curve_public_keys needs CURVE"):
        TickbridgeConfig.model_validate({"accounts": [
            {"name": "Sim101", "mode": "paper", "curve_public_keys": ["sim"]}]})
    with pytest.raises(ValidationError, match="needs curve_authorized_keys_dir"):
        TickbridgeConfig.model_validate({"engine": {
            "curve_secret_key_file": str(tmp_path / "engine.key_secret"),
            "curve_public_key_file": str(tmp_path / "engine.key")}})
    config = _config(tmp_path, curve=True)
    config = config.model_copy(update={"accounts": [
        config.accounts[0].model_copy(update={"curve_public_keys": ["stranger"]})]})
    settings = EngineSettings(endpoint="tcp://127.0.0.1:*",
                              curve_secret_key_file=config.engine.curve_secret_key_file,
                              curve_authorized_keys_dir=config.engine.curve_authorized_keys_dir)
    with pytest.raises(KeyBindingError, match=r"accounts.Sim101.curve_public_keys\[0\]"):
        Engine(settings, config=config)


def test_tickbridge_keys_create_and_list(tmp_path, capsys):
    from tickbridge.cli import main

    folder = tmp_path / "k"
    assert main(["keys", "create", "sierra", "--dir", str(folder)]) == 0
    public, secret = zmq.auth.load_certificate(folder / "sierra.key_secret")
    assert secret is not None and (folder / "sierra.key_secret").stat().st_mode & 0o077 == 0
    assert zmq.auth.load_certificate(folder / "sierra.key")[0] == public
    assert main(["keys", "create", "sierra", "--dir", str(folder)]) == 1  # no overwrite
    capsys.readouterr()
    assert main(["keys", "list", "--dir", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert "sierra" in listing and public.decode() in listing
