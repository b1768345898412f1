"""The policy when the state store fails (a disk error, a full disk, the writer gone).

The store is the record of truth and the audit chain: without it the engine cannot book
a fill durably, so it must not make new risk. On the first failure, wherever it shows (a
write refused on the order path, or the writer found stopped by the timer):
- trading halts for every account, in memory (the store cannot keep it), logged CRITICAL;
  no request loosens it before a restart (trading_control.py);
- the failure is audited to the audit sink and the log (the chain itself cannot take it);
- `tickbridge status` shows it (``store_failed``) until the engine is restarted;
- shims are no longer acknowledged past the last durable frame, so they keep (and
  resend) every order event since: nothing is lost, the next engine books it.
Cancels, flattens and the kill still go out: reducing risk needs no store.

A store that has committed nothing for STALL_WARN_S while writes wait (a writer starved of
CPU, engine.store_priority; a slow disk) is warned about once per stall: not a failure
yet, but acknowledgements to the shims wait with it, and the queue bound is next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tickbridge.store import StoreFailed

log = logging.getLogger("tickbridge.engine")

STALL_WARN_S = 2.0


class StoreFailure:
    def __init__(self, store: Any, halt: Callable[[str], None]) -> None:
        self._store = store
        self._halt = halt
        self.failed = ""  # why, once it failed
        self._stalled = False  # warned about the current stall

    def guard(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs a store write; a StoreFailed becomes the policy above, never a crash of
        the loop."""
        if self.failed:
            return None
        try:
            return write(*args, **kwargs)
        except StoreFailed as error:
            self.fail(error)
            return None

    def check(self) -> None:
        failure = getattr(self._store, "failure", None)
        if failure is not None and not self.failed:
            self.fail(failure)
        stalled = self._store.stalled_s() if hasattr(self._store, "stalled_s") else 0.0
        if stalled < STALL_WARN_S:
            self._stalled = False
        elif not self._stalled and not self.failed:
            self._stalled = True
            log.warning("state store: nothing committed for %.1f s while writes wait; the "
                        "shims' acknowledgements wait with them (a writer starved of CPU: "
                        "engine.store_priority; or a slow disk)", stalled)

    def fail(self, error: BaseException) -> None:
        if self.failed:
            return
        self.failed = str(error) or type(error).__name__
        log.critical("state store failed (%s): trading HALTED for every account; fills "
                     "are no longer acknowledged to the shims (they keep them); restart "
                     "the engine once the store is writable", self.failed)
        self._halt(self.failed)

