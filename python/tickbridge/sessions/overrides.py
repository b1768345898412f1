"""Corrections to pandas-market-calendars, in one place, each with its evidence.

Keyed by (product group, trade date): the session of that trade date closes at ``close``
(Central time) instead of the library's close, or is removed (``None``). Every entry is
pinned by tests/sessions/test_calendar.py::test_pinned_library_errors, which fails when
the library changes its answer, so a fixed upstream day gets its override removed here.
"""

from __future__ import annotations

from datetime import date, time

# (group, trade date) -> corrected close in America/Chicago, or None = no session.
OVERRIDES: dict[tuple[str, date], time | None] = {
    # Thanksgiving 2026: CME halts its financial products (interest rates, FX, equity
    # index) at 12:00 CT on the Thursday; pandas-market-calendars 5.5 CMEGlobex_FX keeps
    # FX open to the regular 16:00. Source: CME Globex holiday schedules, where FX always
    # follows the interest-rate products on Thanksgiving; check CME's 2026 sheet.
    ("fx", date(2026, 11, 26)): time(12, 0),
}
