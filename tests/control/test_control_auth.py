"""The control socket is authenticated and typed (issue 17, item 4).

A real engine (`tickbridge run`) and the platform simulator as processes, requests over
real ZeroMQ sockets: no token or an unknown one is refused; each role does what it may
and no more; a kill (tightening) is the trade role's, undoing it is the risk role's;
bad field types are refused with the field named; every refusal is audited with who
asked; and a process of another OS user (uid nobody) cannot read the owner token.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack
from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient

READ, TRADE, RISK = (secrets.token_urlsafe(24) for _ in range(3))
READ_ENV = "TB_TEST_CONTROL_READ_TOKEN"

CLIENTS = """
[[control.clients]]
name = "monitor"
role = "read"
token_env = "{env}"

[[control.clients]]
name = "desk"
role = "trade"
token_file = "{trade_file}"

[[control.clients]]
name = "riskmgr"
role = "risk"
token_file = "{risk_file}"
"""


def _private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # A folder other users may enter (the uid-nobody test runs a client there); the
    # token files in it are 0600.
    folder = Path(tempfile.mkdtemp(prefix="tb-control-"))
    folder.chmod(0o755)
    s = Stack(folder)
    with open(s.config, "a") as f:
        f.write(CLIENTS.format(env=READ_ENV,
                               trade_file=_private(folder / "desk.token", TRADE),
                               risk_file=_private(folder / "risk.token", RISK)))
    os.environ[READ_ENV] = READ  # the engine process inherits it
    try:
        s.start_engine()
        s.start_sim(speed=5)
        s.wait_trading()
        yield s
    finally:
        os.environ.pop(READ_ENV, None)
        s.stop()
        shutil.rmtree(folder, ignore_errors=True)


def ask(stack: Stack, token: str | None, cmd: str, **fields: Any) -> dict[str, Any]:
    return ControlClient(stack.control_endpoint, timeout_ms=5000, token=token).request(
        cmd, **fields)


def audited(stack: Stack, kind: str) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{stack.store}?mode=ro", uri=True) as db:
        return [json.loads(p) for (p,) in db.execute(
            "SELECT payload FROM audit_log WHERE kind = ? ORDER BY id", (kind,))]


def orders(stack: Stack) -> int:
    with sqlite3.connect(f"file:{stack.store}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM audit_log WHERE kind = 'order_submit'")
                   .fetchone()[0])


BUY = {"symbol": "ESZ6", "side": "BUY", "quantity": 1, "order_type": "MARKET", "source": "t"}


def test_no_token_or_an_unknown_one_is_refused_and_audited(stack: Stack) -> None:
    before = orders(stack)
    for token, why in ((None, "no token"), ("x" * 32, "unknown token")):
        for cmd, fields in (("status", {}), ("submit", {**BUY, "quantity": 400}),
                            ("reload_risk", {"toml": "[risk.defaults]\nmax_order_qty = 500\n"}),
                            ("set_state", {"state": "active"}), ("kill", {})):
            reply = ask(stack, token, cmd, **fields)
            assert not reply["ok"] and f"not authenticated ({why})" in reply["error"], reply
    assert ask(stack, None, "status").keys() == {"ok", "error"}  # nothing about the engine
    assert ask(stack, RISK, "status")["trading_state"] == "ACTIVE"  # the kill was refused
    assert orders(stack) == before
    expected = {"status", "submit", "reload_risk", "kill"}

    def refusals() -> list[dict]:  # once all of them are in: the store writes them later
        got = [r for r in audited(stack, "control_refused")
               if r["caller"] == "(unauthenticated)"]
        return got if {r["cmd"] for r in got} >= expected else []

    refused = wait_until(refusals, 30, f"the audited refusals of {sorted(expected)}")
    assert all("token" not in r["request"] for r in refused)  # a token is never stored


def test_read_role_reads_and_cannot_trade(stack: Stack) -> None:
    assert ask(stack, READ, "status")["ok"]
    assert ask(stack, READ, "position", symbol="ESZ6")["ok"]
    before = orders(stack)
    reply = ask(stack, READ, "submit", **BUY)
    assert not reply["ok"]
    assert "client 'monitor' has the read role; submit needs the trade role" in reply["error"]
    for cmd, fields in (("cancel", {"source": "t"}), ("kill", {}),
                        ("set_state", {"state": "halted"})):
        assert "needs the trade role" in ask(stack, READ, cmd, **fields)["error"]
    assert orders(stack) == before
    refused = wait_until(lambda: [r for r in audited(stack, "control_refused")
                                if r["caller"] == "monitor"], 10, "the audit")
    assert {r["role"] for r in refused} == {"read"}


def test_trade_role_trades_and_kills_but_cannot_loosen(stack: Stack) -> None:
    placed = ask(stack, TRADE, "submit", **BUY)
    assert placed["ok"], placed
    reload = ask(stack, TRADE, "reload_risk",
                 toml="[risk.defaults]\nmax_order_qty = 500\nband_ticks = 400\n")
    assert not reload["ok"] and "reloading risk limits needs the risk role" in reload["error"]
    killed = ask(stack, TRADE, "kill", flatten=False)
    assert killed["ok"] and killed["trading_state"] == "HALTED", killed
    undo = ask(stack, TRADE, "set_state", state="active")
    assert not undo["ok"]
    assert "loosening the trading state (HALTED -> ACTIVE" in undo["error"]
    assert "needs the risk role" in undo["error"]
    assert not ask(stack, TRADE, "set_state", state="reducing-only")["ok"]  # looser too
    assert ask(stack, TRADE, "set_state", state="halted")["ok"]  # as strict: allowed
    assert ask(stack, READ, "status")["trading_state"] == "HALTED"
    refused = ask(stack, TRADE, "submit", **BUY)
    assert not refused["ok"] and "HALTED" in refused["error"].upper()
    # the risk role undoes it
    assert ask(stack, RISK, "set_state", state="active")["trading_state"] == "ACTIVE"
    requests = wait_until(lambda: [r for r in audited(stack, "control_request")
                                 if r["caller"] == "desk" and r["request"]["cmd"] == "kill"],
                        10, "the audit")
    assert requests[-1]["role"] == "trade"
    wait_until(lambda: any(r["caller"] == "riskmgr" and r["role"] == "risk"
                         and r["request"] == {"cmd": "set_state", "state": "active"}
                         for r in audited(stack, "control_request")), 10, "the audit")


def test_risk_role_reloads_limits(stack: Stack) -> None:
    text = ("[risk.defaults]\nmax_order_qty = 3\nmax_position = 2000\nband_ticks = 400\n"
            "max_data_age_ms = 60000\n")
    reply = ask(stack, RISK, "reload_risk", toml=text)
    assert reply["ok"], reply
    assert "risk.defaults.max_order_qty: 100 -> 3" in reply["changes"]


@pytest.mark.parametrize(("field", "value", "words"), [
    ("quantity", True, "quantity: Input should be a valid integer (got True)"),
    ("quantity", None, "quantity: Input should be a valid integer (got None)"),
    ("quantity", 1e20, "quantity: Input should be a valid integer (got 1e+20)"),
    ("quantity", 1.0, "quantity: Input should be a valid integer (got 1.0)"),
    ("quantity", "1", "quantity: Input should be a valid integer (got '1')"),
    ("quantity", 0, "quantity: Input should be greater than or equal to 1"),
    ("price", True, "price: Input should be a valid number (got True)"),
    ("side", 1, "side: Input should be 'BUY' or 'SELL' (got 1)"),
    ("symbol", None, "symbol: Input should be a valid string (got None)"),
    ("quantity_", 1, "quantity_: Extra inputs are not permitted"),
])
def test_bad_field_types_are_refused_with_the_field_named(stack: Stack, field: str,
                                                          value: Any, words: str) -> None:
    before = orders(stack)
    reply = ask(stack, TRADE, "submit", **{**BUY, "order_type": "LIMIT", "price": 5000.0,
                                           field: value})
    assert not reply["ok"] and words in reply["error"], reply
    assert "TypeError" not in reply["error"]
    assert orders(stack) == before


def test_an_unknown_account_is_refused_naming_it(stack: Stack) -> None:
    for cmd, fields in (("kill", {}), ("set_state", {"state": "halted"})):
        reply = ask(stack, RISK, cmd, account="NOPE", **fields)
        assert not reply["ok"] and reply["error"] == "account: 'NOPE' is not a configured " \
                                                    "account", reply
    assert ask(stack, READ, "status")["trading_state"] == "ACTIVE"


def test_kill_flatten_must_be_a_boolean(stack: Stack) -> None:
    reply = ask(stack, TRADE, "kill", flatten="yes")
    assert not reply["ok"] and reply["error"].startswith("flatten: Input should be a valid "
                                                         "boolean"), reply
    assert ask(stack, READ, "status")["trading_state"] == "ACTIVE"


def test_the_cli_sends_the_named_clients_token(stack: Stack) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tickbridge", *args, "--config",
                               str(stack.config)], capture_output=True, text=True, timeout=60)

    assert cli("status", "--client", "monitor").returncode == 0  # its token from the env
    refused = cli("state", "halted", "--client", "monitor")
    assert refused.returncode == 1 and "needs the trade role" in refused.stderr
    killed = cli("kill", "--client", "desk")
    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert ask(stack, READ, "status")["trading_state"] == "HALTED"
    undo = cli("state", "active", "--client", "desk")
    assert undo.returncode == 1 and "needs the risk role" in undo.stderr
    assert cli("state", "active", "--client", "riskmgr").returncode == 0
    assert ask(stack, READ, "status")["trading_state"] == "ACTIVE"
    unknown = cli("status", "--client", "nobody-here")
    assert unknown.returncode == 2 and "no control client named 'nobody-here'" in unknown.stderr


def test_the_cli_reads_the_owner_token_and_other_users_cannot(stack: Stack) -> None:
    """The local CLI as root (the engine's user) is the owner; uid nobody is refused."""
    token_file = stack.folder / "state.sqlite.control-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    cli = [sys.executable, "-m", "tickbridge", "status", "--config", str(stack.config)]
    mine = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert mine.returncode == 0, mine.stderr
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a client as another user")
    as_nobody = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
    env = {k: v for k, v in os.environ.items() if k != READ_ENV}
    # What the CLI would do first, as uid nobody: read the owner token file. (Not the CLI
    # itself: under an editable install, importing tickbridge as another user tries to
    # take the build directory's rebuild lock, which only root may write.)
    read = f"open({str(token_file)!r}).read()"
    theirs = subprocess.run([*as_nobody, sys.executable, "-c", read], capture_output=True,
                            text=True, timeout=60, env=env, cwd="/")
    assert theirs.returncode == 1, theirs
    assert "PermissionError" in theirs.stderr and "Permission denied" in theirs.stderr
    # Without the CLI's help: a raw request from uid nobody that guesses is refused too.
    probe = ("import json, sys, zmq; s = zmq.Context().socket(zmq.REQ); "
             "s.connect(sys.argv[1]); s.send(json.dumps({'cmd': 'submit', 'symbol': 'ESZ6', "
             "'side': 'BUY', 'quantity': 400, 'token': 'guess' * 8}).encode()); "
             "print(s.recv().decode())")
    raw = subprocess.run([*as_nobody, sys.executable, "-c", probe, stack.control_endpoint],
                         capture_output=True, text=True, timeout=60, env=env, cwd="/")
    assert raw.returncode == 0, raw.stderr
    answer = json.loads(raw.stdout)
    assert not answer["ok"] and "not authenticated (unknown token)" in answer["error"]
