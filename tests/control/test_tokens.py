"""Control credentials: the owner token file's creation and permissions, the configured
clients' token sources, the constant-time lookup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tickbridge.config import ConfigError, parse_config
from tickbridge.engine.control_auth import (
    Role,
    TokenError,
    cli_token,
    control_auth,
    ensure_owner_token,
    owner_token_path,
)

ACCOUNT = {"accounts": [{"name": "Sim101", "mode": "paper"}]}


def test_owner_token_file_is_created_private_and_kept(tmp_path: Path) -> None:
    path = owner_token_path(tmp_path / "s.sqlite")
    token = ensure_owner_token(path)
    assert path.stat().st_mode & 0o777 == 0o600 and len(token) >= 32
    assert ensure_owner_token(path) == token  # a restart keeps it: the CLI still works


def test_an_owner_token_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = owner_token_path(tmp_path / "s.sqlite")
    ensure_owner_token(path)
    path.chmod(0o644)
    with pytest.raises(TokenError, match="has mode 0644: others may read it"):
        ensure_owner_token(path)
    store = tmp_path / "s.sqlite"
    r = subprocess.run([sys.executable, "-m", "tickbridge", "run", "--state-store", str(store),
                        "--shim-endpoint", "tcp://127.0.0.1:*", "--control-endpoint",
                        "tcp://127.0.0.1:*", "--seconds", "0.1"], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "has mode 0644" in r.stderr


def test_configured_clients_each_with_one_token_source(tmp_path: Path) -> None:
    token_file = tmp_path / "desk.token"
    token_file.write_text("d" * 24 + "\n")
    config = parse_config({**ACCOUNT, "engine": {"state_store": str(tmp_path / "s.sqlite")},
                           "control": {"clients": [
                               {"name": "mon", "role": "read", "token_env": "MON_TOKEN"},
                               {"name": "desk", "role": "trade", "token_file": str(token_file)},
                               {"name": "rm", "role": "risk", "token": "r" * 20}]}},
                          environ={})
    auth = control_auth(config, tmp_path / "s.sqlite", environ={"MON_TOKEN": "m" * 16})
    assert auth.authenticate("m" * 16).role == Role.READ
    desk = auth.authenticate("d" * 24)
    assert desk is not None and (desk.name, desk.role) == ("desk", Role.TRADE)
    assert auth.authenticate("r" * 20).role == Role.RISK
    owner_token = owner_token_path(tmp_path / "s.sqlite").read_text().strip()
    owner = auth.authenticate(owner_token)
    assert owner is not None and (owner.name, owner.role) == ("owner", Role.RISK)
    for bad in (None, "", 5, "m" * 15, "m" * 17):
        assert auth.authenticate(bad) is None
    # the CLI's choice: --client, the env, else the owner's file
    assert cli_token(config, client="desk", environ={}) == "d" * 24
    assert cli_token(config, environ={"TICKBRIDGE_TOKEN": "x" * 16}) == "x" * 16
    assert cli_token(config, environ={}) == owner_token
    with pytest.raises(TokenError, match=r"\$MON_TOKEN is unset"):
        control_auth(config, tmp_path / "s.sqlite", environ={})


@pytest.mark.parametrize(("client", "words"), [
    ({"name": "a", "role": "read"}, "give exactly one of token_file, token_env, token"),
    ({"name": "a", "role": "read", "token": "t" * 16, "token_env": "X"},
     "given: token_env, token"),
    ({"name": "owner", "role": "read", "token": "t" * 16}, "'owner' is the engine's own"),
    ({"name": "a", "role": "admin", "token": "t" * 16}, "'read', 'trade' or 'risk'"),
    ({"name": "a", "role": "read", "token": "short"}, "must be at least 16 bytes"),
])
def test_bad_client_entries_are_refused_naming_the_field(client: dict, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({**ACCOUNT, "control": {"clients": [client]}}, environ={})
    assert any(e.startswith("control.clients[0]") and words in e
               for e in info.value.errors), info.value.errors
    assert "short" not in str(info.value)  # a token is never echoed


def test_owner_token_off_leaves_only_the_listed_clients(tmp_path: Path) -> None:
    config = parse_config({**ACCOUNT, "control": {"owner_token": False, "clients": [
        {"name": "rm", "role": "risk", "token": "r" * 20}]}}, environ={})
    auth = control_auth(config, tmp_path / "s.sqlite")
    assert auth.names == ["rm"] and not owner_token_path(tmp_path / "s.sqlite").exists()
    assert cli_token(config, environ={}) is None
    assert os.listdir(tmp_path) == []
