"""The engine's transport to the shims: one ZeroMQ ROUTER socket.

The engine is given a transport (this, or a test's in-memory one with the same methods:
``endpoint``, ``curve``, ``receive``, ``readable``, ``send``, ``send_queued``,
``make_pump``, ``close``), so its logic runs without sockets in the unit tests. Sending
follows ZeroMQ's error contract on both: ``zmq.Again`` when the peer cannot take more now,
``zmq.ZMQError`` (EHOSTUNREACH, ROUTER_MANDATORY) when it is gone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import zmq

from tickbridge.engine.transport import ZapHandler, bind_router, frame_pump

if TYPE_CHECKING:
    from tickbridge.engine.settings import EngineSettings


def _user_id(frame: Any) -> str:
    """The ZAP User-Id of the connection a received frame came on ("" when none): a
    pyzmq Frame, or the compiled receive path's memoryview of its ReceivedFrame."""
    try:
        if isinstance(frame, memoryview):
            return frame.obj.user_id()
        return frame.get("User-Id") if isinstance(frame, zmq.Frame) else ""
    except (zmq.ZMQError, AttributeError):
        return ""


class ShimSocket:
    def __init__(self, settings: EngineSettings, context: zmq.Context) -> None:
        self._context = context
        self.curve = settings.curve_secret_key_file is not None
        self.socket = bind_router(context, settings.endpoint,
                                  insecure=settings.insecure_bind,
                                  curve_secret_key_file=settings.curve_secret_key_file,
                                  curve_authorized_keys_dir=settings.curve_authorized_keys_dir,
                                  max_message_bytes=settings.max_message_bytes,
                                  receive_hwm=settings.receive_hwm)
        # The bound address (differs from settings.endpoint when the port was '*').
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._spin_s = settings.busy_poll_us / 1e6
        self._rcvtimeo = -1  # RCVTIMEO as last set (receive's wait)

    def make_pump(self, core: Any, session_id: int) -> Any | None:
        """The compiled receive path on this socket (frame_pump.cpp), or None."""
        return frame_pump(core, self.socket, session_id)

    def key(self, frame: Any) -> str:
        """The CURVE client key of the connection ``frame`` came on ("" without CURVE)."""
        return _user_id(frame) if self.curve else ""

    def readable(self) -> bool:
        """A message is queued (ZMQ_EVENTS: no system call)."""
        return bool(self.socket.get(zmq.EVENTS) & zmq.POLLIN)

    def wait_ms(self, timeout_ms: int, last_frame: float) -> int:
        """The wait for the first frame: after a recent frame the loop spins
        (settings.busy_poll_us) instead of sleeping in the kernel; an idle engine sleeps."""
        if timeout_ms and self._spin_s:
            spin_end = min(last_frame + self._spin_s, time.perf_counter() + timeout_ms / 1000)
            while time.perf_counter() < spin_end:
                if self.readable():
                    return 0
        return timeout_ms

    def receive(self, timeout_ms: int) -> tuple[bytes, Any, str] | None:
        """(routing id, frame, CURVE key) or None after ``timeout_ms``. A blocking receive
        (RCVTIMEO), not zmq_poll: it wakes 15-20 us sooner on a frame."""
        socket = self.socket
        if timeout_ms != self._rcvtimeo:
            socket.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._rcvtimeo = timeout_ms
        try:  # [identity, frame]: two receives, less Python than recv_multipart
            identity = socket.recv()
        except zmq.Again:
            return None
        frame = socket.recv(copy=False) if socket.rcvmore else b""
        while socket.rcvmore:  # a peer sending multipart messages: not ours to read
            socket.recv()
            frame = b""  # refused as malformed (truncated), that peer dropped
        key = self.key(frame)
        return identity, frame.buffer if frame else frame, key

    def send(self, identity: bytes, frame: bytes) -> None:
        # Two sends, not send_multipart: the same message, less Python on the way. With
        # ROUTER_MANDATORY an unroutable peer fails on the first part.
        self.socket.send(identity, zmq.SNDMORE | zmq.NOBLOCK)
        self.socket.send(frame, zmq.NOBLOCK)

    def send_queued(self, identity: bytes, frame: bytes) -> None:
        self.socket.send_multipart([identity, frame], zmq.NOBLOCK)

    def close(self) -> None:
        self.socket.close(linger=200)
        if self.curve:
            ZapHandler.release(self._context)
