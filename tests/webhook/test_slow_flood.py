"""1,500 slow connections against a real ``tickbridge webhook`` process: every one is
closed by its deadline, a good request is answered meanwhile, and the server's memory
comes back to where it was."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.waiting import wait_until

from .conftest import SECRET
from .slow_clients import FloodResult, flood, rss_mb

HEADER_PEERS, BODY_PEERS = 1000, 500
TIMEOUT_S = 3.0


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "c.toml"
    path.write_text(
        f'[[accounts]]\nname = "SIM101"\nmode = "paper"\n\n[webhook]\nport = {port}\n'
        f'store = "{tmp_path / "hook.sqlite"}"\nengine_timeout_ms = 200\n'
        f"header_timeout_s = {TIMEOUT_S}\nbody_timeout_s = {TIMEOUT_S}\n"
        f"max_connections = 2000\n\n[webhook.strategies.trend]\nsecret = \"{SECRET}\"\n")
    proc = subprocess.Popen([sys.executable, "-m", "tickbridge", "webhook", "--config",
                             str(path), "--engine-control", "tcp://127.0.0.1:9",
                             "--log-level", "WARNING"])
    return proc, port


def _health(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    except httpx.TransportError:
        return False


async def _flood_while_watching(pid: int, port: int) -> tuple[FloodResult, float, int]:
    """The flood; meanwhile the peak RSS, and a good request once the flood is in."""
    peak, done = 0.0, asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.25)

    async def good_request() -> int:
        await asyncio.sleep(2.0)  # the slow peers are connected by now
        async with httpx.AsyncClient(timeout=20) as client:
            return (await client.get(f"http://127.0.0.1:{port}/health")).status_code

    watcher = asyncio.create_task(watch())
    good = asyncio.create_task(good_request())
    result = await flood(port, header_peers=HEADER_PEERS, body_peers=BODY_PEERS,
                         interval=1.0, limit_s=60.0)
    done.set()
    await watcher
    return result, peak, await good


def test_slow_connection_flood_is_closed_and_memory_returns(tmp_path):
    proc, port = _start(tmp_path)
    try:
        wait_until(lambda: _health(port) or proc.poll() is not None, timeout=30)
        assert proc.poll() is None
        # The CLI put itself on glibc's malloc, whose free pages can be given back.
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        assert b"PYTHONMALLOC=malloc" in environ
        for _ in range(20):  # warm: the answer path has run
            _health(port)
        time.sleep(1.0)
        before = rss_mb(proc.pid)
        result, peak, good = asyncio.run(_flood_while_watching(proc.pid, port))
        # Every peer was closed by the server, none outlived its deadline by much (the
        # peers would have gone on for 60 s), and a good request got through meanwhile.
        assert (result.never_closed, result.refused) == (0, 0)
        assert len(result.closed_after) == HEADER_PEERS + BODY_PEERS
        assert max(result.closed_after) < TIMEOUT_S + 20
        assert good == 200
        # Memory comes back (the server gives it back after its next report of closed
        # peers, 10 s after the first): within 10% of before.
        wait_until(lambda: rss_mb(proc.pid) <= before * 1.10, timeout=60)
        after = rss_mb(proc.pid)
        print(f"\nslow flood: {HEADER_PEERS} header + {BODY_PEERS} body peers, RSS before "
              f"{before:.1f} MB, peak {peak:.1f} MB, after {after:.1f} MB; closed after "
              f"{min(result.closed_after):.2f}-{max(result.closed_after):.2f} s")
        assert _health(port)
        # Audited: counts per 10 s period, not a row per peer.
        wait_until(lambda: _closed_totals(tmp_path / "hook.sqlite") ==
                 {"header_timeout": HEADER_PEERS, "body_timeout": BODY_PEERS}, timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def _closed_totals(db: Path) -> dict[str, int]:
    from tickbridge.audit import read_records
    from tickbridge.store.connection import open_reader

    totals: dict[str, int] = {}
    with open_reader(db) as conn:
        for record in read_records(conn, kinds=["webhook_connections_closed"]):
            for why, n in record.data.items():
                totals[why] = totals.get(why, 0) + n
    return totals
