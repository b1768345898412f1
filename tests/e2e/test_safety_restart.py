"""Safety state survives restarts (issue 17, item 1), with real processes: the engine is
killed (SIGKILL) and stopped (SIGTERM) again and again while orders flow, and

- the platform's position never goes past max_position: the gate's positions, working
  orders and trading state come back from the store before the first order, and no order
  is taken before the platform's snapshot has been compared with them;
- a kill (halt) stays in force across every restart until someone sets the state active.

Before the fix, the gate restarted empty: with max_position 10, ES reached +25."""

from __future__ import annotations

import base64
import os
import random
import signal
import threading
import time

import numpy as np

from tests.waiting import wait_until
from tickbridge.engine.control import ControlClient, ControlError
from tickbridge.protocol import DTYPES, RecordType

from .stack import Stack

MAX_POSITION = 3
SIGKILLS = int(os.environ.get("TICKBRIDGE_SAFETY_SIGKILLS", "20"))
SIGTERMS = int(os.environ.get("TICKBRIDGE_SAFETY_SIGTERMS", "5"))


class BuyPressure(threading.Thread):
    """Orders that push the position up against its limit: mostly market buys, some
    sells, and resting buy limits below the market (they count as projected exposure).
    Refusals and a dead engine are expected; it carries on."""

    def __init__(self, stack: Stack, seed: int) -> None:
        super().__init__(daemon=True)
        self.stack, self.rng, self.stop = stack, random.Random(seed), threading.Event()
        self.accepted = 0
        self.refusals: dict[str, int] = {}

    def run(self) -> None:
        client = ControlClient(self.stack.control_endpoint, timeout_ms=300,
                               token_file=self.stack.token_file)
        while not self.stop.is_set():
            try:
                roll = self.rng.random()
                fields = {"symbol": "ESZ6", "quantity": self.rng.randint(1, 2),
                          "source": "pressure"}
                if roll < 0.65:
                    reply = client.request("submit", side="BUY", order_type="MARKET", **fields)
                elif roll < 0.95:
                    reply = client.request("submit", side="SELL", order_type="MARKET",
                                           **fields)
                else:
                    last = (client.request("market", symbol="ESZ6").get("market") or {}
                            ).get("last_price")
                    if not last or last != last:
                        continue
                    reply = client.request("submit", side="BUY", order_type="LIMIT",
                                           price=round((last - 20) * 4) / 4, **fields)
                if reply.get("ok"):
                    self.accepted += 1
                else:
                    text = str(reply.get("error", "?"))
                    kind = next((k for k in ("not yet confirmed", "position", "halted",
                                             "not connected") if k in text), text[:60])
                    self.refusals[kind] = self.refusals.get(kind, 0) + 1
            except ControlError:
                pass  # the engine is down: it will be back
            time.sleep(self.rng.uniform(0.005, 0.03))


def _platform_path(stack: Stack) -> list[int]:
    """The simulator's ESZ6 position after each of its fills, in the order it made them."""
    raw = base64.b64decode(stack.sim_platform()["fills"])
    position, path = 0, []
    for f in np.frombuffer(raw, DTYPES[RecordType.FILL]):
        if int(f["instrument_id"]) != 1:
            continue
        position += int(f["quantity"]) * (1 if int(f["side"]) == 1 else -1)
        path.append(position)
    return path


def _restart(stack: Stack, sig: int) -> None:
    assert stack.engine is not None
    stack.engine.send_signal(sig)
    stack.engine.wait(timeout=30)
    stack.start_engine()


def test_restarts_never_take_a_position_past_its_limit_nor_lose_a_halt(tmp_path) -> None:
    stack = Stack(tmp_path, max_position=MAX_POSITION, max_order_qty=2)
    rng = random.Random(17)
    signals = [signal.SIGKILL] * SIGKILLS + [signal.SIGTERM] * SIGTERMS
    rng.shuffle(signals)
    try:
        stack.start_engine()
        stack.start_sim("--queue", "front", "--no-cancel-on-disconnect", speed=5)
        stack.wait_trading()
        pressure = BuyPressure(stack, seed=17)
        pressure.start()
        try:
            for sig in signals:
                time.sleep(rng.uniform(0.3, 1.5))
                _restart(stack, sig)
                stack.wait_trading()
            wait_until(lambda: pressure.accepted > 5, 30, "orders accepted")
        finally:
            pressure.stop.set()
            pressure.join(timeout=10)
        path = _platform_path(stack)
        assert path, "no fill at the platform: the test pushed nothing"
        assert max(abs(p) for p in path) <= MAX_POSITION, (
            f"the platform's position reached {max(path, key=abs)} (limit {MAX_POSITION}); "
            f"path {path}")
        # The limit was really pressed against (else the test proves nothing).
        assert max(abs(p) for p in path) == MAX_POSITION, (path, pressure.accepted,
                                                           pressure.refusals)
        assert pressure.refusals.get("position"), pressure.refusals

        # The halt: set by a kill, kept across SIGKILL and SIGTERM, lifted only by a person.
        reply = stack.request("kill", flatten=False, source="test")
        assert reply["ok"] and reply["trading_state"] == "HALTED", reply
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGKILL):
            _restart(stack, sig)
            stack.wait_trading()
            status = stack.status()
            assert status["trading_state"] == "HALTED", status
            refused = stack.request("submit", symbol="ESZ6", side="SELL", quantity=1,
                                    order_type="MARKET", source="test")
            assert not refused["ok"] and "halted" in refused["error"].lower(), refused
        assert stack.request("set_state", state="active", source="test")["ok"]
        _restart(stack, signal.SIGKILL)
        stack.wait_trading()
        assert stack.status()["trading_state"] == "ACTIVE"
    finally:
        stack.stop()
