"""The copier's test bed: the engine (`tickbridge run`) as its own process, and one
simulator per account in this process (so a test places orders by hand at the leader's
platform, as a trader would): the leader reports as Sierra Chart, the followers as
Sierra Chart or NinjaTrader. One account per simulator session (docs/copier.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.e2e.stack import free_endpoint
from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient, ControlError
from tickbridge.engine.control_auth import owner_token_path
from tickbridge.protocol import OrderStatus, Platform
from tickbridge.sim.feed import generated_tape
from tickbridge.sim.process import SimConfig, Simulator, run_in_thread

LEADER = "L1"
# account -> (platform, symbols its simulator defines)
ACCOUNTS = {
    "L1": (Platform.SIERRA_CHART, ["ES"]),
    "F1": (Platform.NINJATRADER, ["ES"]),
    "F2": (Platform.SIERRA_CHART, ["ES"]),
    "F3": (Platform.NINJATRADER, ["MES"]),
}

CONFIG = """\
mode = "paper"

[engine]
shim_endpoint = "{shim}"
control_endpoint = "{control}"
heartbeat_ms = 200
state_store = "{store}"
# A follower's lost link is the copier's to resync when it is back, not a halt.
kill_on_shim_lost = false
snapshot_interval_s = 0

{accounts}
[[instruments]]
symbol = "ES"

[[instruments]]
symbol = "MES"

[risk.defaults]
max_order_qty = 100
max_position = 2000
band_ticks = 4000
max_data_age_ms = 600000

[risk.default_account]
max_orders_per_second = 100
{extra_risk}
[copier]
leader = {{account = "L1", platform = "sierra_chart"}}
mode = "{mode}"
policy = "{policy}"
sync_interval_s = 0

[[copier.followers]]
account = "F1"
sizing = {{kind = "ratio", ratio = 1.0, max = 100}}

[[copier.followers]]
account = "F2"
sizing = {{kind = "ratio", ratio = 0.5, rounding = "half_away", max = 100}}

[[copier.followers]]
account = "F3"
sizing = {{kind = "ratio", ratio = 1.0, max = 1000}}
instruments = [{{leader = "ES", follower = "MES", ratio = 10}}]
"""

F2_LOSS_LIMIT = """
[risk.accounts.F2]
daily_loss_limit = 1.0
on_daily_loss = "reducing_only"
max_orders_per_second = 100
"""


class CopierStack:
    def __init__(self, folder: Path, *, mode: str = "copy_fills", policy: str = "resync",
                 f2_loss_limit: bool = False) -> None:
        self.folder = folder
        self.shim, self.control_endpoint = free_endpoint(), free_endpoint()
        self.store = folder / "state.sqlite"
        self.config = folder / "tickbridge.toml"
        accounts = "".join(f'[[accounts]]\nname = "{a}"\nmode = "paper"\n\n' for a in ACCOUNTS)
        self.config.write_text(CONFIG.format(
            shim=self.shim, control=self.control_endpoint, store=self.store, mode=mode,
            policy=policy, accounts=accounts, extra_risk=F2_LOSS_LIMIT if f2_loss_limit else ""))
        self.engine: subprocess.Popen | None = None
        self.sims: dict[str, tuple[Simulator, threading.Thread]] = {}
        self.control = ControlClient(self.control_endpoint, timeout_ms=5000,
                                     token_file=owner_token_path(self.store))
        self._log = open(folder / "engine.log", "a")  # noqa: SIM115 - closed in stop()

    # -- processes ---------------------------------------------------------------------
    def start_engine(self) -> None:
        self.engine = subprocess.Popen(
            [sys.executable, "-m", "tickbridge", "run", "--config", str(self.config),
             "--clock", "market", "--status-interval", "0"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(self._answers, 60, "the engine's control socket")

    def _answers(self) -> bool:
        assert self.engine is not None
        if self.engine.poll() is not None:
            raise AssertionError(f"engine exited with {self.engine.returncode}:\n{self.log()}")
        try:
            return bool(ControlClient(self.control_endpoint, timeout_ms=300, token_file=
                                      owner_token_path(self.store)).request("status")["ok"])
        except ControlError:
            return False

    def kill_engine(self) -> None:
        assert self.engine is not None
        self.engine.send_signal(signal.SIGKILL)
        self.engine.wait(timeout=20)

    def start_sim(self, account: str) -> Simulator:
        platform, symbols = ACCOUNTS[account]
        tape = generated_tape(symbols, seed=7, ticks_per_instrument=200_000)
        sim = Simulator(tape, SimConfig(
            engine=self.shim, kill_endpoint=None, account=account, platform=platform,
            heartbeat_ms=200, speed=1.0, latency_ms=2.0, status_interval=0,
            rebase_time=False,  # the tape's own times: a Wednesday, the CME session open
            # The leader's working orders are the trader's: a platform keeps them when the
            # bridge goes silent (the followers' are the engine's: canceled).
            cancel_on_disconnect=account != LEADER,
            state_path=str(self.folder / f"sim-{account}.json")))
        self.sims[account] = (sim, run_in_thread(sim))
        return sim

    def stop_sim(self, account: str) -> None:
        sim, thread = self.sims.pop(account)
        sim.stop()
        thread.join(timeout=20)

    def start_all(self) -> None:
        self.start_engine()
        for account in ACCOUNTS:
            self.start_sim(account)
        self.wait_connected()

    def stop(self) -> None:
        for account in list(self.sims):
            self.stop_sim(account)
        if self.engine is not None and self.engine.poll() is None:
            self.engine.terminate()
            try:
                self.engine.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.engine.kill()
                self.engine.wait(timeout=20)
        self._log.close()

    def log(self) -> str:
        return (self.folder / "engine.log").read_text()

    # -- the engine ----------------------------------------------------------------------
    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return self.control.request(cmd, **fields)

    def copier(self) -> dict[str, Any]:
        reply = self.request("copier_status")
        assert reply["ok"], reply
        return reply

    def follower(self, account: str) -> dict[str, Any]:
        return next(f for f in self.copier()["followers"] if f["account"] == account)

    def wait_connected(self, timeout: float = 90) -> None:
        """Every simulator's link up and confirmed, each defining its instruments, the
        leader's market trading."""
        def ready() -> bool:
            status = self.copier()
            return status["leader"]["connected"] and all(
                f["connected"] for f in status["followers"]) and self.confirmed()
        wait_until(ready, timeout, "every account's link confirmed")

    def confirmed(self) -> bool:
        shims = self.request("status")["shims"]
        live = {s["account"] for s in shims if s["link"] == "confirmed" and not s["lost"]
                and s["instruments"]}
        return live >= set(self.sims)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A tickbridge command; the engine's config added for those that ask it."""
        config = ["--config", str(self.config)] if args[0] != "audit" else []
        return subprocess.run(
            [sys.executable, "-m", "tickbridge", *args, *config],
            capture_output=True, text=True, timeout=60, env={**os.environ})

    # -- the platforms -------------------------------------------------------------------
    def sim(self, account: str) -> Simulator:
        return self.sims[account][0]

    def position(self, account: str) -> int:
        platform = self.sim(account).platform
        return sum(book.quantity for book in platform.positions.values())

    def last_price(self, account: str) -> float:
        platform = self.sim(account).platform
        iid = next(iter(platform.instruments))
        return wait_until(lambda: platform.matching.last_trade.get(iid), 30,
                          f"a trade at {account}'s platform")

    def engine_orders(self, account: str) -> list[Any]:
        """The engine's orders at the account's platform (not platform-made ones)."""
        orders = list(self.sim(account).platform.matching.orders.values())
        return [o for o in orders if not o.client_order_id >> 63]

    def working(self, account: str) -> list[Any]:
        live = (OrderStatus.ACKNOWLEDGED, OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED,
                OrderStatus.PENDING_REPLACE)
        return [o for o in self.engine_orders(account) if o.status in live]

    def wait_positions(self, wanted: dict[str, int], timeout: float = 60) -> None:
        wait_until(lambda: all(self.position(a) == q for a, q in wanted.items()), timeout,
                   f"positions {wanted} (now "
                   f"{ {a: self.position(a) for a in wanted} })")
