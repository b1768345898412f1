"""Config loading: every error listed with its path, env overrides, secrets masked,
risk reload validated and diffed, paper/live rules at hello."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tickbridge.config import (
    ConfigError,
    default_config,
    load_config,
    parse_config,
    reload_risk_limits,
    to_json,
    to_toml,
)
from tickbridge.risk.build import build_risk_gate
from tickbridge.risk.mode import check_hello, mode_banner

BAD = """
mode = "paper"
live_accounts = ["ACC9"]

[engine]
shim_endpoint = "tcp://0.0.0.0:5555"
heartbeat_ms = 10
state_stor = "x.sqlite"

[[shims]]
name = "sc"
platform = "sierra"
kill_endpoint = "tcp://127.0.0.1:99999"
kill_secret = "short"

[[accounts]]
name = "SIM1"
mode = "live"
shim = "nt"

[[instruments]]
symbol = "EZ"

[[instruments]]
symbol = "ES"

[[strategies]]
name = "s1"
entry = "not a class"
instruments = ["CL"]

[risk.defaults]
max_order_qty = 0
band_ticks = 10
band_percent = 1.0

[risk.accounts.SIM1]
daily_loss_limit = -5
on_daily_loss = "panic"
allowed_instruments = ["GC"]
"""

EXPECTED = [
    "engine.heartbeat_ms: Input should be greater than or equal to 50",
    "engine.state_stor: Extra inputs are not permitted",
    "shims[0].platform: Input should be 'sierra_chart', 'ninjatrader' or 'simulator'",
    "shims[0].kill_endpoint: port 99999 is outside 1-65535",
    "shims[0].kill_secret: must be 16 to 32 bytes (is 5)",
    "instruments[0].symbol: EZ: not a symbol format",
    "strategies[0].entry: 'not a class' is neither module:Class",
    "engine.shim_endpoint: tcp://0.0.0.0:5555 binds beyond this machine without CURVE keys",
    "risk.defaults.max_order_qty: Input should be greater than 0",
    "risk.defaults.band_percent: band_ticks (10.0) and band_percent (1.0) both set",
    "risk.accounts.SIM1.daily_loss_limit: Input should be greater than or equal to 0",
    "risk.accounts.SIM1.on_daily_loss: Input should be 'reducing_only' or 'halted'",
    "accounts[0].shim: 'nt' is not a configured shim (sc)",
    "accounts[0].mode: a live account in a paper config",
    "strategies[0].instruments[0]: 'CL' is not a configured instrument (EZ, ES)",
    "risk.accounts.SIM1.allowed_instruments[0]: 'GC' is not a configured instrument",
    "live_accounts: ['ACC9'] set in a paper config",
    "live_accounts[0]: 'ACC9' is not a configured account",
]


def test_bad_config_lists_every_error_with_its_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    errors = info.value.errors
    for expected in EXPECTED:
        assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert len(errors) == len(EXPECTED)  # nothing else, nothing twice
    assert str(info.value).startswith(f"{path}: {len(errors)} errors")
    assert "short" not in str(info.value)  # secrets never echoed


def test_default_config_is_valid_paper_with_es_nq():
    config = default_config()
    assert config.mode == "paper"
    assert [i.symbol for i in config.instruments] == ["ES", "NQ"]
    assert config.shims[0].platform == "simulator"
    assert config.risk.for_instrument("NQ").max_order_qty == 2
    assert config.risk.for_instrument("NQ").band_ticks == 40  # merged from defaults


def test_env_overrides_nest_with_double_underscore():
    env = {"TICKBRIDGE_ENGINE__HEARTBEAT_MS": "250",
           "TICKBRIDGE_SHIMS__0__KILL_SECRET": "another-secret-of-20b",
           "TICKBRIDGE_RISK__DEFAULTS__MAX_ORDER_QTY": "3",
           "TICKBRIDGE_HOME": "/not/config"}
    config = default_config(environ=env)
    assert config.engine.heartbeat_ms == 250
    assert config.shims[0].kill_secret.get_secret_value() == "another-secret-of-20b"
    assert config.risk.defaults.max_order_qty == 3
    with pytest.raises(ConfigError) as info:
        default_config(environ={"TICKBRIDGE_ENGINE__HEARTBEAT_MS": "fast",
                                "TICKBRIDGE_SHIMS__3__NAME": "x"})
    text = str(info.value)
    assert "engine.heartbeat_ms: Input should be a valid integer" in text
    assert "shims[3]: env TICKBRIDGE_SHIMS__3__NAME names an entry the file does not have" in text


def test_live_mode_needs_credentials_and_allow_list(tmp_path):
    data = tomllib.loads(default_config_text())
    data["mode"] = "live"
    data["accounts"][0]["mode"] = "live"
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    text = str(info.value)
    assert "credentials_file: live mode needs a credentials file" in text
    assert "live_accounts: live mode needs an explicit, non-empty list" in text
    creds = tmp_path / "creds.toml"
    creds.write_text("token = 'x'\n")
    data.update(credentials_file=str(creds), live_accounts=["Sim101"])
    config = parse_config(data, environ={})
    assert mode_banner(config).startswith("LIVE MODE")


def default_config_text() -> str:
    from tickbridge.config.loader import DEFAULT_CONFIG_TEXT

    return DEFAULT_CONFIG_TEXT.read_text()


def test_show_masks_secrets_and_round_trips():
    config = default_config()
    text = to_toml(config)
    assert "paper-simulator-kill-secret" not in text and "**********" in text
    assert "paper-simulator-kill-secret" not in to_json(config)
    again = parse_config(tomllib.loads(text.replace("**********", "x" * 16)), environ={})
    assert again.model_dump(exclude={"shims"}) == config.model_dump(exclude={"shims"})


def test_reload_risk_limits_validates_then_diffs():
    config = default_config()
    new, diff = reload_risk_limits(config.risk, """
        [risk.defaults]
        max_order_qty = 3
        max_position = 10
        band_ticks = 40
        [risk.default_account]
        daily_loss_limit = 1000.0
    """, config)
    assert new.defaults.max_order_qty == 3
    assert "risk.defaults.max_order_qty: 5 -> 3" in diff
    assert "risk.default_account.daily_loss_limit: 2500.0 -> 1000.0" in diff
    with pytest.raises(ConfigError) as info:
        reload_risk_limits(config.risk, """
            [defaults]
            max_order_qty = -1
            [instruments.CL]
            band_ticks = 5
        """, config)
    text = str(info.value)
    assert "risk.defaults.max_order_qty: Input should be greater than 0" in text
    assert "risk.defaults.band_percent: set one of band_ticks or band_percent" in text
    assert "risk.instruments.CL: not a configured instrument" in text
    gate, _ = build_risk_gate(config)
    gate.replace_limits(new)
    assert gate.limits.defaults.max_order_qty == 3


@pytest.mark.e2e  # runs the tickbridge command
def test_hello_mode_refusals(tmp_path):
    paper = default_config()
    refusal = check_hello(paper, "Sim101", simulated=False)
    assert refusal is not None and refusal.code == "LIVE_ACCOUNT_IN_PAPER_MODE"
    assert str(refusal) == ("refused account 'Sim101': the shim reports a live account (hello "
                            "simulated=0) but this config runs in paper mode; a paper config "
                            "never trades a live account")
    assert check_hello(paper, "Sim101", simulated=True) is None
    assert check_hello(paper, "NOPE", simulated=True).code == "UNKNOWN_ACCOUNT"
    creds = tmp_path / "creds"
    creds.write_text("x")
    data = tomllib.loads(default_config_text())
    data.update(mode="live", credentials_file=str(creds), live_accounts=["LIVE1"])
    data["accounts"] = [{"name": "LIVE1", "mode": "live", "shim": "simulator"},
                        {"name": "LIVE2", "mode": "live", "shim": "simulator"}]
    live = parse_config(data, environ={})
    assert check_hello(live, "LIVE1", simulated=False) is None
    assert check_hello(live, "LIVE1", simulated=True).code == "SIMULATED_ACCOUNT_IN_LIVE_MODE"
    assert check_hello(live, "LIVE2", simulated=False).code == "NOT_IN_LIVE_ACCOUNTS"
    creds.unlink()
    assert check_hello(live, "LIVE1", simulated=False).code == "NO_CREDENTIALS"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tickbridge", *args], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"})


@pytest.mark.e2e  # runs the tickbridge command
def test_cli_config_check_and_show(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    r = _cli("config", "check", str(bad))
    assert r.returncode == 1 and f"{bad}: {len(r.stderr.splitlines()) - 1} errors" in r.stderr
    good = tmp_path / "good.toml"
    good.write_text(default_config_text())
    r = _cli("config", "check", str(good))
    assert r.returncode == 0 and "PAPER MODE" in r.stdout
    r = _cli("config", "show", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["shims"][0]["kill_secret"] == "**********"
    assert _cli("config").returncode == 2


@pytest.mark.e2e  # runs the tickbridge command
def test_cli_contract_resolve():
    r = _cli("contract", "resolve", "ES", "--on", "2026-12-14")
    assert r.returncode == 0
    assert r.stdout.startswith("ES on 2026-12-14 -> ESH27: ESZ26 rolled on 2026-12-10")
    r = _cli("contract", "resolve", "ES", "--on", "2026-12-14", "--to", "ninjatrader")
    assert r.stdout == "ES 03-27\n"
    r = _cli("contract", "resolve", "ESF7")
    assert r.returncode == 1 and "did you mean" in r.stderr


def test_package_data_files_exist():
    # In the package under test (an installed wheel must carry them), not the checkout.
    import tickbridge

    root = Path(tickbridge.__file__).resolve().parent
    assert (root / "config" / "default.toml").is_file()
    assert (root / "contracts" / "contracts.toml").is_file()


def test_busy_poll_out_of_range_is_refused_naming_the_field(tmp_path):
    path = tmp_path / "busy.toml"
    default = (Path(__file__).parents[2] / "python/tickbridge/config/default.toml").read_text()
    path.write_text(default.replace("[engine]\n", "[engine]\nbusy_poll_us = -5\n", 1))
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert any(e.startswith("engine.busy_poll_us") for e in info.value.errors), \
        info.value.errors


def _with_engine_line(tmp_path, line: str) -> Path:
    path = tmp_path / "engine.toml"
    default = (Path(__file__).parents[2] / "python/tickbridge/config/default.toml").read_text()
    path.write_text(default.replace("[engine]\n", f"[engine]\n{line}\n", 1))
    return path


def test_an_unknown_store_priority_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(_with_engine_line(tmp_path, 'store_priority = "idle"'), environ={})
    assert any(e.startswith("engine.store_priority") for e in info.value.errors), \
        info.value.errors


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_a_cpu_this_process_may_not_use_is_refused_naming_the_field(tmp_path):
    cpus = sorted(os.sched_getaffinity(0))
    ok = load_config(_with_engine_line(tmp_path, f"cpu = {cpus[-1]}"), environ={})
    assert ok.engine.cpu == cpus[-1]
    with pytest.raises(ConfigError) as info:
        load_config(_with_engine_line(tmp_path, f"cpu = {cpus[-1] + 1}"), environ={})
    assert any(e.startswith("engine.cpu") and "not one this process may use" in e
               for e in info.value.errors), info.value.errors


def test_a_switch_for_a_cpu_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(_with_engine_line(tmp_path, "cpu = true"), environ={})
    assert any(e.startswith("engine.cpu") and "not true" in e
               for e in info.value.errors), info.value.errors
