"""Deadlines and a cap for the webhook's connections: uvicorn's h11 protocol, plus what
uvicorn does not have.

uvicorn bounds an idle kept-alive connection (``timeout_keep_alive``) and the size of a
request's headers (h11's ``max_incomplete_event_size``), and answers 503 beyond
``limit_concurrency`` -- but only once a request's headers have arrived. A peer that opens
a connection and sends its headers a byte at a time (slowloris), or sends nothing, or
sends its headers and then its body a byte at a time, is never closed and never counted
against a limit. So each connection here gets:

- a **header deadline**: the request line and headers complete within ``header_timeout_s``
  of the connection opening (on a kept-alive connection, of the next request's first
  byte). A deadline, not an idle timer: a byte now and then does not extend it.
- a **body deadline**: the body complete within ``body_timeout_s`` of the headers, whether
  or not the app has answered already (a 413 does not read the rest).
- a **cap**: beyond ``max_connections`` open at once, a new connection is answered 503 and
  closed before anything is read from it.

Which phase a request is in is h11's own state (``their_state``: IDLE while the headers
are coming, SEND_BODY while the body is), read after uvicorn has fed it each chunk.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("tickbridge.webhook")

# Written raw: no request has been read, so h11 has nothing to answer yet.
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
         b"content-length: 28\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
         b"too many connections, retry\n")
_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: 24\r\nconnection: close\r\n\r\nrequest not sent in time\n")

HEADER_TIMEOUT = "header_timeout"
BODY_TIMEOUT = "body_timeout"
OVER_LIMIT = "over_limit"


@dataclass
class ConnectionLimits:
    """The settings, and what they cost peers: counts summed over ``report_every_s`` and
    then logged (a warning) and passed to ``report`` (the audit log), one line per period
    however large the flood."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    report: Callable[[dict[str, int]], None] | None = None
    report_every_s: float = 10.0
    closed: Counter[str] = field(default_factory=Counter)  # since the last report
    total: Counter[str] = field(default_factory=Counter)   # since the start
    _pending: asyncio.TimerHandle | None = None

    def count(self, why: str, loop: asyncio.AbstractEventLoop) -> None:
        self.closed[why] += 1
        self.total[why] += 1
        if self._pending is None:
            self._pending = loop.call_later(self.report_every_s, self._flush)

    def _flush(self) -> None:
        self._pending = None
        counts, self.closed = dict(self.closed), Counter()
        release_memory()
        log.warning("webhook: connections closed in the last %g s: %s (header_timeout_s "
                    "%g, body_timeout_s %g, max_connections %d)", self.report_every_s,
                    ", ".join(f"{n} {why}" for why, n in sorted(counts.items())),
                    self.header_timeout_s, self.body_timeout_s, self.max_connections)
        if self.report is not None:
            try:
                self.report(counts)
            except Exception:  # the report is a record, never a reason to stop serving
                log.exception("webhook: reporting closed connections failed")


def limited_h11(limits: ConnectionLimits) -> type[H11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, bound to ``limits``."""
    return type("LimitedH11Protocol", (LimitedH11Protocol,), {"limits": limits})


class LimitedH11Protocol(H11Protocol):
    limits: ConnectionLimits  # set on the subclass ``limited_h11`` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # the deadline running: HEADER_ or BODY_TIMEOUT
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # ``connections`` holds the open ones (uvicorn adds each in connection_made).
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            self.transport = transport  # type: ignore[assignment]
            self.limits.count(OVER_LIMIT, self.loop)
            transport.write(_BUSY)  # type: ignore[attr-defined]
            transport.close()
            return
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm(HEADER_TIMEOUT)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        self._follow(received=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start the next (pipelined) request
        if not self._refused:
            self._follow(received=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refused:
            return  # never registered: nothing of uvicorn's to undo
        super().connection_lost(exc)

    def _follow(self, *, received: bool) -> None:
        """Runs the deadline of the phase h11 says the peer's request is in."""
        state = self.conn.their_state
        if state is h11.IDLE:
            # Between requests only the keep-alive timer runs; the header clock starts
            # with the next request's first byte (h11 holds it until the headers end).
            if self._phase != HEADER_TIMEOUT and (received or self.conn.trailing_data[0]):
                self._arm(HEADER_TIMEOUT)
            elif self._phase == BODY_TIMEOUT:
                self._disarm()
        elif state is h11.SEND_BODY:
            if self._phase != BODY_TIMEOUT:
                self._arm(BODY_TIMEOUT)
        else:  # DONE, MUST_CLOSE, ERROR, CLOSED: nothing more is awaited from the peer
            self._disarm()

    def _arm(self, phase: str) -> None:
        self._disarm()
        seconds = (self.limits.header_timeout_s if phase == HEADER_TIMEOUT
                   else self.limits.body_timeout_s)
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expire, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._phase = None

    def _expire(self, phase: str) -> None:
        self._deadline = None
        self._phase = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.limits.count(phase, self.loop)
        cycle = self.cycle
        answered = (self.conn.our_state is not h11.IDLE
                    and (cycle is None or cycle.response_started))
        if not answered and transport.get_write_buffer_size() == 0:
            transport.write(_TIMEOUT)
            transport.close()  # flushes the 408: it fits the socket's send buffer
        else:
            transport.abort()  # a peer that does not read must not hold us either


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Gives back to the system what a flood of connections left behind. Each closed
    asyncio transport sits in a reference cycle (it holds its own bound read callback)
    until the collector's oldest generation runs, which a quiet server may not do for a
    long time; and glibc keeps freed heap pages until asked. Run after peers were closed
    (at most once per report period): a full collection takes milliseconds here."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
