"""Session calendar: is a CME Globex product group (or a root like ``ES``) open?

``is_open(group_or_root, instant)``, ``next_open``, ``next_close``, ``open_mask(times_ns)``,
``SessionClock(root).is_open(now_ns)`` (cached until the next open/close, for the order path);
instants are aware datetimes or UTC nanoseconds. Groups: equity_index, energy, metals,
interest_rates, fx; a root is mapped to its group by the contract table.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

import numpy as np

from tickbridge.sessions.calendar import (
    GROUPS,
    SessionError,
    from_ns,
    is_open_ns,
    next_close_ns,
    next_open_ns,
    open_mask_ns,
    sessions,
    to_ns,
    trade_date,
)

__all__ = ["GROUPS", "SessionClock", "SessionError", "group_of", "is_open", "next_close",
           "next_open", "open_mask", "session_trade_date"]


@lru_cache(maxsize=256)
def group_of(group_or_root: str) -> str:
    """``equity_index`` stays; ``ES``, ``ESZ6``, ``ES1!`` become their product group."""
    if group_or_root in GROUPS:
        return group_or_root
    from tickbridge.contracts import SymbolError, resolve
    from tickbridge.contracts.resolver import _default_specs

    specs = _default_specs()
    if group_or_root.upper() in specs:
        return specs[group_or_root.upper()].group
    try:
        return resolve(group_or_root, on=date(2026, 1, 1), specs=specs).spec.group
    except SymbolError as e:
        raise SessionError(f"{group_or_root!r} is neither a product group ({', '.join(GROUPS)}) "
                           f"nor a known symbol: {e}") from e


def is_open(group_or_root: str, instant: datetime | int) -> bool:
    return is_open_ns(sessions(group_of(group_or_root)), to_ns(instant))


def next_open(group_or_root: str, instant: datetime | int) -> datetime:
    return from_ns(next_open_ns(sessions(group_of(group_or_root)), to_ns(instant)))


def next_close(group_or_root: str, instant: datetime | int) -> datetime:
    return from_ns(next_close_ns(sessions(group_of(group_or_root)), to_ns(instant)))


def open_mask(group_or_root: str, times_ns: np.ndarray) -> np.ndarray:
    """Vectorised ``is_open`` over an int64 array of UTC nanoseconds."""
    return open_mask_ns(sessions(group_of(group_or_root)), times_ns)


def session_trade_date(group_or_root: str, instant: datetime | int) -> date | None:
    return trade_date(sessions(group_of(group_or_root)), to_ns(instant))


class SessionClock:
    """``is_open`` for one group on the order path: the answer is cached until the next
    open or close, so most calls are two integer comparisons."""

    def __init__(self, group_or_root: str) -> None:
        self.group = group_of(group_or_root)
        self._sessions = sessions(self.group)
        self._valid_from, self._valid_until, self._open = 0, -1, False

    def is_open(self, now_ns: int) -> bool:
        if not self._valid_from <= now_ns < self._valid_until:
            s = self._sessions
            i = int(np.searchsorted(s.opens, now_ns, side="right")) - 1
            self._open = i >= 0 and now_ns < int(s.closes[i])
            if self._open:
                self._valid_from, self._valid_until = int(s.opens[i]), int(s.closes[i])
            else:
                self._valid_from = int(s.closes[i]) if i >= 0 else -(2**63)
                self._valid_until = int(s.opens[i + 1]) if i + 1 < len(s.opens) else 2**63 - 1
        return self._open

    def window(self, now_ns: int) -> tuple[int, int] | None:
        """The open session around ``now_ns`` as [open, close) UTC ns, or None if closed
        (for the compiled tick path, which then needs no calendar)."""
        return (self._valid_from, self._valid_until) if self.is_open(now_ns) else None
