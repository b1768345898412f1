"""``webhook``: TradingView alerts accepted per second over loopback HTTP, with the p99
answer time, against a bare Starlette endpoint that answers 200 in the same run.

What was judged the hot path: the answer path of one alert, as TradingView waits for it
(at most 3 s): read the body, parse it, check the secret and the replay window, map the
symbol to the engine's contract, claim the alert id in SQLite (synchronous=FULL: on disk
before the answer), audit, queue for routing, answer 202. Inputs judged realistic:
distinct JSON alerts (buy/sell 1 CME_MINI:ES1! market) from 32 keep-alive connections
at once, a burst far above what one TradingView account sends. A real engine (default
risk limits) and the platform simulator run meanwhile, and the router places or refuses
each alert after its answer; most are refused by the order rate limits, as a burst
should be. The load generator is a separate process (raw asyncio HTTP/1.1). The baseline
is uvicorn + Starlette answering 200 to the same requests, on the same machine, in the
same run: the ratio is the share of a bare endpoint's rate the webhook keeps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tickbridge_dev import subprocess_env
from tickbridge_dev.bench.registry import Benchmark, BenchResult

_SECRET = "bench-secret-0123456789abcdef"
_TRADINGVIEW_LIMIT_MS = 3000.0


def _load(port: int, path: str, alerts: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "tickbridge_dev.webhook.loadgen", path, str(port), str(alerts),
         str(concurrency), _SECRET], capture_output=True, text=True, check=True,
        env=subprocess_env())
    return json.loads(out.stdout)


def _bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ok(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/webhook", ok, methods=["POST"])])


def run(quick: bool) -> BenchResult:
    from tickbridge.config.webhook import WebhookConfig
    from tickbridge.webhook import ServerThread, WebhookService, create_app, uvicorn_config

    alerts, concurrency = (200, 8) if quick else (4000, 32)
    # The engine and the simulator in their own process, as `tickbridge webhook` runs
    # beside an engine in production; the webhook's router talks to it over ZeroMQ.
    bed = subprocess.Popen([sys.executable, "-m", "tickbridge_dev.webhook.testbed"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                           env=subprocess_env())
    try:
        assert bed.stdout is not None
        started = json.loads(bed.stdout.readline())
        control = started["control"]
        with tempfile.TemporaryDirectory() as tmp:
            config = WebhookConfig.model_validate({
                "port": 0, "store": str(Path(tmp) / "bench.sqlite"),
                "strategies": {"bench": {"secret": _SECRET}}})
            service = WebhookService(config, control, token=started["token"])
            service.start()
            try:
                with ServerThread(uvicorn_config(_bare_app(), config)) as bare:
                    _load(bare.port, "/webhook", 50, 4)  # warm-up
                    base = _load(bare.port, "/webhook", alerts, concurrency)
                with ServerThread(uvicorn_config(create_app(service), config)) as hook:
                    _load(hook.port, "/webhook", 50, 4)
                    ours = _load(hook.port, "/webhook", alerts, concurrency)
                    deadline = time.monotonic() + 60
                    while service.router.backlog and time.monotonic() < deadline:
                        time.sleep(0.05)
                routed = service.router.routed
            finally:
                service.close()
    finally:
        if bed.stdin is not None:
            bed.stdin.close()
        try:
            bed.wait(30)
        except subprocess.TimeoutExpired:
            bed.kill()
    accepted = ours["statuses"].get("202", 0)
    value = accepted / ours["seconds"]
    baseline = base["statuses"].get("200", 0) / base["seconds"]
    return BenchResult(
        name="webhook", value=value, unit="alerts/s", baseline="bare Starlette 200 endpoint",
        baseline_value=baseline, ratio=value / baseline,
        # p99 at least 10x inside TradingView's 3 s; keep a fifth of a bare endpoint's rate.
        targets={"ratio": 0.2, "p99_margin": 10},
        extra={"alerts": alerts, "concurrency": concurrency, "accepted": accepted,
               "statuses": ours["statuses"], "p50_ms": round(ours["p50_ms"], 2),
               "p99_ms": round(ours["p99_ms"], 2), "max_ms": round(ours["max_ms"], 2),
               "p99_margin": round(_TRADINGVIEW_LIMIT_MS / ours["p99_ms"], 1),
               "baseline_p99_ms": round(base["p99_ms"], 2), "routed": routed},
    )


BENCHMARKS = [Benchmark("webhook", "TradingView alerts/s accepted (p99 answer) vs bare "
                                   "Starlette", run)]
