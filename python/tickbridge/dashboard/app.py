"""The dashboard's HTTP side (Starlette): the page, its live feed, its actions.

    GET  /?token=T                    sets the session cookie, redirects to / (the token
                                      leaves the address bar and the history)
    GET  /  /static/app.js  /static/style.css      the page
    GET  /api/whoami                  the token's access (read or trade) and id
    GET  /api/view                    the latest frame, as JSON
    GET  /api/stream                  the live feed: Server-Sent Events, one frame a message
                                      (the PnL line so far with the first, then each
                                      frame's point)
    GET  /api/orders/{id}/timeline    an order's records from the audit log
    POST /api/state                   {"state": "HALTED", "account": null}     trade token
    POST /api/kill                    {"flatten": true, "account": null}       trade token:
                                      says what it will do, returns a confirmation id
    POST /api/kill/confirm            {"confirm": "<id>"}                      trade token

Every request needs a token (the cookie, ``Authorization: Bearer``, or ``?token=``):
without a good one the answer is 401 ``unauthorized`` and nothing else. A POST must come
from the page's own origin (its Origin header equal to this server's): a cross-site one
is refused with 403 before anything runs; the read token may not act (403).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tickbridge.dashboard.actions import ActionError, Actions
from tickbridge.dashboard.feed import Feed
from tickbridge.dashboard.timeline import order_timeline, parse_order_id
from tickbridge.dashboard.tokens import DashboardTokens, Holder

COOKIE = "tickbridge_dashboard"
MAX_BODY_BYTES = 4096
KEEPALIVE_S = 15.0
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}
SECURITY_HEADERS = {
    # The page's own files only; no framing (a kill button must not be clickjacked).
    "content-security-policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@dataclass
class Dashboard:
    feed: Feed
    actions: Actions
    tokens: DashboardTokens
    store: Path | None = None  # the engine's state store: order timelines
    exchange_tz: str = "America/Chicago"
    tls: bool = False  # the cookie is Secure when served over TLS


def _presented(scope: Scope) -> tuple[str | None, bool]:
    """The token the request carries, and whether it came in the query string. One
    given in the address is the one checked (a wrong one is refused even with a good
    cookie: what was asked for is what is answered), then the header, then the cookie."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "token" in query:
        return query["token"][0], True
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value, False
    return None, False


class TokenGate:
    """Every request: a known token, or 401 and nothing else."""

    def __init__(self, app: ASGIApp, tokens: DashboardTokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token, in_query = _presented(scope)
        holder = self.tokens.check(token)
        if holder is None:
            await PlainTextResponse("unauthorized", 401, headers={
                "www-authenticate": "Bearer", **SECURITY_HEADERS})(scope, receive, send)
            return
        scope.setdefault("state", {})["holder"] = holder
        scope["state"]["token_in_query"] = in_query
        await self.app(scope, receive, send)


def create_app(dashboard: Dashboard) -> ASGIApp:
    routes = [
        Route("/", _index, methods=["GET"]),
        Route("/static/{name}", _static, methods=["GET"]),
        Route("/api/whoami", _whoami, methods=["GET"]),
        Route("/api/view", _view, methods=["GET"]),
        Route("/api/stream", _stream, methods=["GET"]),
        Route("/api/orders/{order_id}/timeline", _timeline, methods=["GET"]),
        Route("/api/state", _set_state, methods=["POST"]),
        Route("/api/kill", _plan_kill, methods=["POST"]),
        Route("/api/kill/confirm", _confirm_kill, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.dashboard = dashboard
    return TokenGate(app, dashboard.tokens)


def _dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard


def _holder(request: Request) -> Holder:
    return request.state.holder


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=SECURITY_HEADERS)


async def _index(request: Request) -> Response:
    if request.state.token_in_query:
        # Into an HttpOnly, SameSite=Strict cookie and out of the address bar: the page's
        # scripts never see the token, another site's requests never carry it.
        token = request.query_params["token"]
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=_dashboard(request).tls, path="/")
        return response
    page = resources.files("tickbridge.dashboard").joinpath("static/index.html").read_text()
    return Response(page, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return _json({"ok": False, "error": "not found"}, 404)
    text = resources.files("tickbridge.dashboard").joinpath(f"static/{name}").read_text()
    return Response(text, media_type=f"{STATIC[name]}; charset=utf-8",
                    headers=SECURITY_HEADERS)


async def _whoami(request: Request) -> JSONResponse:
    holder, dashboard = _holder(request), _dashboard(request)
    return _json({"ok": True, "access": holder.access.value, "token_id": holder.token_id,
                  "exchange_tz": dashboard.exchange_tz, "accounts": dashboard.actions.accounts,
                  "display_interval_ms": round(dashboard.feed.interval_s * 1000)})


async def _view(request: Request) -> JSONResponse:
    feed = _dashboard(request).feed
    if feed.latest is None:
        return _json({"ok": False, "engine": "unknown", "error": "no frame yet"}, 503)
    return _json({**feed.latest, "pnl_line": feed.history()})


async def _stream(request: Request) -> StreamingResponse:
    feed = _dashboard(request).feed
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    client = feed.subscribe(lambda: loop.call_soon_threadsafe(wake.set))

    async def frames():
        try:
            yield "retry: 1000\n\n"
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                wake.clear()
                frame = client.take()
                if frame is None:
                    continue
                # The frame's JSON as the feed encoded it, closed with this browser's
                # counts (and, the first time, the PnL line so far).
                extra = f'"client":{{"dropped":{client.dropped},"sent":{client.sent}}}'
                if client.sent == 1:
                    extra += f',"pnl_line":{json.dumps(feed.history())}'
                yield f"data: {frame[:-1]},{extra}}}\n\n"
        finally:
            feed.unsubscribe(client)

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={**SECURITY_HEADERS, "x-accel-buffering": "no"})


async def _timeline(request: Request) -> JSONResponse:
    dashboard = _dashboard(request)
    try:
        coid = parse_order_id(request.path_params["order_id"])
    except ValueError as e:
        return _json({"ok": False, "error": str(e)}, 400)
    if dashboard.store is None:
        return _json({"ok": False, "error": "no state store: no audit log to read"}, 404)
    try:
        records = await run_in_threadpool(order_timeline, dashboard.store, coid)
    except (OSError, ValueError, sqlite3.Error) as e:
        return _json({"ok": False, "error": f"audit log: {e}"}, 503)
    return _json({"ok": True, "client_order_id": f"TB{coid:016X}", "records": records})


def _same_origin(request: Request) -> bool:
    """The request's Origin is this server's own (scheme, host and port)."""
    origin = request.headers.get("origin")
    if origin is None or request.headers.get("sec-fetch-site") not in (None, "same-origin"):
        return False
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _act(request: Request, action: str) -> JSONResponse:
    if not _same_origin(request):
        return _json({"ok": False, "error": "cross-origin request refused"}, 403)
    holder = _holder(request)
    if not holder.may_trade:
        return _json({"ok": False, "error": "this token may only read"}, 403)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _json({"ok": False, "error": f"body over {MAX_BODY_BYTES} bytes"}, 413)
    try:
        fields = json.loads(body or b"{}")
    except ValueError:
        return _json({"ok": False, "error": "body: not JSON"}, 400)
    if not isinstance(fields, dict):
        return _json({"ok": False, "error": "body: must be a JSON object"}, 400)
    actions = _dashboard(request).actions
    method = {"state": actions.set_state, "kill": actions.plan_kill,
              "confirm": actions.confirm_kill}[action]
    try:
        answer = await run_in_threadpool(method, holder, fields)
    except ActionError as e:
        return _json({"ok": False, "error": str(e)}, 400)
    except Exception as e:  # the engine did not answer: said, with what to do
        return _json({"ok": False, "error": f"{type(e).__name__}: {e}"}, 502)
    return _json(answer, 200 if answer.get("ok") else 409)


async def _set_state(request: Request) -> JSONResponse:
    return await _act(request, "state")


async def _plan_kill(request: Request) -> JSONResponse:
    return await _act(request, "kill")


async def _confirm_kill(request: Request) -> JSONResponse:
    return await _act(request, "confirm")
