"""The engine's shim-facing socket: a ROUTER on loopback by default; anything else needs
ZeroMQ CURVE keys or an explicit insecure flag, which is warned about at every start.

With CURVE the socket is a CURVE server and every connection is authenticated by a ZAP
handler (pyzmq's zmq.auth ThreadAuthenticator) against the public keys in
``curve_authorized_keys_dir``: a client key not there never completes the handshake, so
it never gets a frame in or out. The handler gives each connection the client's z85
public key as its ZeroMQ "User-Id" message property; the engine binds accounts to keys
with it (docs/security.md)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from tickbridge.config.webhook import is_loopback_host

log = logging.getLogger("tickbridge.engine")

# The ZAP domain of the shim socket: the authenticator's allow-list for it is kept apart
# from any other socket's (a control socket may use the same context's handler).
SHIM_ZAP_DOMAIN = "tickbridge-shim"


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
    """True for ipc://, inproc:// and tcp:// on 127.0.0.0/8, ::1 (or ::ffff:127.x) or
    localhost."""
    parts = urlsplit(endpoint)
    if parts.scheme in ("ipc", "inproc"):
        return True
    return is_loopback_host(parts.hostname or "")


class ZapHandler:
    """One zmq.auth ThreadAuthenticator per ZeroMQ context (libzmq allows a single ZAP
    handler per context: it binds inproc://zeromq.zap.01), shared by every socket of the
    context that needs one, each under its own ZAP domain; stopped when the last user
    releases it."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _by_context: ClassVar[dict[int, tuple[ThreadAuthenticator, int]]] = {}

    @classmethod
    def acquire(cls, context: zmq.Context) -> ThreadAuthenticator:
        with cls._lock:
            auth, users = cls._by_context.get(id(context), (None, 0))
            if auth is None:
                auth = cls._start(context)
            cls._by_context[id(context)] = (auth, users + 1)
            return auth

    @staticmethod
    def _start(context: zmq.Context) -> ThreadAuthenticator:
        # A handler stopped just before (an engine closed and another made in the same
        # process) unbinds inproc://zeromq.zap.01 asynchronously: wait for it, briefly.
        deadline = time.monotonic() + 5.0
        while True:
            auth = ThreadAuthenticator(context, log=logging.getLogger("tickbridge.zap"))
            try:
                auth.start()
                return auth
            except zmq.ZMQError as e:
                auth.stop()
                if e.errno != zmq.EADDRINUSE or time.monotonic() >= deadline:
                    raise BindRefused(f"cannot start the ZAP handler: {e.strerror} (another "
                                      "ZAP handler in this process's ZeroMQ context?)") from e
                time.sleep(0.01)

    @classmethod
    def release(cls, context: zmq.Context) -> None:
        with cls._lock:
            auth, users = cls._by_context.get(id(context), (None, 0))
            if auth is None:
                return
            if users <= 1:
                del cls._by_context[id(context)]
                auth.stop()
            else:
                cls._by_context[id(context)] = (auth, users - 1)


def authorized_keys(directory: Path) -> dict[str, str]:
    """The allow-list: z85 public key -> certificate name (file stem), from the *.key
    files in ``directory`` (zmq.auth's format, made by `tickbridge keys create`)."""
    if not directory.is_dir():
        raise BindRefused(f"curve_authorized_keys_dir {directory}: not a directory")
    keys: dict[str, str] = {}
    for path in sorted(directory.glob("*.key")):
        try:
            public, _ = zmq.auth.load_certificate(str(path))
        except (OSError, ValueError) as e:
            raise BindRefused(f"curve_authorized_keys_dir: {path}: {e}") from e
        keys[public.decode("ascii")] = path.stem
    return keys


def bind_router(
    context: zmq.Context,
    endpoint: str,
    *,
    insecure: bool = False,
    curve_secret_key_file: Path | None = None,
    curve_authorized_keys_dir: Path | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    receive_hwm: int = RECEIVE_HWM,
) -> zmq.Socket:
    """The shim ROUTER. With ``curve_secret_key_file`` a CURVE server whose clients must
    hold a key in ``curve_authorized_keys_dir`` (required with it): the caller owns a
    ZapHandler reference then and releases it after closing the socket."""
    socket = context.socket(zmq.ROUTER)
    socket.setsockopt(zmq.LINGER, 200)
    socket.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
    # Without ROUTER_MANDATORY a frame to a departed peer is dropped silently; with it
    # the send fails and the engine knows the command did not go out.
    socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
    socket.setsockopt(zmq.SNDHWM, 100_000)
    socket.setsockopt(zmq.RCVHWM, receive_hwm)  # before bind: libzmq copies it then
    socket.setsockopt(zmq.IPV6, 1)  # tcp://[::1]:P and [::] bind (IPv4 addresses still do)
    if curve_secret_key_file is not None:
        try:
            if curve_authorized_keys_dir is None:
                raise BindRefused("curve_secret_key_file without curve_authorized_keys_dir: "
                                  "CURVE would let any client key in")
            allowed = authorized_keys(curve_authorized_keys_dir)
            try:
                public, secret = zmq.auth.load_certificate(str(curve_secret_key_file))
            except (OSError, ValueError) as e:
                raise BindRefused(f"curve_secret_key_file {curve_secret_key_file}: {e}") from e
            if secret is None:
                raise BindRefused(f"curve_secret_key_file {curve_secret_key_file}: no secret "
                                  "key in this certificate file")
        except BindRefused:
            socket.close(0)
            raise
        if not allowed:
            log.warning("curve_authorized_keys_dir %s holds no *.key file: no shim can "
                        "connect", curve_authorized_keys_dir)
        # The handler first, so no connection is ever let in unauthenticated.
        try:
            auth = ZapHandler.acquire(context)
        except BindRefused:
            socket.close(0)
            raise
        auth.configure_curve(domain=SHIM_ZAP_DOMAIN, location=str(curve_authorized_keys_dir))
        socket.zap_domain = SHIM_ZAP_DOMAIN.encode()
        socket.curve_publickey = public
        socket.curve_secretkey = secret
        socket.curve_server = True
        log.info("shim socket: CURVE, %d authorized client key(s) from %s", len(allowed),
                 curve_authorized_keys_dir)
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
        if curve_secret_key_file is not None:
            ZapHandler.release(context)
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
