"""The configuration, as pydantic models. Loading, env overrides and the cross-field
checks (names that refer to each other, paper/live rules) are in ``loader``."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tickbridge.config.copier import CopierConfig
from tickbridge.config.webhook import WebhookConfig, is_loopback_host
from tickbridge.reconcile.policy import ReconcilePolicy
from tickbridge.risk.limits import RiskLimits

# host: a name, an IPv4 address, * (every interface) or an IPv6 address in brackets
# ([::1], [::] for every interface), as ZeroMQ writes them.
_ENDPOINT = re.compile(
    r"^(tcp://(?P<host>\[[^\]/]+\]|[^:/\[\]]+|\*):(?P<port>\d{1,5})|ipc://.+|inproc://.+)$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")  # fits the 32-byte account field of Hello
_ENTRY = re.compile(r"^([A-Za-z_][\w.]*:[A-Za-z_]\w*|[a-z_][a-z0-9_]*)$")

Mode = Literal["paper", "live"]


def _endpoint(value: str) -> str:
    m = _ENDPOINT.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a ZeroMQ endpoint (tcp://HOST:PORT, "
                         "tcp://[IPV6]:PORT, ipc://PATH)")
    if m.group("port") is not None and not 0 < int(m.group("port")) < 65536:
        raise ValueError(f"port {m.group('port')} is outside 1-65535")
    host = m.group("host")
    if host is not None and host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{host} is not an IPv6 address") from None
    return value


def is_loopback(endpoint: str) -> bool:
    m = _ENDPOINT.match(endpoint)
    if not m or m.group("host") is None:
        return True  # ipc:// and inproc:// never leave the machine
    return is_loopback_host(m.group("host"))


class _Strict(BaseModel):
    # extra="forbid": a misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineConfig(_Strict):
    shim_endpoint: str = Field("tcp://127.0.0.1:5555", description="ROUTER the shims connect to")
    control_endpoint: str = Field("tcp://127.0.0.1:5556", description="CLI / kill / status")
    insecure_bind: bool = Field(False, description="allow a non-loopback bind without CURVE")
    curve_secret_key_file: Path | None = None
    curve_public_key_file: Path | None = None
    curve_authorized_keys_dir: Path | None = Field(None, description="the *.key files of "
                                                   "the shims' public keys (CURVE clients "
                                                   "allowed to connect)")
    heartbeat_ms: int = Field(1000, ge=50, le=60_000)
    state_store: Path = Field(Path("tickbridge-state.sqlite"), description="SQLite file (WAL)")
    witness_copy: Path | None = Field(None, description="a second witness of the audit "
                                      "chain's head, on another disk or mount (the first is "
                                      "<state_store>.witness); see docs/state-and-audit.md")
    snapshot_interval_s: float = Field(30.0, ge=0, description="reconciliation: ask every "
                                       "shim for a snapshot this often (0: only on doubt)")
    kill_on_shim_lost: bool = Field(True, description="a lost shim: halt its account and "
                                    "cancel its orders through the shim's kill endpoint")
    busy_poll_us: int = Field(0, ge=0, le=1_000_000, description="after each frame, spin "
                              "this long before sleeping: lower tick-to-order latency for "
                              "one busy core (0: off)")
    cpu: int | None = Field(None, ge=0, description="pin the engine's loop and the state "
                            "store's threads to this CPU (Linux), leaving the others to "
                            "libzmq's I/O thread and the shims; see docs/engine.md")
    store_priority: Literal["normal", "low"] = Field(
        "normal", description="CPU priority of the state store's writer and checkpoint "
        "threads (Linux): low is nice 10, so they never hold up the loop on its CPU; see "
        "docs/engine.md")
    compiled_receive: bool = Field(True, description="frames read, ingested and armed "
                                   "orders sent by compiled code without the interpreter "
                                   "(false: the same in Python)")

    _check_endpoints = field_validator("shim_endpoint", "control_endpoint")(_endpoint)

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu_not_a_bool(cls, value: Any) -> Any:
        # true would be CPU 1: a switch written where a CPU number belongs.
        if isinstance(value, bool):
            raise ValueError(f"a CPU number, not {str(value).lower()}")
        return value

    @field_validator("cpu")
    @classmethod
    def _cpu_we_may_use(cls, value: int | None) -> int | None:
        if value is None:
            return value
        if not hasattr(os, "sched_setaffinity"):
            raise ValueError("pinning to a CPU needs Linux (leave cpu unset)")
        allowed = sorted(os.sched_getaffinity(0))
        if value not in allowed:
            raise ValueError(f"CPU {value} is not one this process may use: {allowed}")
        return value

    @model_validator(mode="after")
    def _curve_allow_list(self) -> EngineConfig:
        # CURVE without an allow-list would let any client key in (docs/security.md).
        if self.curve_secret_key_file is not None and self.curve_authorized_keys_dir is None:
            raise ValueError("curve_secret_key_file needs curve_authorized_keys_dir: the "
                             "shims' public keys allowed to connect")
        return self


class ControlClientConfig(_Strict):
    """One client of the control socket: who it is, what it may do, how it proves it.
    Exactly one token source: a file (read at start; keep it mode 0600), an environment
    variable, or the token itself (masked when the config is shown)."""

    name: str = Field(pattern=_NAME.pattern)
    role: Literal["read", "trade", "risk"]
    token_file: Path | None = None
    token_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    token: SecretStr | None = None

    @field_validator("name")
    @classmethod
    def _not_owner(cls, value: str) -> str:
        if value == "owner":
            raise ValueError("'owner' is the engine's own token file (owner_token_file)")
        return value

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("must be at least 16 bytes (e.g. python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))')")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ControlClientConfig:
        given = [k for k in ("token_file", "token_env", "token") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of token_file, token_env, token "
                             f"(given: {', '.join(given) or 'none'})")
        return self


class ControlConfig(_Strict):
    """Who may use the control socket (docs/security.md)."""

    owner_token: bool = Field(True, description="keep an owner token (role risk) in a 0600 "
                              "file, created at start when missing; the local CLI reads it")
    owner_token_file: Path | None = Field(None, description="default: beside the state "
                                          "store, STATE_STORE.control-token")
    clients: list[ControlClientConfig] = Field(default_factory=list)


class ShimConfig(_Strict):
    name: str = Field(pattern=_NAME.pattern)
    platform: Literal["sierra_chart", "ninjatrader", "simulator"]
    kill_endpoint: str
    kill_secret: SecretStr

    _check_endpoint = field_validator("kill_endpoint")(_endpoint)

    @field_validator("kill_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        # The Kill record carries it in a 32-byte NUL-padded field (docs/protocol.md).
        n = len(value.get_secret_value().encode())
        if not 16 <= n <= 32:
            raise ValueError(f"must be 16 to 32 bytes (is {n})")
        return value


class AccountConfig(_Strict):
    name: str = Field(pattern=_NAME.pattern)
    mode: Mode
    shim: str | None = Field(None, description="the shim that owns the account")
    curve_public_keys: list[str] = Field(
        default_factory=list, description="with CURVE: the shim keys that may speak for "
        "this account, each a z85 public key (40 characters) or the name of a certificate "
        "in engine.curve_authorized_keys_dir (NAME.key); none: no shim may")


class InstrumentConfig(_Strict):
    symbol: str = Field(description="any format tickbridge.contracts.resolve reads")

    @field_validator("symbol")
    @classmethod
    def _resolvable(cls, value: str, info: ValidationInfo) -> str:
        from tickbridge.contracts import SymbolError, resolve

        # The loader passes the contract table with the user's contracts_file merged in.
        specs = (info.context or {}).get("contract_specs")
        try:
            resolve(value, specs=specs)
        except SymbolError as e:
            raise ValueError(str(e)) from None
        return value


class StrategyConfig(_Strict):
    name: str = Field(pattern=_NAME.pattern)
    entry: str = Field(description="module:Class or a built-in strategy name")
    params: dict[str, Any] = Field(default_factory=dict)
    instruments: list[str] = Field(min_length=1)

    @field_validator("entry")
    @classmethod
    def _entry(cls, value: str) -> str:
        # Not imported here: the strategy layer loads it; a config check must not run code.
        if not _ENTRY.match(value):
            raise ValueError(f"{value!r} is neither module:Class (e.g. "
                             "my_strategies.breakout:Breakout) nor a built-in strategy name")
        return value


class TickbridgeConfig(_Strict):
    mode: Mode = "paper"
    credentials_file: Path | None = Field(None, description="live only: broker credentials")
    live_accounts: list[str] = Field(default_factory=list, description="live only: allow-list")
    contracts_file: Path | None = Field(None, description="user contract table over the default")
    engine: EngineConfig = EngineConfig()
    control: ControlConfig = ControlConfig()
    shims: list[ShimConfig] = Field(default_factory=list)
    accounts: list[AccountConfig] = Field(default_factory=list)
    instruments: list[InstrumentConfig] = Field(default_factory=list)
    strategies: list[StrategyConfig] = Field(default_factory=list)
    risk: RiskLimits = RiskLimits()
    # What the engine does with each class of drift that reconciliation finds.
    reconcile: ReconcilePolicy = ReconcilePolicy()
    webhook: WebhookConfig | None = Field(None, description="TradingView alert entry")
    copier: CopierConfig | None = Field(None, description="a leader account copied to "
                                        "followers (docs/copier.md)")

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> TickbridgeConfig:
        # The loader runs these on the raw data itself (so they are listed with the field
        # errors); direct construction gets them here.
        if info.context and info.context.get("cross_checked"):
            return self
        from tickbridge.config.loader import cross_check

        errors = cross_check(self.model_dump(mode="python"))
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @model_validator(mode="after")
    def _keys_need_curve(self) -> TickbridgeConfig:
        # A key binding the engine cannot enforce would be a setting that lies.
        bound = [a.name for a in self.accounts if a.curve_public_keys]
        if bound and self.engine.curve_secret_key_file is None:
            raise ValueError(f"accounts {', '.join(bound)}: curve_public_keys needs CURVE "
                             "(engine.curve_secret_key_file and curve_authorized_keys_dir)")
        return self

    def account(self, name: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.name == name), None)
