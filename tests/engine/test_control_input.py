"""Bad input on the control socket and the kill CLI: refused with an error that names
the field at fault, and nothing done."""

from __future__ import annotations

import subprocess
import sys

from tickbridge.engine import Engine, EngineSettings


def test_control_requests_with_bad_fields_name_them() -> None:
    engine = Engine(EngineSettings(endpoint="tcp://127.0.0.1:*"))
    try:
        for request, words in [
            ({"cmd": "cancel", "client_order_id": "TBxyz"}, "client_order_id"),
            ({"cmd": "replace", "client_order_id": "seven"}, "client_order_id"),
            ({"cmd": "order", "client_order_id": 12345}, "unknown order"),
            ({"cmd": "market", "symbol": "ZZZ"}, "unknown symbol 'ZZZ'"),
            ({"cmd": "submit", "side": "BUY"}, "missing or unknown field"),
            ({"cmd": "set_state", "state": "paused"}, "state must be one of"),
            ({"cmd": "nonsense"}, "unknown command 'nonsense'"),
        ]:
            reply = engine.handle_control(request)
            assert reply["ok"] is False and words in reply["error"], (request, reply)
        assert len(engine.router.book) == 0
    finally:
        engine.close()


def test_kill_refuses_a_malformed_shim_argument() -> None:
    result = subprocess.run([sys.executable, "-m", "tickbridge", "kill", "--shim", "no-endpoint",
                             "--engine-control", "none"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "--shim 'no-endpoint': expected NAME=ENDPOINT" in result.stderr
