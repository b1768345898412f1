"""A loopback load generator for the webhook benchmark, run as its own process so it does
not share the server's interpreter lock:

    python -m tickbridge_dev.webhook.loadgen URL_PATH PORT ALERTS CONCURRENCY SECRET

Each of CONCURRENCY keep-alive HTTP/1.1 connections posts its share of ALERTS one after
the other (each with a unique alert id and a fresh timestamp, as TradingView would) and
times each answer. Prints one JSON line: statuses, seconds, latencies' percentiles.
Raw asyncio streams, not an HTTP client library: the generator must cost less than
what it measures.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any


async def _connection(port: int, path: str, bodies: list[bytes], latencies: list[float],
                      statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    f"application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            start = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            statuses[status] += 1
    finally:
        writer.close()


def _bodies(n: int, secret: str, tag: str) -> list[bytes]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return [json.dumps({"strategy": "bench", "secret": secret, "action": "buy" if i % 2 else
                        "sell", "symbol": "CME_MINI:ES1!", "quantity": 1,
                        "order_type": "market", "alert_id": f"{tag}-{i}",
                        "timestamp": stamp}).encode() for i in range(n)]


async def run(port: int, path: str, alerts: int, concurrency: int, secret: str
              ) -> dict[str, Any]:
    bodies = _bodies(alerts, secret, f"bench{os.getpid()}-{time.time_ns()}")
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    shares = [bodies[i::concurrency] for i in range(concurrency)]
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, path, share, latencies, statuses)
                           for share in shares))
    seconds = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"statuses": {str(k): v for k, v in statuses.items()}, "seconds": seconds,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000}


def main(argv: list[str]) -> int:
    path, port, alerts, concurrency, secret = argv[0], int(argv[1]), int(argv[2]), \
        int(argv[3]), argv[4]
    print(json.dumps(asyncio.run(run(port, path, alerts, concurrency, secret))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
