"""The one loopback test behind every bind rule (engine, control, webhook)."""

from __future__ import annotations

import pytest

from tickbridge.config.models import is_loopback
from tickbridge.engine.transport import is_loopback as transport_is_loopback


@pytest.mark.parametrize(("endpoint", "loopback"), [
    ("tcp://127.0.0.1:5555", True),
    ("tcp://127.8.9.1:5555", True),
    ("tcp://localhost:5555", True),
    ("tcp://[::1]:5555", True),
    # What a ZMQ_IPV6 socket reports for a 127.0.0.1 bind (its LAST_ENDPOINT).
    ("tcp://[::ffff:127.0.0.1]:5555", True),
    ("tcp://[::ffff:10.0.0.1]:5555", False),
    ("tcp://[::]:5555", False),
    ("tcp://*:5555", False),
    ("tcp://0.0.0.0:5555", False),
    ("tcp://10.1.2.3:5555", False),
    ("ipc:///tmp/tickbridge.sock", True),
])
def test_loopback_endpoints(endpoint: str, loopback: bool) -> None:
    assert is_loopback(endpoint) is loopback
    assert transport_is_loopback(endpoint) is loopback
