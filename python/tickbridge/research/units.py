"""Bar sizes and periods with explicit units.

A time size is a duration with a unit: ``datetime.timedelta``, ``numpy.timedelta64``
(with a unit), ``pandas.Timedelta`` or a string pandas understands (``"1min"``,
``"5s"``, ``"250ms"``; without pandas: ``"<number><unit>"`` with unit one of ns, us,
ms, s, min, h, d). A bare number is refused: it once meant nanoseconds and silently
built a bar per tick for ``size=60``. Counts (tick bars, periods) must be whole
numbers; 2.7 trades is refused, not rounded.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import timedelta

import numpy as np

_UNITS_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "min": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000}
_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|h|d)\s*$")


def duration_ns(value: object, what: str = "size") -> int:
    """A duration with a unit as int64 nanoseconds (> 0); see the module docstring."""
    if isinstance(value, bool | numbers.Number) and not isinstance(value, np.timedelta64):
        raise TypeError(
            f"{what}={value!r} is a bare number; a time size needs a unit: '1min', "
            "datetime.timedelta(minutes=1), numpy.timedelta64(1, 'm') or "
            "pandas.Timedelta('1min')"
        )
    ns: int
    if isinstance(value, np.timedelta64):
        if np.datetime_data(value.dtype)[0] == "generic":
            raise TypeError(f"{what}={value!r} has no unit; e.g. numpy.timedelta64(60, 's')")
        ns = int(value.astype("timedelta64[ns]").astype(np.int64))
    elif isinstance(value, timedelta):
        # pandas.Timedelta subclasses timedelta and carries exact ns in .value.
        exact = getattr(value, "value", None)
        ns = int(exact) if isinstance(exact, int) else (
            (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000)
    elif isinstance(value, str):
        ns = _parse_text(value, what)
    else:
        raise TypeError(
            f"{what} must be a duration (timedelta, numpy.timedelta64, pandas.Timedelta or "
            f"a string like '1min'), got {type(value).__name__}"
        )
    if ns <= 0:
        raise ValueError(f"{what}={value!r} must be a positive duration")
    return ns


def _parse_text(text: str, what: str) -> int:
    if re.fullmatch(r"\s*[\d.]+\s*", text):
        raise ValueError(f"{what}={text!r} is a bare number; add a unit, e.g. '60s'")
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is installed with the research extra
        pd = None
    if pd is not None:
        try:
            return int(pd.Timedelta(text).value)
        except ValueError:
            pass
    m = _SIMPLE.match(text)
    if m is None:
        raise ValueError(f"{what}={text!r} is not a duration like '1min', '5s' or '250ms'")
    return round(float(m.group(1)) * _UNITS_NS[m.group(2)])


def whole_count(value: object, what: str) -> int:
    """A positive whole number (int, numpy integer, or a float with no fraction)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, numbers.Integral):
        count = int(value)
    else:
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise ValueError(f"{what}={value!r} is not a whole number; counts are not rounded")
        count = int(f)
    if count < 1:
        raise ValueError(f"{what} must be >= 1, got {value!r}")
    return count


def positive_amount(value: object, what: str) -> float:
    """A finite positive number (volume per bar, price range per bar)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f) or f <= 0:
        raise ValueError(f"{what} must be finite and > 0, got {value!r}")
    return f
