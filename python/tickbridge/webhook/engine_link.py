"""The router's connection to the engine's control socket: one REQ socket kept open (a
burst of alerts must not cost a TCP connect each), replaced when an answer is late so a
lost reply never wedges it (ZeroMQ's "lazy pirate" pattern). Same requests and replies
as ``tickbridge.engine.control.ControlClient``, with the same credential: ``token``, a
control client's with the trade role (docs/security.md), or a function that
reads it at each request (an owner token file the engine creates when it starts)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import zmq

from tickbridge.engine.control import ControlError


class EngineLink:
    def __init__(self, endpoint: str, timeout_ms: int = 3000,
                 context: zmq.Context | None = None, *,
                 token: str | Callable[[], str | None] | None = None) -> None:
        self.endpoint = endpoint
        self._token = token
        self.timeout_ms = timeout_ms
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket | None = None
        self._lock = threading.Lock()  # one request in flight: REQ is strictly send/recv

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            if self._socket is None:
                self._socket = self._context.socket(zmq.REQ)
                self._socket.setsockopt(zmq.LINGER, 0)
                self._socket.setsockopt(zmq.IPV6, 1)  # an IPv6 endpoint connects too
                self._socket.connect(self.endpoint)
            socket = self._socket
            body = {"cmd": cmd, **fields}
            token = self._token() if callable(self._token) else self._token
            if token is not None:
                body["token"] = token
            socket.send(json.dumps(body).encode())
            if not socket.poll(self.timeout_ms):
                socket.close(0)  # a REQ waiting for a reply cannot send again: start over
                self._socket = None
                raise ControlError(f"no answer from the engine at {self.endpoint} within "
                                   f"{self.timeout_ms} ms (not running, or hung)")
            return json.loads(socket.recv())

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close(0)
                self._socket = None
