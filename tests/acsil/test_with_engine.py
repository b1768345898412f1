"""The Sierra Chart study (compiled, in the harness that plays Sierra Chart) against the
real engine process, `tickbridge run`, over real sockets: hello and market data reach the
engine; an order placed through the engine reaches Sierra Chart's trading functions with
the engine's client order id in its text tag, is worked, filled and canceled there, and
the engine's books follow; `tickbridge kill` reaches the study by both paths."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acsil.toolchain import Harness
from tests.e2e.stack import free_endpoint, wait_for
from tickbridge.engine.control import ControlClient, ControlError

SECRET = "sierra-kill-secret-0123"

CONFIG = """\
mode = "paper"

[engine]
shim_endpoint = "{shim}"
control_endpoint = "{control}"
heartbeat_ms = 100
state_store = "{store}"

[[shims]]
name = "sierra"
platform = "sierra_chart"
kill_endpoint = "{kill}"
kill_secret = "{secret}"

[[accounts]]
name = "Sim1"
mode = "paper"
shim = "sierra"

[[instruments]]
symbol = "ES"

[risk.defaults]
max_order_qty = 10
max_position = 20
band_ticks = 100000
max_data_age_ms = 100000000
"""


class Engine:
    def __init__(self, folder: Path) -> None:
        self.shim, self.control_endpoint, self.kill = (free_endpoint() for _ in range(3))
        self.config = folder / "engine.toml"
        self.config.write_text(CONFIG.format(shim=self.shim, control=self.control_endpoint,
                                             store=folder / "state.sqlite", kill=self.kill,
                                             secret=SECRET))
        self.log = folder / "engine.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tickbridge", "run", "--config", str(self.config),
                 "--clock", "market", "--status-interval", "0"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.client = ControlClient(self.control_endpoint, timeout_ms=5000)
        wait_for(self._answers, 30, "the engine's control socket")

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return bool(ControlClient(self.control_endpoint, timeout_ms=300).request("status"))
        except ControlError:
            return False

    def request(self, cmd: str, **fields: object) -> dict:
        return self.client.request(cmd, **fields)

    def order(self, coid: int) -> dict:
        return self.request("order", client_order_id=coid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    running = Engine(tmp_path)
    yield running
    running.stop()


def pump_until(harness: Harness, predicate, timeout: float = 20.0, what: str = "") -> None:
    """Study calls at a chart update interval of a few ms, with new time and sales."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        harness("ts 20")
        harness("call")
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError(f"not reached while pumping study calls: {what}")


def test_the_study_trades_through_the_engine(make_harness, engine: Engine) -> None:
    harness = make_harness()
    harness.configure(engine.shim, kill=engine.kill, secret=SECRET, heartbeat_ms=100)

    def shim() -> dict | None:
        shims = engine.request("status")["shims"]
        return shims[0] if shims and "ESZ6" in shims[0]["instruments"] else None

    pump_until(harness, lambda: shim() and engine.request("status")["ticks"] > 100, what="hello")
    (status_shim,) = engine.request("status")["shims"]
    assert status_shim["name"].startswith("sierra_chart:Sim1")
    assert status_shim["simulated"] and not status_shim["refused"]

    reply = engine.request("submit", symbol="ESZ6", side="BUY", quantity=2,
                           order_type="LIMIT", price=4000.25, source="test")
    assert reply["ok"], reply
    coid, text = reply["client_order_id"], reply["client_order_id_text"]
    pump_until(harness, lambda: engine.order(coid)["status"] == "WORKING", what="working")
    (placed,) = [c for c in harness.calls() if c.startswith("BuyOrder")]
    assert placed == f"BuyOrder qty=2 type=1 price1=4000.25 price2=unset tif=0 tag={text}"

    # Sierra Chart fills one contract: the fill (with its execution id) reaches the engine.
    (line,) = [o for o in harness("orders") if f"tag={text}" in o]
    platform_id = int(line.split("id=")[1].split()[0])
    harness(f"fill {platform_id} 1 4000.25")
    pump_until(harness, lambda: engine.order(coid)["filled"] == 1, what="the partial fill")
    assert engine.request("status")["positions"]["ESZ6"] == 1

    assert engine.request("cancel", client_order_id=coid)["ok"]
    pump_until(harness, lambda: engine.order(coid)["status"] == "CANCELED", what="canceled")
    assert f"CancelOrder id={platform_id}" in harness.calls()

    # The kill switch: both paths reach the study (the shim answers its kill endpoint from
    # its socket thread; the study executes on its next call).
    kill = subprocess.Popen([sys.executable, "-m", "tickbridge", "kill", "--config",
                             str(engine.config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    pump_until(harness, lambda: kill.poll() is not None, 60, "the kill command")
    out, err = kill.communicate()
    assert kill.returncode == 0, out + err
    assert "engine  engine           ok" in out and "shim    sierra           ok" in out
    pump_until(harness, lambda: "CancelAllOrders" in harness.calls(), what="cancel all")
    assert engine.request("status")["accounts"]["Sim1"] == "HALTED"
