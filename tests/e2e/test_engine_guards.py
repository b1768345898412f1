"""The engine process against peers it must not trust: a rogue peer sending malformed and
wrong-version frames next to a good simulator, and a live account offered to a paper
config."""

from __future__ import annotations

import sqlite3
import time

import zmq

from tests.waiting import wait_until
from tickbridge.protocol import RecordType, encode_frame, make_record

from .stack import Stack


def test_a_rogue_peer_is_dropped_and_the_others_are_served(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim(speed=5)
    stack.wait_trading()
    good = encode_frame([make_record(RecordType.HEARTBEAT)], session_id=7, sequence=1,
                        send_time_ns=0)
    bad_frames = {
        "bad magic": b"XXXX" + good[4:],
        "wrong protocol version": good[:4] + b"\x07\x00" + good[6:],
        "truncated": good[:-3],
    }
    context = zmq.Context.instance()
    for n, (reason, frame) in enumerate(bad_frames.items(), start=1):
        rogue = context.socket(zmq.DEALER)
        rogue.setsockopt(zmq.LINGER, 0)
        rogue.connect(stack.shim)
        rogue.send(frame)
        wait_until(lambda n=n: stack.log("engine").count("malformed frame") >= n, 20,
                 f"the engine to refuse: {reason}")
        rogue.close()
    log = stack.log("engine")
    assert "protocol version 7" in log or "version" in log
    assert "peer dropped" in log
    # The simulator is still served: its ticks keep arriving and an order still works.
    before = stack.status()["ticks"]
    wait_until(lambda: stack.status()["ticks"] > before, 20, "more ticks from the simulator")
    coid = stack.submit(side="BUY", quantity=1, order_type="MARKET")
    stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "a fill after the rogue")
    names = [s["name"] for s in stack.status()["shims"]]
    assert len(names) == 1 and names[0].startswith("simulator:Sim101")
    assert stack.engine is not None and stack.engine.poll() is None


def test_a_paper_config_refuses_a_live_account_at_hello(stack: Stack) -> None:
    stack.start_engine()
    stack.start_sim("--live-account", speed=5)
    expected = ("refused account 'Sim101': the shim reports a live account (hello "
                "simulated=0) but this config runs in paper mode")
    wait_until(lambda: expected in stack.log("engine"), 30, "the refusal")
    (shim,) = stack.status()["shims"]
    assert shim["refused"].startswith(expected) and not shim["simulated"]
    time.sleep(0.5)
    refused = stack.request("submit", symbol="ESZ6", side="BUY", quantity=1,
                            order_type="MARKET", source="e2e")
    assert not refused["ok"]
    assert stack.status()["positions"] == {}
    assert stack.stop_sim() == 0
    # The simulator writes its account after order events: none ever reached it.
    assert not stack.sim_state.exists() or stack.sim_platform()["orders"] == []


def test_daily_loss_limit_turns_the_account_reducing_only(tmp_path) -> None:
    """A loss limit of one dollar: the first adverse tick on an open position breaches
    it. The engine's timer turns the account reducing-only; a new buy is refused while
    the sell that closes the position passes."""
    stack = Stack(tmp_path, loss_limit=1.0)
    try:
        stack.start_engine()
        stack.start_sim(speed=5)
        stack.wait_trading()
        coid = stack.submit(side="BUY", quantity=1, order_type="MARKET")
        stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "the buy filled")
        wait_until(lambda: "daily loss limit: Sim101 is now REDUCING_ONLY" in stack.log("engine"),
                 90, "the loss limit to be breached")
        more = stack.request("submit", symbol="ESZ6", side="BUY", quantity=1,
                             order_type="MARKET", source="e2e")
        assert not more["ok"] and "reducing" in more["error"].lower(), more
        close = stack.submit(side="SELL", quantity=1, order_type="MARKET")
        stack.wait_order(close, lambda o: o["status"] == "FILLED", 30, "the closing sell")
        assert stack.status()["positions"]["ESZ6"] == 0
        assert stack.stop_engine() == 0
        with sqlite3.connect(stack.store) as db:
            kinds = [k for (k,) in db.execute("SELECT kind FROM audit_log")]
        assert "daily_loss_limit" in kinds and "risk_refusal" in kinds
    finally:
        stack.stop()


def test_risk_limits_reloaded_at_runtime_are_validated_and_audited(stack: Stack) -> None:
    import subprocess
    import sys

    stack.start_engine()
    stack.start_sim(speed=5)
    stack.wait_trading()

    def reload(text: str) -> subprocess.CompletedProcess[str]:
        path = stack.folder / "risk.toml"
        path.write_text(text)
        return subprocess.run([sys.executable, "-m", "tickbridge", "config", "reload",
                               str(path), "--config", str(stack.config)],
                              capture_output=True, text=True, timeout=60)

    bad = reload("[risk.defaults]\nmax_order_qty = -1\nband_ticks = 40\n")
    assert bad.returncode == 1
    assert "risk.defaults.max_order_qty: Input should be greater than 0" in bad.stderr
    assert stack.submit(side="BUY", quantity=3, order_type="MARKET")  # limits unchanged
    good = reload("[risk.defaults]\nmax_order_qty = 2\nmax_position = 2000\nband_ticks = 400\n"
                  "max_data_age_ms = 60000\n")
    assert good.returncode == 0, good.stderr
    assert "risk.defaults.max_order_qty: 100 -> 2" in good.stdout
    refused = stack.request("submit", symbol="ESZ6", side="BUY", quantity=3,
                            order_type="MARKET", source="e2e")
    assert not refused["ok"] and "3" in refused["error"], refused
    assert stack.stop_engine() == 0
    with sqlite3.connect(stack.store) as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM audit_log")]
    assert "config_change_refused" in kinds and "config_change" in kinds
