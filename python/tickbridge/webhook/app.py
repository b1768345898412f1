"""The HTTP side: Starlette routes that answer an alert in milliseconds and leave the
routing to the worker (``router.py``).

    POST /webhook                      strategy and secret in the body
    POST /webhook/{strategy}           secret in the body
    POST /webhook/{strategy}/{secret}  secret in the path (keeps it out of the message)
    GET  /alerts/{strategy}/{alert_id} what happened (header X-Tickbridge-Secret)
    GET  /health

Order of checks, each answered at once: source allow-list (403), header size (431), body
size (413), body (400 naming the field), secret / signature / replay window (401), symbol
(422 with suggestions), then the idempotent claim (202 the first time; the same answer
again for a repeat of the same body, with ``Idempotent-Replayed: true``; 409 for the same
alert id with another body).

Slow peers are closed before any of this runs (``connection_limits.py``); a body cut off
by its deadline reaches the app as a client disconnect and is dropped here, unanswered.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tickbridge.contracts import SymbolError
from tickbridge.webhook.alert import Alert, AlertError, parse_alert
from tickbridge.webhook.auth import (
    SIGNATURE_HEADER,
    AuthFailure,
    check_fresh,
    check_secret,
    check_signature,
)
from tickbridge.webhook.router import Job
from tickbridge.webhook.service import WebhookService

SECRET_HEADER = "x-tickbridge-secret"
_AUTH_ANSWER = {401: "unauthorized", 403: "forbidden"}


class _TooLarge(Exception):
    pass


def create_app(service: WebhookService) -> Starlette:
    routes = [
        Route("/webhook", _receive, methods=["POST"]),
        Route("/webhook/{strategy}", _receive, methods=["POST"]),
        Route("/webhook/{strategy}/{secret}", _receive, methods=["POST"]),
        Route("/alerts/{strategy}/{alert_id}", _query, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.service = service
    return app


async def _receive(request: Request) -> JSONResponse:
    service: WebhookService = request.app.state.service
    client = request.client.host if request.client else None
    path_strategy = request.path_params.get("strategy")
    try:
        service.sources.check(client)
    except AuthFailure as e:
        return _refuse_auth(service, e, client, path_strategy, None)
    header_bytes = _header_bytes(request)
    if header_bytes > service.config.max_header_bytes:
        # h11 refuses headers that grow past the limit while incomplete; a block that
        # arrived whole in one read was parsed whole, and is refused here.
        service.audit("webhook_refused", status=431, client=client, strategy=path_strategy,
                      reason=f"headers {header_bytes} bytes, over "
                             f"{service.config.max_header_bytes}")
        return _error(431, f"request line and headers larger than "
                           f"{service.config.max_header_bytes} bytes",
                      headers={"connection": "close"})
    try:
        body = await _read_body(request, service.config.max_body_bytes)
    except _TooLarge:
        service.audit("webhook_refused", status=413, client=client, strategy=path_strategy,
                      reason=f"body over {service.config.max_body_bytes} bytes")
        # Closed after the answer: the rest of the body is not read, so the connection
        # could not serve another request anyway.
        return _error(413, f"body larger than {service.config.max_body_bytes} bytes",
                      headers={"connection": "close"})
    except ClientDisconnect:  # gone, or cut off by body_timeout_s: no one to answer
        return _error(400, "the body did not arrive")
    try:
        alert = parse_alert(body, strategy=path_strategy)
    except AlertError as e:
        service.audit("webhook_refused", status=400, client=client, strategy=path_strategy,
                      field=e.field, reason=str(e))
        return _error(400, str(e), field=e.field)
    try:
        _authenticate(service, request, alert, body)
    except AuthFailure as e:
        return _refuse_auth(service, e, client, alert.strategy, alert.alert_id)
    except AlertError as e:
        service.audit("webhook_refused", status=400, client=client, strategy=alert.strategy,
                      field=e.field, reason=str(e))
        return _error(400, str(e), field=e.field)
    platform_symbol = None
    if alert.symbol:
        try:
            if service.symbols.fresh:  # the usual case: no engine round trip
                platform_symbol = service.symbols.to_platform(alert.symbol)
            else:
                platform_symbol = await run_in_threadpool(service.symbols.to_platform,
                                                          alert.symbol)
        except SymbolError as e:
            service.audit("webhook_refused", status=422, client=client,
                          strategy=alert.strategy, alert_id=alert.alert_id, reason=str(e))
            return _error(422, str(e), field="symbol", suggestions=e.suggestions)
    alert_id = alert.alert_id or _body_key(body, alert)
    answer: dict[str, Any] = {
        "ok": True, "status": "accepted", "strategy": alert.strategy, "alert_id": alert_id,
        "action": alert.action, "symbol": platform_symbol or alert.symbol or None,
        "quantity": alert.quantity, "order_type": alert.order_type,
        "query": f"/alerts/{alert.strategy}/{alert_id}",
    }
    claim = await asyncio.wrap_future(service.store.claim_async(alert.strategy, alert_id, 202,
                                                                answer, body))
    if claim.conflict:
        # The id was used for another alert: neither a repeat to answer as the first nor
        # a new alert to route. Most often a template whose alert_id repeats (e.g.
        # {{strategy.order.id}} alone); the sender must hear it, not get a silent 202.
        service.audit("webhook_conflict", status=409, client=client, strategy=alert.strategy,
                      alert_id=alert_id, alert=alert.describe(),
                      body_sha256=hashlib.sha256(body).hexdigest(),
                      first_body_sha256=claim.first_body_sha256)
        return _error(409, f"alert_id {alert_id!r} was already used for a different alert "
                           "body; nothing placed for this one (give each alert its own id)",
                      field="alert_id")
    if claim.first:
        service.router.enqueue(Job(alert, alert_id))
        service.audit("webhook_alert", client=client, strategy=alert.strategy,
                      alert_id=alert_id, alert=alert.describe())
        return JSONResponse(claim.answer, status_code=claim.http_status)
    service.audit("webhook_duplicate", client=client, strategy=alert.strategy,
                  alert_id=alert_id)
    return JSONResponse(claim.answer, status_code=claim.http_status,
                        headers={"Idempotent-Replayed": "true"})


def _authenticate(service: WebhookService, request: Request, alert: Alert, body: bytes) -> None:
    presented = request.path_params.get("secret") or alert.secret
    config = check_secret(service.config.strategies, alert.strategy, presented)
    check_signature(config, body, request.headers.get(SIGNATURE_HEADER))
    window = service.config.replay_window_s
    if window > 0:
        if alert.timestamp_ns is None:
            raise AlertError("timestamp", f"required (the replay window is {window:g} s); "
                                          "TradingView: \"timestamp\": \"{{timenow}}\"")
        check_fresh(alert.timestamp_ns, service.clock_ns(), window)


def _body_key(body: bytes, alert: Alert) -> str:
    """No alert id: the body and its timestamp identify the alert."""
    digest = hashlib.sha256(body + b"|" + str(alert.timestamp_ns).encode()).hexdigest()
    return f"sha256-{digest[:32]}"


def _header_bytes(request: Request) -> int:
    """The request line and headers as sent, give or take the spaces around values."""
    scope = request.scope
    line = len(scope["method"]) + len(scope["raw_path"]) + len(scope["query_string"]) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"]) + 2


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked or lying about its length: stop reading
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_auth(service: WebhookService, failure: AuthFailure, client: str | None,
                 strategy: str | None, alert_id: str | None) -> JSONResponse:
    service.audit("webhook_auth_failure", status=failure.status, client=client,
                  strategy=(strategy or "")[:64] or None, alert_id=alert_id,
                  reason=failure.reason)
    return _error(failure.status, _AUTH_ANSWER[failure.status])


async def _query(request: Request) -> JSONResponse:
    service: WebhookService = request.app.state.service
    strategy = request.path_params["strategy"]
    config = service.config.strategies.get(strategy)
    presented = request.headers.get(SECRET_HEADER, "")
    allowed = config is not None and hmac.compare_digest(
        presented.encode(), config.secret.get_secret_value().encode())
    record = None
    if allowed:
        record = await run_in_threadpool(service.store.get, strategy,
                                         request.path_params["alert_id"])
    if record is None:  # unknown, or not yours: the same answer
        return _error(404, "not found")
    return JSONResponse({"ok": True, **record.as_json()})


async def _health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def _error(status: int, message: str, headers: dict[str, str] | None = None,
           **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, **extra}, status_code=status,
                        headers=headers)
