"""`tickbridge run` as a process with a one-shim config, for the shims' tests against
the real engine (tests/acsil, tests/ninjascript)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.stack import free_endpoint
from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient, ControlError
from tickbridge.engine.control_auth import owner_token_path

CONFIG = """\
mode = "paper"

[engine]
shim_endpoint = "{shim}"
control_endpoint = "{control}"
heartbeat_ms = 100
state_store = "{store}"
{engine_extra}

[[shims]]
name = "{name}"
platform = "{platform}"
kill_endpoint = "{kill}"
kill_secret = "{secret}"

[[accounts]]
name = "{account}"
mode = "paper"
shim = "{name}"
{account_extra}

[[instruments]]
symbol = "ES"

[risk.defaults]
max_order_qty = 10
max_position = 20
band_ticks = 100000
max_data_age_ms = 100000000
"""


class EngineProcess:
    def __init__(self, folder: Path, *, shim: str, platform: str, account: str,
                 secret: str, engine_extra: str = "", account_extra: str = "") -> None:
        """`engine_extra`, `account_extra`: TOML lines added to [engine] and the account
        (the CURVE keys of the shims' tests)."""
        self.shim, self.control_endpoint, self.kill = (free_endpoint() for _ in range(3))
        self.config = folder / "engine.toml"
        self.config.write_text(CONFIG.format(
            shim=self.shim, control=self.control_endpoint, store=folder / "state.sqlite",
            kill=self.kill, secret=secret, name=shim, platform=platform, account=account,
            engine_extra=engine_extra, account_extra=account_extra))
        self.log = folder / "engine.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tickbridge", "run", "--config", str(self.config),
                 "--clock", "market", "--status-interval", "0"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.token_file = owner_token_path(folder / "state.sqlite")  # made by the engine
        self.client = ControlClient(self.control_endpoint, timeout_ms=5000,
                                    token_file=self.token_file)
        wait_until(self._answers, 30, "the engine's control socket")

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return bool(ControlClient(self.control_endpoint, timeout_ms=300,
                                      token_file=self.token_file).request("status")["ok"])
        except ControlError:
            return False

    def request(self, cmd: str, **fields: object) -> dict:
        return self.client.request(cmd, **fields)

    def order(self, coid: int) -> dict:
        return self.request("order", client_order_id=coid)

    def kill_command(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "tickbridge", "kill", "--config",
                                 str(self.config)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
