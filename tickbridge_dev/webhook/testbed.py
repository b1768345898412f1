"""A real engine (in-process, on a thread) and the platform simulator (a subprocess) on
loopback, for the webhook's tests and benchmark: the alert's whole path, nothing mocked.

The engine runs the configured risk gate. ``clock="market"`` with the simulator's tape
kept on its own time (a weekday morning in Chicago) makes the session open whatever the
machine's date; pass ``wall_clock`` and ``clock="wall"`` to put the session check at a
chosen instant instead.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tickbridge.config import default_config
from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.control import ControlClient
from tickbridge.engine.risk import RiskAdapter


class EngineWithSimulator:
    def __init__(self, *, config: TickbridgeConfig | None = None, clock: str = "market",
                 wall_clock: Callable[[], int] | None = None, account: str = "Sim101",
                 symbols: str = "ES,NQ", ticks: int = 2_000_000) -> None:
        self.config = config or default_config()
        risk = RiskAdapter(self.config, clock=clock)
        if wall_clock is not None:
            risk.wall_clock = wall_clock
        # What the engine audits (list.append is atomic: the engine thread writes it).
        self.audit_records: list[tuple[str, dict[str, Any]]] = []
        self.engine = Engine(EngineSettings(endpoint="tcp://127.0.0.1:*", heartbeat_ms=200),
                             audit=lambda kind, **p: self.audit_records.append((kind, p)),
                             risk=risk, config=self.config,
                             control_endpoint="tcp://127.0.0.1:*")
        assert self.engine.control is not None
        self.control_endpoint = self.engine.control.endpoint
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._sim_args = [
            sys.executable, "-m", "tickbridge", "sim", "--engine", self.engine.endpoint,
            "--kill-endpoint", "none", "--account", account, "--symbols", symbols,
            "--ticks", str(ticks), "--speed", "1", "--keep-time", "--status-interval", "0",
            "--log-level", "WARNING"]
        self.sim: subprocess.Popen[bytes] | None = None
        # The in-process engine's owner token (risk role): it has no token file.
        self.token = self.engine.control.auth.owner_token
        self.client = ControlClient(self.control_endpoint, timeout_ms=3000, token=self.token)

    def _run(self) -> None:
        self.engine.run(until=self._stop.is_set)

    def start(self, timeout: float = 30.0) -> EngineWithSimulator:
        self._thread.start()
        self.sim = subprocess.Popen(self._sim_args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sim.poll() is not None:
                raise RuntimeError(f"the simulator exited with code {self.sim.returncode}")
            status = self.status()
            shims = status.get("shims", [])
            # Ready once the risk gate has mapped every instrument: its first session
            # calendar build takes the engine thread a moment, not to be met by a test.
            risk = self.engine.risk
            if shims and shims[0]["instruments"] and status["ticks"] > 0 and risk is not None \
                    and len(risk.roots) >= len(shims[0]["instruments"]):
                self.status()
                return self
            time.sleep(0.05)
        raise RuntimeError("the simulator did not define its instruments in time")

    def status(self) -> dict[str, Any]:
        return self.client.request("status")

    def position(self, symbol: str) -> int:
        return int(self.status()["positions"].get(symbol, 0))

    def audited(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [p for k, p in list(self.audit_records)
                if k == kind and all(p.get(f) == v for f, v in match.items())]

    def stop(self) -> None:
        if self.sim is not None and self.sim.poll() is None:
            self.sim.terminate()
            try:
                self.sim.wait(10)
            except subprocess.TimeoutExpired:
                self.sim.kill()
        self._stop.set()
        self._thread.join(10)
        self.engine.close()

    def __enter__(self) -> EngineWithSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """``python -m tickbridge_dev.webhook.testbed``: the engine and simulator in a process of
    their own, as in production (the benchmark); prints the control endpoint and the owner
    token as one JSON line, runs until stdin closes."""
    import json
    import logging

    logging.getLogger("tickbridge.engine").setLevel(logging.ERROR)  # burst refusals
    with EngineWithSimulator() as bed:
        # the token over the pipe: only the parent that started this process reads it
        print(json.dumps({"control": bed.control_endpoint, "token": bed.token}), flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
