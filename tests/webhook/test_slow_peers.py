"""Slow, idle, oversized and surplus connections are closed (real uvicorn, real sockets);
no engine is needed to refuse them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_until

from .conftest import Hook, alert, running_hook, webhook_config
from .slow_clients import BODY_HEADERS, ENDLESS_HEADERS, dribble

NO_ENGINE = "tcp://127.0.0.1:9"  # nothing listens: these tests never reach the router
LIMITS = {"header_timeout_s": 1.0, "body_timeout_s": 1.0, "max_connections": 6,
          "max_header_bytes": 2048, "engine_timeout_ms": 200}


@pytest.fixture
def slow_hook(tmp_path: Path) -> Iterator[Hook]:
    yield from running_hook(webhook_config(tmp_path, **LIMITS), NO_ENGINE)


def _port(hook: Hook) -> int:
    return int(hook.url.rsplit(":", 1)[1])


def _closed_counts(hook: Hook) -> dict[str, int]:
    from tickbridge.audit import read_records
    from tickbridge.store.connection import open_reader

    totals: dict[str, int] = {}
    with open_reader(hook.service.config.store) as conn:
        for record in read_records(conn):
            if record.kind == "webhook_connections_closed":
                for why, n in record.data.items():
                    totals[why] = totals.get(why, 0) + n
    return totals


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(slow_hook):
    # A byte every 0.2 s: an idle timer would never fire; the header deadline does.
    answer, _ = dribble(_port(slow_hook), b"", ENDLESS_HEADERS, interval=0.2)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed(slow_hook):
    answer, _ = dribble(_port(slow_hook), b"", b"", interval=0.2)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_sent_a_byte_at_a_time_is_cut_off(slow_hook):
    answer, _ = dribble(_port(slow_hook), BODY_HEADERS, b"action=buy ", interval=0.2)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert slow_hook.service.store.count() == 0
    # Both deadlines are reported once per period, in the audit log.
    dribble(_port(slow_hook), b"", b"", interval=0.2)
    wait_until(lambda: _closed_counts(slow_hook) == {"body_timeout": 1, "header_timeout": 1},
             timeout=30)


def test_the_next_request_on_a_kept_alive_connection_has_a_header_deadline(slow_hook):
    with socket.create_connection(("127.0.0.1", _port(slow_hook))) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(10)
        first = b""
        while not first.endswith(b'{"ok":true}'):
            first += sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in first
        sock.settimeout(0.2)
        received = b""
        for i in range(100):  # 20 s at most; the deadline is 1 s
            sock.send(ENDLESS_HEADERS[i:i + 1])
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError("the second request's headers were never cut off")
    assert received.startswith(b"HTTP/1.1 408 ")


def test_connections_beyond_the_limit_get_503_and_a_close(slow_hook):
    port = _port(slow_hook)
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(LIMITS["max_connections"])]
    try:
        # The server has taken them all (each arms its header deadline on arrival).
        answer, _ = dribble(port, b"", b"", interval=0.2)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
    finally:
        for sock in held:
            sock.close()
    # Slots come back once they close: a good alert is answered (401: wrong secret, but
    # read and answered, which is the point).
    wait_until(lambda: slow_hook.post(alert(secret="x" * 20)).status_code == 401)


def test_headers_over_max_header_bytes_are_refused(slow_hook):
    big = b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 4096 + b"\r\n"
    # Still coming past the limit: h11 stops buffering them (400, closed).
    answer, _ = dribble(_port(slow_hook), big, b"", interval=0.2)
    assert answer.startswith(b"HTTP/1.1 400 ")
    # Arrived whole in one read: parsed, then refused before the body is read.
    answer, _ = dribble(_port(slow_hook), big + b"Content-Length: 5\r\n\r\n", b"", 0.2)
    assert answer.startswith(b"HTTP/1.1 431 ") and b"connection: close" in answer


def test_a_413_closes_the_connection(slow_hook):
    head = b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
    answer, _ = dribble(_port(slow_hook), head, b"", interval=0.2)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer
