"""Starting the engine (issue 17, item 8), through the real CLI (`python -m tickbridge`):
a live config needs an explicit confirmation; an empty config or one without accounts is
refused; what `config check` accepts about binds, `run` starts (insecure_bind on the
control endpoint, IPv6 endpoints); every strategy parameter error is listed. Bad config
or usage exits 2 from `run`, 1 from `config check` (its documented "found a failure")."""

from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.stack import free_endpoint
from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient, ControlError
from tickbridge.engine.control_auth import owner_token_path

DEFAULT = (Path(__file__).parents[2] / "python/tickbridge/config/default.toml").read_text()


def tickbridge(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tickbridge", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def config_file(folder: Path, text: str, name: str = "c.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def engine_config(folder: Path, *, shim: str | None = None, control: str | None = None,
                  extra_engine: str = "", head: str = "", body: str | None = None) -> str:
    """The embedded default with its endpoints and store moved (no fixed ports)."""
    text = DEFAULT.replace('shim_endpoint = "tcp://127.0.0.1:5555"',
                           f'shim_endpoint = "{shim or free_endpoint()}"')
    text = text.replace('control_endpoint = "tcp://127.0.0.1:5556"',
                        f'control_endpoint = "{control or free_endpoint()}"{extra_engine}')
    text = text.replace('state_store = "tickbridge-state.sqlite"',
                        f'state_store = "{folder / "state.sqlite"}"')
    text = head + text
    return text if body is None else body.format(default=text)


def serve(path: Path, answer_at: str, folder: Path, *extra: str) -> subprocess.Popen[str]:
    """`tickbridge run` until its control socket answers at ``answer_at``."""
    proc = subprocess.Popen([sys.executable, "-m", "tickbridge", "run", "--config", str(path),
                             "--status-interval", "0", *extra], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = ControlClient(answer_at, timeout_ms=500,
                           token_file=owner_token_path(folder / "state.sqlite"))

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"run exited {proc.returncode}: {proc.stdout.read()}")
        try:
            return bool(client.request("status")["ok"])
        except ControlError:
            return False

    wait_until(answers, 60, "the engine's control socket")
    return proc


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


# -- live mode needs a confirmation ---------------------------------------------------------
LIVE = """\
mode = "live"
credentials_file = "{credentials}"
live_accounts = ["ACC1", "ACC2"]

[engine]
shim_endpoint = "{shim}"
control_endpoint = "{control}"
state_store = "{store}"

[[accounts]]
name = "ACC1"
mode = "live"

[[accounts]]
name = "ACC2"
mode = "live"

[[instruments]]
symbol = "ES"
"""


def live_config(folder: Path) -> tuple[Path, str]:
    credentials = config_file(folder, "user = x\n", "credentials.txt")
    control = free_endpoint()
    return config_file(folder, LIVE.format(credentials=credentials, shim=free_endpoint(),
                                           control=control,
                                           store=folder / "state.sqlite")), control


def test_live_config_without_confirmation_is_refused(tmp_path: Path) -> None:
    path, _ = live_config(tmp_path)
    assert tickbridge("config", "check", str(path)).returncode == 0  # a complete config
    r = tickbridge("run", "--config", str(path), "--seconds", "0.1")
    assert r.returncode == 2, r.stderr
    assert "a LIVE config sends real orders: confirm with --confirm-live ACC1,ACC2" in r.stderr
    assert not (tmp_path / "state.sqlite").exists()  # nothing was started
    r = tickbridge("run", "--config", str(path), "--confirm-live", "ACC1", "--seconds", "0.1")
    assert r.returncode == 2
    assert "does not name this config's live accounts exactly (ACC1,ACC2)" in r.stderr


def test_live_config_starts_when_its_accounts_are_named(tmp_path: Path) -> None:
    path, control = live_config(tmp_path)
    proc = serve(path, control, tmp_path, "--confirm-live", "ACC2, ACC1")
    assert stop(proc) == 0
    assert "live mode confirmed for ACC1, ACC2" in proc.stdout.read()


@pytest.mark.parametrize(("typed", "starts"), [("ACC2,ACC1\n", True), ("ACC1\n", False)])
def test_live_config_at_a_terminal_asks_for_the_accounts(tmp_path: Path, typed: str,
                                                         starts: bool) -> None:
    path, control = live_config(tmp_path)
    leader, follower = pty.openpty()  # stdin a terminal: the prompt is the confirmation
    proc = subprocess.Popen([sys.executable, "-m", "tickbridge", "run", "--config", str(path),
                             "--status-interval", "0"], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    os.close(follower)
    try:
        os.write(leader, typed.encode())
        if starts:
            client = ControlClient(control, timeout_ms=500,
                                   token_file=owner_token_path(tmp_path / "state.sqlite"))

            def answers() -> bool:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                try:
                    return bool(client.request("status")["ok"])
                except ControlError:
                    return False

            wait_until(answers, 60, "the confirmed live engine")
            assert stop(proc) == 0
        else:
            assert proc.wait(timeout=60) == 2
            assert "not confirmed: nothing started" in (proc.stdout.read() if proc.stdout
                                                        else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        os.close(leader)


def test_confirm_live_on_a_paper_config_is_bad_usage(tmp_path: Path) -> None:
    path = config_file(tmp_path, engine_config(tmp_path))
    r = tickbridge("run", "--config", str(path), "--confirm-live", "Sim101", "--seconds", "0")
    assert r.returncode == 2 and "--confirm-live given for a paper config" in r.stderr


# -- an empty config, or one without accounts ---------------------------------------------
@pytest.mark.parametrize("text", ["", "# nothing\n",
                                  'mode = "paper"\n\n[[instruments]]\nsymbol = "ES"\n'])
def test_empty_config_or_no_accounts_is_refused(tmp_path: Path, text: str) -> None:
    path = config_file(tmp_path, text)
    r = tickbridge("run", "--config", str(path), "--seconds", "0.1")
    assert r.returncode == 2, r.stderr
    assert "accounts: none configured" in r.stderr
    check = tickbridge("config", "check", str(path))
    assert check.returncode == 1 and "accounts: none configured" in check.stderr


# -- insecure_bind on the control endpoint: check and run agree --------------------------------
def test_insecure_bind_control_endpoint_passes_check_and_runs(tmp_path: Path) -> None:
    port = free_endpoint().rsplit(":", 1)[1]
    path = config_file(tmp_path, engine_config(tmp_path, control=f"tcp://0.0.0.0:{port}",
                                               extra_engine="\ninsecure_bind = true"))
    check = tickbridge("config", "check", str(path))
    assert check.returncode == 0, check.stderr
    proc = serve(path, f"tcp://127.0.0.1:{port}", tmp_path)
    try:
        status = tickbridge("status", "--config", str(path), "--engine-control",
                            f"tcp://127.0.0.1:{port}")
        assert status.returncode == 0, status.stderr
    finally:
        assert stop(proc) == 0


def test_control_endpoint_beyond_loopback_without_insecure_bind_fails_check(
        tmp_path: Path) -> None:
    path = config_file(tmp_path, engine_config(tmp_path, control="tcp://0.0.0.0:5599"))
    check = tickbridge("config", "check", str(path))
    assert check.returncode == 1
    assert "engine.control_endpoint: tcp://0.0.0.0:5599 binds beyond this machine" in \
        check.stderr
    r = tickbridge("run", "--config", str(path), "--seconds", "0.1")
    assert r.returncode == 2 and "engine.control_endpoint" in r.stderr


# -- IPv6 endpoints --------------------------------------------------------------------------
def _ipv6_port() -> int:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        return int(s.getsockname()[1])


def test_ipv6_endpoints_are_accepted_and_served(tmp_path: Path) -> None:
    try:
        shim, control = f"tcp://[::1]:{_ipv6_port()}", f"tcp://[::1]:{_ipv6_port()}"
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    path = config_file(tmp_path, engine_config(tmp_path, shim=shim, control=control))
    check = tickbridge("config", "check", str(path))
    assert check.returncode == 0, check.stderr
    proc = serve(path, control, tmp_path)
    try:
        status = tickbridge("status", "--config", str(path))
        assert status.returncode == 0, status.stderr
    finally:
        assert stop(proc) == 0


def test_ipv6_any_needs_the_same_as_ipv4_any(tmp_path: Path) -> None:
    text = engine_config(tmp_path, shim="tcp://[::]:5598")
    check = tickbridge("config", "check", str(config_file(tmp_path, text)))
    assert check.returncode == 1
    assert "engine.shim_endpoint: tcp://[::]:5598 binds beyond this machine" in check.stderr
    assert "not a ZeroMQ endpoint" not in check.stderr
    bad = engine_config(tmp_path, shim="tcp://[zz::1]:5598")
    check = tickbridge("config", "check", str(config_file(tmp_path, bad, "bad.toml")))
    assert check.returncode == 1 and "[zz::1] is not an IPv6 address" in check.stderr


# -- strategy parameters ----------------------------------------------------------------------
def test_every_strategy_parameter_error_is_listed(tmp_path: Path) -> None:
    text = engine_config(tmp_path).replace(
        "params = { fast_bars = 5, slow_bars = 20, size = 1 }",
        "params = { fast_bars = 30, slow_bars = 20, size = 1, sizes = 2 }")
    path = config_file(tmp_path, text)
    for r, code in ((tickbridge("config", "check", str(path)), 1),
                    (tickbridge("run", "--config", str(path), "--seconds", "0.1"), 2)):
        assert r.returncode == code, r.stderr
        assert "sizes: unknown parameter" in r.stderr
        assert "fast_bars: 30 must be below slow_bars (20)" in r.stderr
