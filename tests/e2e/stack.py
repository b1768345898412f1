"""The engine (`tickbridge run`) and the simulator (`tickbridge sim`) as separate
processes over real sockets, with what the tests need to drive and inspect them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient, ControlError
from tickbridge.engine.control_auth import owner_token_path

KILL_SECRET = "e2e-test-kill-secret-0123"


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


CONFIG = """\
mode = "paper"

[engine]
shim_endpoint = "{shim}"
control_endpoint = "{control}"
heartbeat_ms = 200
state_store = "{store}"
kill_on_shim_lost = {kill_on_lost}

[[shims]]
name = "simulator"
platform = "simulator"
kill_endpoint = "{kill}"
kill_secret = "{secret}"

[[accounts]]
name = "Sim101"
mode = "paper"
shim = "simulator"

[[instruments]]
symbol = "ES"

[[instruments]]
symbol = "NQ"

[risk.defaults]
max_order_qty = {max_order_qty}
max_position = {max_position}
band_ticks = 400
band_basis = "last_trade"
max_data_age_ms = 60000
tick_policy = "reject"

[risk.default_account]
max_position = {account_max_position}
daily_loss_limit = {loss_limit}
on_daily_loss = "reducing_only"
max_orders_per_second = 50
max_orders_per_minute = 1000
max_orders_per_hour = 10000
"""


class Stack:
    def __init__(self, folder: Path, loss_limit: float = 1_000_000.0,
                 kill_on_lost: bool = True, max_position: int = 2000,
                 max_order_qty: int = 100) -> None:
        self.folder = folder
        self.shim = free_endpoint()
        self.control_endpoint = free_endpoint()
        self.kill = free_endpoint()
        self.store = folder / "state.sqlite"
        self.config = folder / "tickbridge.toml"
        self.config.write_text(CONFIG.format(shim=self.shim, control=self.control_endpoint,
                                             store=self.store, kill=self.kill,
                                             secret=KILL_SECRET, loss_limit=loss_limit,
                                             kill_on_lost=str(kill_on_lost).lower(),
                                             max_position=max_position,
                                             max_order_qty=max_order_qty,
                                             account_max_position=2 * max_position))
        self.sim_state = folder / "sim-state.json"
        self.engine: subprocess.Popen | None = None
        self.sim: subprocess.Popen | None = None
        self._old_shims: set[str] = set()
        self._logs: list[Any] = []
        # The engine's owner token (risk role), created by the engine at start.
        self.token_file = owner_token_path(self.store)
        self.control = ControlClient(self.control_endpoint, timeout_ms=5000,
                                     token_file=self.token_file)

    # -- processes -------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "a")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return subprocess.Popen([sys.executable, "-m", "tickbridge", *args], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "TICKBRIDGE_KILL_SECRET": KILL_SECRET})

    def start_engine(self) -> None:
        self._old_shims = set()  # a new engine: every session it has is new
        self.engine = self._spawn("engine", ["run", "--config", str(self.config), "--clock",
                                             "market", "--status-interval", "0"])
        wait_until(self._engine_answers, 30, "the engine's control socket")

    def _engine_answers(self) -> bool:
        assert self.engine is not None
        if self.engine.poll() is not None:
            raise AssertionError(f"engine exited with {self.engine.returncode}:\n"
                                 f"{self.log('engine')}")
        try:
            return bool(ControlClient(self.control_endpoint, timeout_ms=300,
                                      token_file=self.token_file).request("status")["ok"])
        except ControlError:
            return False

    def start_sim(self, *extra: str, speed: float = 5, ticks: int = 2_000_000,
                  latency_ms: float = 5) -> None:
        # wait_trading waits for this simulator's session, not a predecessor's.
        try:
            self._old_shims = {s["name"] for s in self.status()["shims"]}
        except (ControlError, AssertionError):
            self._old_shims = set()
        self.sim = self._spawn("sim", [
            "sim", "--engine", self.shim, "--kill-endpoint", self.kill, "--speed", str(speed),
            "--keep-time", "--ticks", str(ticks), "--state", str(self.sim_state),
            "--latency-ms", str(latency_ms), "--heartbeat-ms", "200", "--status-interval",
            "0", *extra])

    def stop_sim(self, sig: int = signal.SIGTERM) -> int:
        assert self.sim is not None
        self.sim.send_signal(sig)
        return self.sim.wait(timeout=20)

    def stop_engine(self, sig: int = signal.SIGTERM) -> int:
        assert self.engine is not None
        self.engine.send_signal(sig)
        return self.engine.wait(timeout=20)

    def stop(self) -> None:
        for child in (self.sim, self.engine):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait(timeout=20)
        for log in self._logs:
            log.close()

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text() if path.exists() else ""

    # -- engine state ------------------------------------------------------------------
    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return self.control.request(cmd, **fields)

    def status(self) -> dict[str, Any]:
        return self.request("status")

    def wait_trading(self, symbol: str = "ESZ6", timeout: float = 60) -> None:
        """Until the simulator's hello and definitions are in and the symbol has traded."""
        def ready() -> bool:
            status = self.status()
            live = [s for s in status["shims"] if not s["lost"] and not s["refused"]
                    and s["name"] not in self._old_shims]
            return bool(live) and symbol in live[0]["instruments"] and \
                live[0]["last_sequence"] > 3 and status["ticks"] > 100
        wait_until(ready, timeout, f"the simulator trading {symbol}")

    def market(self, symbol: str = "ESZ6") -> dict[str, float]:
        return self.request("market", symbol=symbol)["market"]

    def submit(self, **fields: Any) -> int:
        reply = self.request("submit", **{"symbol": "ESZ6", "source": "e2e", **fields})
        assert reply["ok"], reply
        return int(reply["client_order_id"])

    def order(self, coid: int) -> dict[str, Any]:
        reply = self.request("order", client_order_id=coid)
        assert reply["ok"], reply
        return reply

    def wait_order(self, coid: int, condition: Callable[[dict[str, Any]], bool],
                   timeout: float = 60, what: str = "") -> dict[str, Any]:
        return wait_until(lambda: (o := self.order(coid)) and condition(o) and o, timeout,
                        what or f"order {coid}")

    # -- simulator state (its --state file: what the platform's broker account holds) --------
    def sim_platform(self) -> dict[str, Any]:
        return json.loads(self.sim_state.read_text())

    def sim_positions(self) -> dict[str, int]:
        state = self.sim_platform()
        return {symbol: int(state["positions"][str(i + 1)][0])
                for i, symbol in enumerate(state["symbols"])}

    def sim_working(self) -> list[dict[str, Any]]:
        from tickbridge.protocol import OrderStatus

        finished = {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
                    OrderStatus.EXPIRED}
        return [o for o in self.sim_platform()["orders"]
                if OrderStatus(o["status"]) not in finished]
