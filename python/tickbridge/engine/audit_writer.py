"""The engine's audit records: to the caller's sink (tests, the CLI's log) and to the
store's hash-chained log, the store's write under the store-failure policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("tickbridge.engine")


class AuditWriter:
    def __init__(self, sink: Callable[..., None] | None, store: Any) -> None:
        self._sink = sink
        self._store = store
        # The store-failure policy's guard (store_failure.py), set once it exists; its
        # own halt is audited through this writer.
        self.guard: Callable[..., Any] = lambda write, *args, **kwargs: write(*args, **kwargs)

    def __call__(self, kind: str, **payload: Any) -> None:
        if self._sink is not None:
            self._sink(kind, **payload)
        if self._store is not None:
            coid = payload.get("client_order_id")
            # Platform-made ids (flatten orders, PLATFORM_ORDER_ID_BIT) stay in the payload
            # only: the order column holds the engine's ids, 1..2**63-1.
            ours = isinstance(coid, int) and 0 < coid < 1 << 63
            self.guard(self._store.audit, kind, payload,
                       client_order_id=coid if ours else None,
                       account=str(payload.get("account") or ""))
        elif self._sink is None:
            log.debug("audit %s %s", kind, payload)
