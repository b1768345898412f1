"""Peers that take their time: raw sockets that send a request a byte at a time, or not
at all, and note when the server closes them."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

# A request whose headers never end (each byte extends nothing).
ENDLESS_HEADERS = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                   + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 40) for i in range(100)))
BODY_HEADERS = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 1000\r\n\r\n")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def dribble(port: int, head: bytes, drip: bytes, interval: float,
            limit_s: float = 20.0) -> tuple[bytes, float]:
    """Sends ``head`` at once, then ``drip`` a byte per ``interval``; returns what the
    server sent and how long after the connect it closed. Fails if it has not closed
    within ``limit_s`` (the old code never did)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(interval)
    started, received = time.monotonic(), b""
    try:
        if head:
            sock.sendall(head)
        for i in range(10**6):
            if time.monotonic() - started > limit_s:
                raise AssertionError(f"the server did not close a slow connection in "
                                     f"{limit_s} s (got {received[:60]!r})")
            try:
                if drip:
                    sock.send(drip[i % len(drip):i % len(drip) + 1])
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                return received, time.monotonic() - started
            if not chunk:
                return received, time.monotonic() - started
            received += chunk
        raise AssertionError("unreachable")
    finally:
        sock.close()


@dataclass
class FloodResult:
    closed_after: list[float]  # seconds from connect to the server's close, per peer
    never_closed: int
    refused: int


async def _slow_peer(port: int, head: bytes, drip: bytes, interval: float, limit_s: float,
                     result: FloodResult) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        result.refused += 1
        return
    started = time.monotonic()
    try:
        if head:
            writer.write(head)
        i = 0
        while time.monotonic() - started < limit_s:
            writer.write(drip[i % len(drip):i % len(drip) + 1])
            i += 1
            try:
                chunk = await asyncio.wait_for(reader.read(4096), interval)
            except asyncio.TimeoutError:
                continue
            except OSError:
                chunk = b""
            if not chunk or reader.at_eof():
                result.closed_after.append(time.monotonic() - started)
                return
            # a 408 arrived: the close follows
        result.never_closed += 1
    finally:
        writer.close()


async def flood(port: int, *, header_peers: int, body_peers: int, interval: float = 1.0,
                limit_s: float = 60.0) -> FloodResult:
    """``header_peers`` sending endless headers and ``body_peers`` sending a body, one
    byte per ``interval`` each, all at once; each gives up after ``limit_s``."""
    result = FloodResult([], 0, 0)
    peers = [_slow_peer(port, b"", ENDLESS_HEADERS, interval, limit_s, result)
             for _ in range(header_peers)]
    peers += [_slow_peer(port, BODY_HEADERS, b"action=buy ", interval, limit_s, result)
              for _ in range(body_peers)]
    await asyncio.gather(*peers)
    return result
