"""What arrives on the shim socket that is not one frame per message."""

from __future__ import annotations

import zmq

from tests.fake_shim import ScriptedShim, pump


def test_a_multipart_message_is_refused_and_the_engine_serves_on(engine, audit_log):
    rogue = zmq.Context.instance().socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    rogue.connect(engine.endpoint)
    try:
        rogue.send_multipart([b"part one", b"part two", b"part three"])
        for _ in range(50):
            engine.poll(timeout_ms=10)
            if engine.protocol_errors:
                break
        assert engine.protocol_errors == 1
        (error,) = [p for k, p in audit_log if k == "protocol_error"]
        assert error["code"] == "TRUNCATED"
        shim = ScriptedShim(engine.endpoint)
        try:
            shim.hello()
            pump(engine, shim, timeout=0.5)
            assert any(s.account == "Sim101" for s in engine.sessions.values())
        finally:
            shim.close()
    finally:
        rogue.close(0)
