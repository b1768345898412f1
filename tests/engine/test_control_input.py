"""Bad input on the control socket and the kill CLI: refused with an error that names
the field at fault, and nothing done."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tickbridge.engine import Engine, EngineSettings
from tickbridge.engine.control_auth import Caller, Role

OWNER = Caller("owner", Role.RISK)


def test_control_requests_with_bad_fields_name_them() -> None:
    engine = Engine(EngineSettings(endpoint="tcp://127.0.0.1:*"))
    try:
        for request, words in [
            ({"cmd": "cancel", "client_order_id": "TBxyz"}, "client_order_id"),
            ({"cmd": "replace", "client_order_id": "seven"}, "client_order_id"),
            ({"cmd": "order", "client_order_id": 12345}, "client_order_id: unknown order"),
            ({"cmd": "market", "symbol": "ZZZ"}, "symbol: unknown symbol 'ZZZ'"),
            ({"cmd": "submit", "side": "BUY"}, "symbol: Field required"),
            ({"cmd": "set_state", "state": "paused"}, "state: Input should be 'ACTIVE'"),
            ({"cmd": "nonsense"}, "cmd: unknown command 'nonsense'"),
            ({"cmd": "submit", "symbol": "ES", "side": "BUY", "quantity": True},
             "quantity: Input should be a valid integer (got True)"),
            ({"cmd": "submit", "symbol": "ES", "side": "BUY", "quantity": 1, "qty": 2},
             "qty: Extra inputs are not permitted"),
        ]:
            reply = engine.handle_control(request, OWNER)
            assert reply["ok"] is False and words in reply["error"], (request, reply)
        assert len(engine.router.book) == 0
    finally:
        engine.close()


@pytest.mark.e2e  # runs the `tickbridge` command
def test_kill_refuses_a_malformed_shim_argument() -> None:
    result = subprocess.run([sys.executable, "-m", "tickbridge", "kill", "--shim", "no-endpoint",
                             "--engine-control", "none"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "--shim 'no-endpoint': expected NAME=ENDPOINT" in result.stderr
