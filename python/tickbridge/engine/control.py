"""The engine's control socket: status, trading state, kill, risk reload and order
submission for the CLI and the webhook, on a connection of its own.

JSON over ZeroMQ (REQ client, ROUTER server): one request, one reply, always. Requests
are rare (a person or an alert), so readability beats bytes here. Every request that
changes something is audited by the engine.

    {"cmd": "status"}
    {"cmd": "kill", "flatten": true, "account": null}
    {"cmd": "set_state", "state": "HALTED", "account": null}
    {"cmd": "submit", "symbol": "ESZ6", "side": "BUY", "quantity": 1, "order_type": "LIMIT",
     "price": 6000.25, "source": "webhook:alert-17"}
    {"cmd": "reload_risk", "toml": "..."}
    {"cmd": "symbols"}
    {"cmd": "position", "symbol": "ESZ6"}
    {"cmd": "cancel", "source": "webhook:trend", "symbol": "ESZ6"}  (or "client_order_id")

Replies: {"ok": true, ...} or {"ok": false, "error": "what was wrong"}.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import zmq

log = logging.getLogger("tickbridge.engine")

Handler = Callable[[dict[str, Any]], dict[str, Any]]
# A control request is a JSON line or a risk TOML: anything bigger is refused by libzmq.
CONTROL_MAX_MESSAGE_BYTES = 1 << 20


class ControlError(RuntimeError):
    """The engine did not answer, or answered with an error."""


class ControlServer:
    def __init__(self, context: zmq.Context, endpoint: str, handler: Handler) -> None:
        from tickbridge.engine.transport import bind_router

        self.socket = bind_router(context, endpoint, max_message_bytes=CONTROL_MAX_MESSAGE_BYTES)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._handler = handler

    def poll(self) -> int:
        handled = 0
        while True:
            try:
                parts = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return handled
            handled += 1
            if len(parts) < 3:
                continue  # not a REQ envelope: nothing to answer
            envelope, body = parts[:-1], parts[-1]
            reply = self._answer(body)
            try:
                self.socket.send_multipart([*envelope, json.dumps(reply).encode()], zmq.NOBLOCK)
            except zmq.ZMQError as e:
                log.warning("control: reply not delivered (%s)", e.strerror)

    def _answer(self, body: bytes) -> dict[str, Any]:
        try:
            request = json.loads(body)
        except ValueError as e:
            return {"ok": False, "error": f"request is not JSON: {e}"}
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            return {"ok": False, "error": 'request must be an object with a "cmd" string'}
        try:
            return self._handler(request)
        except Exception as e:  # a bad request must not take the engine down
            log.exception("control: %s failed", request.get("cmd"))
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}

    def close(self) -> None:
        self.socket.close(linger=0)


class ControlClient:
    """Synchronous client; a fresh REQ socket per request so a lost reply never wedges it."""

    def __init__(self, endpoint: str, timeout_ms: int = 3000,
                 context: zmq.Context | None = None) -> None:
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self._context = context or zmq.Context.instance()

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        socket = self._context.socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 0)
        try:
            socket.connect(self.endpoint)
            socket.send(json.dumps({"cmd": cmd, **fields}).encode())
            if not socket.poll(self.timeout_ms):
                raise ControlError(f"no answer from the engine at {self.endpoint} within "
                                   f"{self.timeout_ms} ms (not running, or hung)")
            return json.loads(socket.recv())
        finally:
            socket.close(0)
