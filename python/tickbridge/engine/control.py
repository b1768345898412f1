"""The engine's control socket: status, trading state, kill, risk reload and order
submission for the CLI and the webhook, on a connection of its own.

JSON over ZeroMQ (REQ client, ROUTER server): one request, one reply, always. Requests
are rare (a person or an alert), so readability beats bytes here. Every request that
changes something is audited by the engine.

    {"cmd": "status"}
    {"cmd": "dashboard"}  (the live dashboard's one read: control_view.py)
    {"cmd": "kill", "flatten": true, "account": null}
    {"cmd": "set_state", "state": "HALTED", "account": null}
    {"cmd": "submit", "symbol": "ESZ6", "side": "BUY", "quantity": 1, "order_type": "LIMIT",
     "price": 6000.25, "source": "webhook:alert-17"}
    {"cmd": "reload_risk", "toml": "..."}
    {"cmd": "symbols"}
    {"cmd": "position", "symbol": "ESZ6"}
    {"cmd": "cancel", "source": "webhook:trend", "symbol": "ESZ6"}  (or "client_order_id")

Every request also carries ``"token": "..."``, which names the caller and its role
(read, trade, risk: see control_auth.py); a request without a known token is refused
and audited. The fields are checked strictly, each error naming its field
(control_requests.py).

Replies: {"ok": true, ...} or {"ok": false, "error": "what was wrong"}.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from tickbridge.engine.control_auth import (
    OWNER,
    Caller,
    ControlAuth,
    Role,
    TokenError,
    read_token_file,
)

log = logging.getLogger("tickbridge.engine")

# (request, the authenticated caller or None) -> reply. The handler refuses and audits a
# request whose caller is None: the server decides who, the engine decides what.
Handler = Callable[[dict[str, Any], Caller | None], dict[str, Any]]
MAX_REQUEST_BYTES = 2 * 1024 * 1024


class ControlError(RuntimeError):
    """The engine did not answer, or answered with an error."""


class ControlServer:
    def __init__(self, context: zmq.Context, endpoint: str, handler: Handler, *,
                 auth: ControlAuth | None = None, insecure: bool = False) -> None:
        from tickbridge.engine.transport import bind_router

        # The same bind rule as the shims' socket: loopback or ipc, or insecure_bind (a
        # token then crosses the network in clear text: warned at every start). A request
        # is JSON or a risk TOML: anything bigger is refused by libzmq (MAXMSGSIZE).
        self.socket = bind_router(context, endpoint, insecure=insecure,
                                  max_message_bytes=MAX_REQUEST_BYTES)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._handler = handler
        # None only for an engine built without one (Engine() directly): its owner token
        # is then made in memory, held by the caller through ``auth.owner_token``.
        self.auth = auth if auth is not None else ControlAuth(
            [(OWNER, Role.RISK, secrets.token_urlsafe(32))])

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
        caller = self.auth.authenticate(request.get("token"))
        try:
            return self._handler(request, caller)
        except Exception as e:  # a bad request must not take the engine down
            log.exception("control: %s failed", request.get("cmd"))
            return {"ok": False, "error": f"internal error in {request.get('cmd')!r} "
                                          f"({type(e).__name__}; see the engine's log)"}

    def close(self) -> None:
        self.socket.close(linger=0)


class ControlClient:
    """Synchronous client; a fresh REQ socket per request so a lost reply never wedges it.

    ``token`` or ``token_file`` is the caller's credential; a token file is read at each
    request (the engine creates the owner's at start: a client made before it is fine).
    """

    def __init__(self, endpoint: str, timeout_ms: int = 3000,
                 context: zmq.Context | None = None, *, token: str | None = None,
                 token_file: str | Path | None = None) -> None:
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self._context = context or zmq.Context.instance()
        self._token = token
        self._token_file = token_file

    def token(self) -> str | None:
        if self._token is not None or self._token_file is None:
            return self._token
        try:
            return read_token_file(self._token_file)
        except TokenError as e:
            raise ControlError(str(e)) from None

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        token = self.token()
        socket = self._context.socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.IPV6, 1)  # an IPv6 endpoint connects too
        try:
            socket.connect(self.endpoint)
            body = {"cmd": cmd, **fields}
            if token is not None:
                body["token"] = token
            socket.send(json.dumps(body).encode())
            if not socket.poll(self.timeout_ms):
                raise ControlError(f"no answer from the engine at {self.endpoint} within "
                                   f"{self.timeout_ms} ms (not running, or hung)")
            return json.loads(socket.recv())
        finally:
            socket.close(0)
