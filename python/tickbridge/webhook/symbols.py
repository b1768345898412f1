"""TradingView symbols to the platform symbols the engine trades.

``ES1!``, ``CME_MINI:ES1!`` and ``MNQZ2026`` are resolved to a contract by
``tickbridge.contracts`` (today's front month for continuous symbols), then matched to the
platform symbol of the same contract among those the engine's shims define (``ESZ6`` at
the simulator, ``ES 12-26`` at NinjaTrader, ``ESZ26-CME`` at Sierra Chart).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import date

from tickbridge.contracts import SymbolError, resolve


class SymbolMap:
    """``fetch(patient)`` asks the engine for its platform symbols (``patient``: with the
    full engine timeout, off the answer path); the answer is kept ``ttl_s``."""

    def __init__(self, fetch: Callable[[bool], list[str]], ttl_s: float = 5.0,
                 today: Callable[[], date] = date.today) -> None:
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._today = today
        self._lock = threading.Lock()
        self._symbols: list[str] | None = None
        self._fetched = -math.inf  # never asked
        self._codes: dict[tuple[str, date], str] = {}

    @property
    def fresh(self) -> bool:
        """Asked within the ttl (answered or not): ``to_platform`` will not ask again."""
        return time.monotonic() - self._fetched < self._ttl_s

    def platform_symbols(self, refresh: bool = False) -> list[str] | None:
        """The engine's symbols, or None when the engine cannot be asked just now."""
        with self._lock:
            if not refresh and time.monotonic() - self._fetched < self._ttl_s:
                return self._symbols  # None: the engine did not answer a moment ago
        try:
            symbols = self._fetch(refresh)
        except Exception:
            with self._lock:  # not asked again before the ttl: a dead engine costs once
                self._fetched = time.monotonic()
                return self._symbols  # the last known list (None if never known)
        with self._lock:
            self._symbols, self._fetched = list(symbols), time.monotonic()
        return self._symbols

    def contract_code(self, symbol: str) -> str:
        """``ESZ26`` for ``CME_MINI:ES1!`` today; SymbolError with suggestions if unknown."""
        key = (symbol, self._today())
        code = self._codes.get(key)
        if code is None:
            code = resolve(symbol, on=key[1]).code
            if len(self._codes) > 4096:  # bounded: symbols are few, days pass
                self._codes.clear()
            self._codes[key] = code
        return code

    def to_platform(self, symbol: str, refresh: bool = False) -> str | None:
        """The engine's platform symbol for ``symbol``; None when the engine's list is not
        known; SymbolError when the symbol is unknown or the engine does not trade it.
        ``refresh`` asks the engine now, patiently (the router does, not the answer path)."""
        code = self.contract_code(symbol)
        traded = self.platform_symbols(refresh)
        if traded is None:
            return None
        codes = {}
        for platform_symbol in traded:
            try:
                codes[self.contract_code(platform_symbol)] = platform_symbol
            except SymbolError:
                continue  # a platform symbol the contract table does not know
        if code in codes:
            return codes[code]
        raise SymbolError(f"{symbol} is {code}, which the engine does not trade (its shims "
                          f"define {', '.join(traded) or 'nothing yet'})",
                          [self._tradingview(s) for s in sorted(codes.values())][:3])

    def _tradingview(self, platform_symbol: str) -> str:
        return resolve(platform_symbol, on=self._today()).format("tradingview")
