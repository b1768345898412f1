"""Session calendar: is a CME Globex product group (or a root like ``ES``) open?

``is_open(group_or_root, instant)``, ``next_open``, ``next_close``, ``open_mask(times_ns)``;
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

__all__ = ["GROUPS", "SessionError", "group_of", "is_open", "next_close", "next_open",
           "open_mask", "session_trade_date"]


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
