"""The engine's state, polled off its loop and handed to every connected browser.

One thread asks the engine for its ``dashboard`` view at the display rate (the engine
answers between two passes of its loop, as it answers ``status``): however many fills
happen in between, a browser gets at most one frame per display interval. Each browser
has a bounded queue: when it does not keep up its oldest frames are dropped and counted;
it never holds the feed back, and the feed never holds the engine back.

A frame is the engine's view plus the feed's own: whether the engine answered (and
since when it has not), and its point of the total PnL line (``pnl_point``: the engine's
wall clock, USD). The line's last ``HISTORY`` points (``history()``) go to a browser
once, with its first frame; it appends each frame's point. Each frame is encoded to JSON
once, on the feed's thread, whatever the number of browsers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("tickbridge.dashboard")

DISPLAY_HZ = 4.0
QUEUE_FRAMES = 8
HISTORY = 600

Fetch = Callable[[], dict[str, Any]]


class Client:
    """One browser's bounded queue of frames (each as its encoded JSON text); ``notify``
    wakes its sender (it is called from the feed's thread, so it must be thread-safe:
    loop.call_soon_threadsafe)."""

    def __init__(self, notify: Callable[[], None], size: int = QUEUE_FRAMES) -> None:
        self._notify = notify
        self._frames: deque[str] = deque()
        self._lock = threading.Lock()
        self.size = size
        self.dropped = 0  # frames it never got: queue full, or superseded before sent
        self.sent = 0

    def put(self, frame: str) -> None:
        with self._lock:
            if len(self._frames) >= self.size:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
        self._notify()

    def take(self) -> str | None:
        """The newest frame (older ones still queued are superseded: counted dropped)."""
        with self._lock:
            if not self._frames:
                return None
            frame = self._frames.pop()
            self.dropped += len(self._frames)
            self._frames.clear()
        self.sent += 1
        return frame

    @property
    def queued(self) -> int:
        return len(self._frames)


class Feed:
    def __init__(self, fetch: Fetch, *, rate_hz: float = DISPLAY_HZ,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz: must be positive (got {rate_hz})")
        self._fetch = fetch
        self.interval_s = 1.0 / rate_hz
        self._wall_ns = wall_ns
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pnl: deque[tuple[int, float]] = deque(maxlen=HISTORY)
        self.latest: dict[str, Any] | None = None
        self.latest_json = ""  # ``latest`` encoded, for every browser
        self.polls = 0
        self._down_since: int | None = None

    # -- clients -------------------------------------------------------------------
    def subscribe(self, notify: Callable[[], None], size: int = QUEUE_FRAMES) -> Client:
        client = Client(notify, size)
        with self._lock:
            self._clients.append(client)
        if self.latest is not None:
            client.put(self.latest_json)  # a new page sees the state at once
        return client

    def history(self) -> list[tuple[int, float]]:
        return list(self.pnl)

    def unsubscribe(self, client: Client) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def dropped(self) -> int:
        with self._lock:
            return sum(c.dropped for c in self._clients)

    # -- polling ---------------------------------------------------------------------
    def poll_once(self) -> dict[str, Any]:
        """Asks the engine once and hands the frame to every client."""
        self.polls += 1
        answered = True
        try:
            view = self._fetch()
        except Exception as e:  # the engine down or hung: shown, not raised
            view, answered = {"ok": False, "error": str(e)}, False
        now = self._wall_ns()
        if view.get("ok"):
            self._down_since = None
            total = sum((p.get("realized_pnl") or 0.0) + (p.get("unrealized_pnl") or 0.0)
                        for p in view.get("positions", []))
            point = (int(view.get("now_ns", now)), total)
            self.pnl.append(point)
            frame = {**view, "engine": "up", "pnl_point": point}
        else:
            # "refused": it answered, but not to this credential (a token file not
            # made yet, a client without the read role); "down": no answer at all.
            self._down_since = self._down_since or now
            frame = {"ok": False, "engine": "refused" if answered else "down",
                     "error": view.get("error"),
                     "now_ns": now, "down_since_ns": self._down_since, "pnl_point": None}
        self.latest_json = json.dumps(frame, separators=(",", ":"))
        self.latest = frame
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.put(self.latest_json)
        return frame

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.poll_once()
            next_at += self.interval_s
            delay = next_at - time.monotonic()
            if delay < 0:  # the engine was slow to answer: no catching up in a burst
                next_at, delay = time.monotonic(), 0.0
            self._stop.wait(delay)

    def start(self) -> Feed:
        self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
