"""The engine's shim-facing socket: a ROUTER on loopback by default; anything else needs
ZeroMQ CURVE keys or an explicit insecure flag, which is warned about at every start."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zmq
import zmq.auth

log = logging.getLogger("tickbridge.engine")


# The protocol's largest legal frame (protocol.hpp kMaxFrameBytes): libzmq refuses a
# bigger message (ZMQ_MAXMSGSIZE) and drops that connection before buffering it.
MAX_MESSAGE_BYTES = 4 << 20
# Messages libzmq buffers per connection before it stops reading that peer's socket (the
# sender then waits or queues on its side). Per connection, so a peer that opens many
# connections and floods them holds at most connections * this many messages here.
RECEIVE_HWM = 100


class BindRefused(ValueError):
    """The endpoint may not be bound as configured."""


def is_loopback(endpoint: str) -> bool:
    """True for ipc://, inproc:// and tcp:// on 127.0.0.0/8, ::1 or localhost."""
    parts = urlsplit(endpoint)
    if parts.scheme in ("ipc", "inproc"):
        return True
    host = (parts.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # '*' or an interface name: every interface


def bind_router(
    context: zmq.Context,
    endpoint: str,
    *,
    insecure: bool = False,
    curve_secret_key_file: Path | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    receive_hwm: int = RECEIVE_HWM,
) -> zmq.Socket:
    socket = context.socket(zmq.ROUTER)
    socket.setsockopt(zmq.LINGER, 200)
    socket.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
    # Without ROUTER_MANDATORY a frame to a departed peer is dropped silently; with it
    # the send fails and the engine knows the command did not go out.
    socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
    socket.setsockopt(zmq.SNDHWM, 100_000)
    socket.setsockopt(zmq.RCVHWM, receive_hwm)  # before bind: libzmq copies it then
    if curve_secret_key_file is not None:
        public, secret = zmq.auth.load_certificate(str(curve_secret_key_file))
        if secret is None:
            raise BindRefused(f"{curve_secret_key_file}: no secret key in this certificate file")
        socket.curve_publickey = public
        socket.curve_secretkey = secret
        socket.curve_server = True
    elif not is_loopback(endpoint):
        if not insecure:
            socket.close(0)
            raise BindRefused(
                f"{endpoint} is not a loopback address: give CURVE keys "
                "(curve_secret_key_file) or set insecure_bind to accept unencrypted, "
                "unauthenticated connections"
            )
        log.warning("INSECURE: %s is bound without CURVE; anyone who reaches it can trade",
                    endpoint)
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as e:
        socket.close(0)
        raise BindRefused(f"cannot bind {endpoint}: {e.strerror}") from e
    return socket


def frame_pump(core: Any, socket: zmq.Socket, session_id: int) -> Any | None:
    """The compiled receive path on this socket, or None (warned) when it cannot be had:
    built without zmq.h, or pyzmq's libzmq not found in the process (not Linux, or
    linked statically into pyzmq). The engine then reads frames in Python."""
    from tickbridge._core.engine import FramePump

    if FramePump is None:
        log.warning("compiled receive path not built (no zmq.h at build time): frames "
                    "are read in Python")
        return None
    try:
        return FramePump(core, socket.underlying, session_id, *zmq.zmq_version_info())
    except RuntimeError as error:
        log.warning("compiled receive path unavailable (%s): frames are read in Python", error)
        return None
