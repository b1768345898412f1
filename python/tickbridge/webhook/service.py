"""The webhook's parts, wired: config, alert store, audit log, engine link, router."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from tickbridge.config.webhook import WebhookConfig
from tickbridge.engine.control import ControlError
from tickbridge.store import StateStore
from tickbridge.webhook.auth import SourceAllowList
from tickbridge.webhook.engine_link import EngineLink
from tickbridge.webhook.router import AlertRouter
from tickbridge.webhook.store import AlertStore
from tickbridge.webhook.symbols import SymbolMap

log = logging.getLogger("tickbridge.webhook")

# The symbol list is asked on the answer path: it must never cost TradingView's 3 s.
SYMBOLS_TIMEOUT_MS = 250


class WebhookService:
    def __init__(self, config: WebhookConfig, engine_control: str, *,
                 clock_ns: Callable[[], int] = time.time_ns,
                 token: str | Callable[[], str | None] | None = None) -> None:
        self.config = config
        self.clock_ns = clock_ns
        self.sources = SourceAllowList(config.allowed_sources)
        self.store = AlertStore(config.store)
        # The audit log shares the file: one place for a webhook's whole story, verifiable
        # with `tickbridge audit verify --db FILE` like the engine's.
        self.audit_log = StateStore(config.store)
        self.engine = EngineLink(engine_control, timeout_ms=config.engine_timeout_ms,
                                 token=token)
        quick = EngineLink(engine_control, timeout_ms=SYMBOLS_TIMEOUT_MS, token=token)
        self._quick = quick
        self.symbols = SymbolMap(lambda patient: _symbols(self.engine if patient else quick))
        self.router = AlertRouter(self.engine, self.symbols, self.store, self.audit,
                                  max_delay_s=config.max_route_delay_s)
        self.engine_control = engine_control

    def start(self) -> None:
        abandoned = self.store.abandon_unrouted()
        if abandoned:
            log.warning("webhook: %d alerts were accepted but never routed before the last "
                        "stop; marked failed, nothing placed for them", abandoned)
            self.audit("webhook_abandoned", count=abandoned)
        symbols = self.symbols.platform_symbols()  # so the first alert need not ask
        if symbols is None:
            log.warning("webhook: the engine at %s does not answer (yet); alerts are "
                        "accepted and will fail until it does", self.engine_control)
        self.audit("webhook_start", engine_control=self.engine_control,
                   strategies=sorted(self.config.strategies), tls=self.config.tls)
        self.router.start()

    def close(self) -> None:
        self.router.stop()
        self.audit("webhook_stop", routed=self.router.routed)
        self.audit_log.close()
        self.store.close()
        self.engine.close()
        self._quick.close()

    def audit(self, kind: str, **payload: Any) -> None:
        self.audit_log.audit(kind, payload)


def _symbols(client: EngineLink) -> list[str]:
    reply = client.request("symbols")
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error")))
    return [str(s) for s in reply["symbols"]]
