"""The strategies: each called with what concerns it, a failure contained and audited."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from tickbridge.engine.bus import ArmedOrderFired, FillForStrategy, OrderChanged
from tickbridge.engine.events import bar_from_event
from tickbridge.engine.strategy import Context, Strategy

log = logging.getLogger("tickbridge.engine")


class StrategyHost:
    def __init__(self, strategies: Iterable[Strategy], router: Any, *,
                 map_symbol: Callable[[str], str | None], audit: Callable[..., None]) -> None:
        self.strategies = list(strategies)
        self.contexts = {s.name: Context(router, s) for s in self.strategies}
        self._map_symbol = map_symbol
        self._audit = audit
        self.bars = 0

    def start(self) -> None:
        for strategy in self.strategies:
            self._call(strategy, "on_start")

    def stop(self) -> None:
        for strategy in self.strategies:
            self._call(strategy, "on_stop")

    def on_instrument(self, symbol: str) -> None:
        for strategy in self.strategies:
            if self._wants(strategy, symbol):
                self._call(strategy, "on_instrument", symbol)

    def on_signal(self, event: Any) -> None:
        signal = bar_from_event(event)
        is_bar = event.is_bar
        self.bars += is_bar
        for strategy in self.strategies:
            if self._wants(strategy, signal.symbol):
                self._call(strategy, "on_bar" if is_bar else "on_trigger", signal)

    def on_order(self, event: OrderChanged) -> None:
        self._to_owner(event.strategy, "on_order", event.update)

    def on_fill(self, event: FillForStrategy) -> None:
        self._to_owner(event.strategy, "on_fill", event.fill)

    def on_armed(self, event: ArmedOrderFired) -> None:
        self._to_owner(event.strategy, "on_armed", event.fired)

    def _to_owner(self, name: str | None, method: str, payload: Any) -> None:
        for strategy in self.strategies:
            if strategy.name == name:
                self._call(strategy, method, payload)

    def _wants(self, strategy: Strategy, symbol: str) -> bool:
        """By the platform's symbol (``ESZ6``) or the configured one it maps to (``ES``)."""
        if strategy.wants(symbol):
            return True
        configured = self._map_symbol(symbol)
        return configured is not None and strategy.wants(configured)

    def _call(self, strategy: Strategy, method: str, *args: Any) -> None:
        try:
            getattr(strategy, method)(self.contexts[strategy.name], *args)
        except Exception:  # a strategy bug must not take the engine down
            log.exception("strategy %s failed in %s", strategy.name, method)
            self._audit("strategy_error", strategy=strategy.name, callback=method)
