"""The one way tests wait: for a condition, with a generous deadline, never a fixed sleep.

``wait_until(predicate, what=...)`` calls ``predicate`` until it returns something truthy
and returns that; between tries it calls ``step`` (pump an engine, read a socket) when
given, else sleeps ``poll`` seconds. At the deadline it fails naming what it waited for and
the last value seen, so a timeout on a busy machine reads as a sentence, not a bare assert.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Generous: the suite runs on a shared 2-core machine beside compilers and other suites.
DEFAULT_TIMEOUT = 30.0


class WaitTimeout(AssertionError):
    """A condition did not hold by its deadline (an AssertionError: a test failure)."""


def wait_until(predicate: Callable[[], T], timeout: float = DEFAULT_TIMEOUT,
               what: str = "condition", *, poll: float = 0.01,
               step: Callable[[], object] | None = None) -> T:
    """``predicate()``'s first truthy value, tried until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"waited {timeout:g} s for {what}; last value: {value!r}")
        if step is not None:
            step()
        else:
            time.sleep(poll)

