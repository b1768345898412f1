"""After the answer: an accepted alert becomes control requests to the engine, in arrival
order, on one worker thread; what was placed, or why not, is stored and audited.

The engine's ``submit`` runs the same contract mapping, risk checks (session hours
included), order state machine and audit as every other order; the webhook adds nothing
to that path, it only chooses the side and quantity:

- buy / sell: the alert's quantity;
- close: the opposite of the strategy's symbol position (flat: nothing to do);
- reverse: the opposite of the position, for the position plus the alert's quantity
  (default: the position's size, i.e. from long N to short N); flat: refused;
- cancel: every working order this strategy placed (on the symbol, if one is given).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tickbridge.contracts import SymbolError
from tickbridge.engine.control import ControlError
from tickbridge.webhook.alert import Alert
from tickbridge.webhook.engine_link import EngineLink
from tickbridge.webhook.store import AlertStore
from tickbridge.webhook.symbols import SymbolMap

log = logging.getLogger("tickbridge.webhook")

Audit = Callable[..., None]


@dataclass(frozen=True)
class Job:
    alert: Alert
    alert_id: str
    received_monotonic: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Outcome:
    state: str  # placed, done (nothing needed), refused, failed
    detail: dict[str, Any]


def source_of(strategy: str) -> str:
    """The order source the engine records, and the owner ``cancel`` matches."""
    return f"webhook:{strategy}"


class AlertRouter:
    def __init__(self, engine: EngineLink, symbols: SymbolMap, store: AlertStore,
                 audit: Audit, max_delay_s: float = 10.0) -> None:
        self._engine = engine
        self._symbols = symbols
        self._store = store
        self._audit = audit
        self._max_delay_s = max_delay_s
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="webhook-router", daemon=True)
        self.routed = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Routes what is queued, then stops."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def enqueue(self, job: Job) -> None:
        self._queue.put(job)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                outcome = self.route(job)
            except Exception as e:  # one bad alert must not stop the worker
                log.exception("webhook: routing %s failed", job.alert_id)
                outcome = Outcome("failed", {"error": f"{type(e).__name__}: {e}"})
            try:
                self._store.finish(job.alert.strategy, job.alert_id, outcome.state,
                                   outcome.detail)
                self._audit("webhook_routed", strategy=job.alert.strategy,
                            alert_id=job.alert_id, alert=job.alert.describe(),
                            state=outcome.state, outcome=outcome.detail)
            except Exception:  # the store or audit failed: logged, the worker goes on
                log.exception("webhook: recording the outcome of %s failed", job.alert_id)
            self.routed += 1
            log.info("webhook: %s %s -> %s %s", job.alert.strategy, job.alert_id,
                     outcome.state, outcome.detail)

    def route(self, job: Job) -> Outcome:
        alert = job.alert
        waited = time.monotonic() - job.received_monotonic
        if waited > self._max_delay_s:
            return Outcome("refused", {"error": f"not routed within {self._max_delay_s:g} s "
                                                f"of arrival ({waited:.1f} s); too late"})
        try:
            symbol = self._platform_symbol(alert) if alert.symbol else None
            if alert.action == "cancel":
                return self._cancel(alert, symbol)
            assert symbol is not None  # the parser requires a symbol for other actions
            if alert.action in ("buy", "sell"):
                return self._submit(job, symbol, alert.action.upper(), int(alert.quantity or 0))
            return self._close_or_reverse(job, symbol)
        except SymbolError as e:
            return Outcome("refused", {"error": str(e), "suggestions": e.suggestions})
        except ControlError as e:
            return Outcome("failed", {"error": str(e)})

    def _platform_symbol(self, alert: Alert) -> str:
        symbol = self._symbols.to_platform(alert.symbol)
        if symbol is None:  # the engine's list was never known: ask now, once
            symbol = self._symbols.to_platform(alert.symbol, refresh=True)
        if symbol is None:
            raise ControlError("the engine did not answer with its symbols; nothing placed")
        return symbol

    def _submit(self, job: Job, symbol: str, side: str, quantity: int,
                why: str | None = None) -> Outcome:
        alert = job.alert
        reply = self._engine.request(
            "submit", symbol=symbol, side=side, quantity=quantity, order_type=alert.order_type,
            price=alert.price, stop_price=alert.stop_price, tif=alert.tif,
            source=source_of(alert.strategy), alert_id=job.alert_id)
        base: dict[str, Any] = {"symbol": symbol, "side": side, "quantity": quantity}
        if why:
            base["why"] = why
        if not reply.get("ok"):
            return Outcome("refused", {**base, "error": str(reply.get("error"))})
        return Outcome("placed", {**base, "client_order_id": reply["client_order_id"],
                                  "client_order_id_text": reply.get("client_order_id_text")})

    def _close_or_reverse(self, job: Job, symbol: str) -> Outcome:
        reply = self._engine.request("position", symbol=symbol)
        if not reply.get("ok"):
            return Outcome("refused", {"symbol": symbol, "error": str(reply.get("error"))})
        position = int(reply["position"])
        if position == 0:
            if job.alert.action == "close":
                return Outcome("done", {"symbol": symbol, "position": 0,
                                        "why": "already flat: nothing to close"})
            return Outcome("refused", {"symbol": symbol, "position": 0,
                                       "error": "flat: nothing to reverse (send buy or sell)"})
        side = "SELL" if position > 0 else "BUY"
        if job.alert.action == "close":
            return self._submit(job, symbol, side, abs(position),
                                why=f"close position {position}")
        extra = job.alert.quantity or abs(position)
        target = -extra if position > 0 else extra
        return self._submit(job, symbol, side, abs(position) + extra,
                            why=f"reverse position {position} to {target}")

    def _cancel(self, alert: Alert, symbol: str | None) -> Outcome:
        reply = self._engine.request("cancel", source=source_of(alert.strategy), symbol=symbol)
        detail: dict[str, Any] = {"symbol": symbol, "canceled": reply.get("canceled", [])}
        if not reply.get("ok"):
            return Outcome("refused", {**detail, "error": str(reply.get("error"))})
        return Outcome("done", detail)
