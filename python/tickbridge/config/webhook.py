"""The ``[webhook]`` section: the TradingView alert entry (docs/webhook.md).

    [webhook]
    host = "127.0.0.1"
    port = 8088
    replay_window_s = 120
    allowed_sources = ["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"]

    [webhook.strategies.trend]
    secret = "a long random string, 16 bytes or more"
    hmac_key = "optional: then X-Tickbridge-Signature is required"
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_STRATEGY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookStrategy(_Strict):
    secret: SecretStr = Field(description="shared with the alert (body or URL path)")
    hmac_key: SecretStr | None = Field(
        None, description="when set, every alert must carry X-Tickbridge-Signature: "
                          "hex HMAC-SHA256 of the body under this key")

    @field_validator("secret", "hmac_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # A short secret in a URL or a message is guessable; TradingView shows neither.
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("must be at least 16 bytes (use e.g. `openssl rand -hex 24`)")
        if value is not None and any(c.isspace() or c in "/?#" for c in
                                     value.get_secret_value()):
            raise ValueError("must not contain spaces, '/', '?' or '#' (it may travel in a "
                             "URL path or a key=value text body)")
        return value


class WebhookConfig(_Strict):
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8088, ge=0, le=65535, description="0 picks a free port")
    tls_cert_file: Path | None = Field(None, description="PEM certificate (chain)")
    tls_key_file: Path | None = Field(None, description="PEM private key")
    insecure_http: bool = Field(False, description="allow plain HTTP on a non-loopback host")
    engine_control: str | None = Field(None, description="default: engine.control_endpoint")
    strategies: dict[str, WebhookStrategy] = Field(default_factory=dict)
    allowed_sources: list[str] = Field(
        default_factory=list, description="client addresses or networks; empty = any")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="reverse proxies whose X-Forwarded-For is believed")
    replay_window_s: float = Field(120.0, ge=0, le=86_400,
                                   description="max alert age and clock skew; 0 = no check")
    max_body_bytes: int = Field(8192, ge=256, le=1_048_576,
                                description="a longer body is refused (413) and its "
                                            "connection closed")
    # Slow and idle peers (docs/webhook.md, "Slow peers"): each connection holds memory
    # and a file descriptor, so every phase of it has a deadline and their number a cap.
    max_header_bytes: int = Field(
        8192, ge=1024, le=65_536,
        description="request line and headers; more is refused (400). h11's "
                    "max_incomplete_event_size")
    header_timeout_s: float = Field(
        10.0, gt=0, le=300, description="a request's line and headers must be complete this "
                                        "long after the connection opened (or after the "
                                        "request's first byte on a kept-alive connection)")
    body_timeout_s: float = Field(
        10.0, gt=0, le=300, description="a request's body must be complete this long after "
                                        "its headers")
    keep_alive_s: int = Field(
        15, ge=1, le=300, description="an idle kept-alive connection is closed after this "
                                      "long (uvicorn's timeout_keep_alive)")
    max_connections: int = Field(
        512, ge=1, le=100_000, description="open connections at once; one more is answered "
                                           "503 and closed at once")
    store: Path = Field(Path("tickbridge-webhook.sqlite"),
                        description="SQLite: alert idempotency records and the audit log")
    engine_timeout_ms: int = Field(3000, ge=100, le=60_000)
    max_route_delay_s: float = Field(
        10.0, gt=0, le=3600, description="an alert not routed this long after it arrived "
                                         "(engine down, backlog) is refused, not placed late")

    @field_validator("strategies")
    @classmethod
    def _names(cls, value: dict[str, WebhookStrategy]) -> dict[str, WebhookStrategy]:
        for name in value:
            if not _STRATEGY.match(name):
                raise ValueError(f"strategy name {name!r}: use 1-64 letters, digits, '_', '.' "
                                 "or '-' (it appears in URLs and in order sources)")
        return value

    @field_validator("allowed_sources", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"[{i}] {item!r} is not an IP address or network "
                                 "(e.g. 52.89.214.238 or 10.0.0.0/8)") from None
        return value

    @model_validator(mode="after")
    def _tls_and_exposure(self) -> WebhookConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together (set both for "
                             "HTTPS, neither for plain HTTP behind a reverse proxy)")
        for name in ("tls_cert_file", "tls_key_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: {path} does not exist")
        if self.tls_cert_file is None and not is_loopback_host(self.host) \
                and not self.insecure_http:
            raise ValueError(f"host {self.host!r} is not loopback and no TLS certificate is "
                             "set: alert secrets would cross the network in clear. Set "
                             "tls_cert_file and tls_key_file, listen on 127.0.0.1 behind a "
                             "TLS reverse proxy, or set insecure_http = true")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8, ::1, or an IPv4 loopback mapped into IPv6 (::ffff:127.0.0.1,
    what a socket with ZMQ_IPV6 reports for 127.0.0.1). The one loopback test of the
    project: the engine's and the webhook's binds both use it."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name, '*' or "0.0.0.0": every interface
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
