"""Who may post an alert: source address, per-strategy secret, body signature, freshness.

Every check fails with ``AuthFailure`` carrying the HTTP status (401 or 403) and a reason
for the audit log only: the HTTP answer says "unauthorized" or "forbidden" and nothing
else, so a prober learns nothing about which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping

from tickbridge.config.webhook import WebhookStrategy

SIGNATURE_HEADER = "x-tickbridge-signature"
# Compared against when the strategy is unknown, so that case takes the same time as a
# wrong secret for a known one.
_DUMMY = "tickbridge-webhook-no-such-strategy-0000"


class AuthFailure(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason  # for the audit log, never for the HTTP answer
        super().__init__(reason)


class SourceAllowList:
    """Client addresses allowed to post; empty allows any."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = [ipaddress.ip_network(e, strict=False) for e in entries]

    def check(self, host: str | None) -> None:
        if not self._networks:
            return
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            raise AuthFailure(403, f"source {host!r} is not an IP address") from None
        if not any(address in network for network in self._networks):
            raise AuthFailure(403, f"source {host} is not on allowed_sources")


def check_secret(strategies: Mapping[str, WebhookStrategy], strategy: str,
                 presented: str | None) -> WebhookStrategy:
    """The strategy's config, when ``presented`` is its secret (compared in constant time)."""
    config = strategies.get(strategy)
    expected = config.secret.get_secret_value() if config is not None else _DUMMY
    ok = hmac.compare_digest((presented or "").encode(), expected.encode())
    if config is None:
        raise AuthFailure(401, f"unknown strategy {strategy[:64]!r}")
    if presented is None:
        raise AuthFailure(401, "no secret in the body or the URL")
    if not ok:
        raise AuthFailure(401, f"wrong secret for strategy {strategy!r}")
    return config


def check_signature(config: WebhookStrategy, body: bytes, header: str | None) -> None:
    """With an ``hmac_key``, the body must come with its hex HMAC-SHA256 (``sha256=`` prefix
    optional, as GitHub-style senders write it)."""
    if config.hmac_key is None:
        return
    if not header:
        raise AuthFailure(401, f"no {SIGNATURE_HEADER} header (the strategy has an hmac_key)")
    want = hmac.new(config.hmac_key.get_secret_value().encode(), body, hashlib.sha256)
    given = header.strip().removeprefix("sha256=").lower()
    if not hmac.compare_digest(given.encode(), want.hexdigest().encode()):
        raise AuthFailure(401, "body signature does not match")


def check_fresh(timestamp_ns: int, now_ns: int, window_s: float) -> None:
    """A replayed alert is old; a clock far ahead is refused too."""
    if window_s <= 0:
        return
    age_s = (now_ns - timestamp_ns) / 1e9
    if abs(age_s) > window_s:
        where = "old" if age_s > 0 else "in the future"
        raise AuthFailure(401, f"timestamp {abs(age_s):.1f} s {where} (replay window "
                               f"{window_s:g} s)")
