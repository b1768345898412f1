"""Loading: TOML file -> env overrides -> validation, refusing with EVERY error listed.

Each error is one line ``path: why``, the path in the file's own terms
(``shims[0].kill_secret``, ``risk.accounts.SIM101.daily_loss_limit``). Env overrides are
``TICKBRIDGE_`` + path with ``__`` between levels and list indexes as numbers:
``TICKBRIDGE_ENGINE__HEARTBEAT_MS=500``, ``TICKBRIDGE_SHIMS__0__KILL_SECRET=...``,
``TICKBRIDGE_LIVE_ACCOUNTS='["ACC1"]'`` (values starting with [ or { are JSON).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tickbridge.config.copier import copier_cross_check
from tickbridge.config.models import EngineConfig, TickbridgeConfig, is_loopback

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "TICKBRIDGE_"
_SECRET_FIELDS = ("secret", "hmac_key", "token")  # never echoed in an error


class ConfigError(ValueError):
    """A refused config; ``errors`` holds one ``path: why`` line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source, self.errors = source, errors
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{source}: {len(errors)} error{'s' * (len(errors) != 1)}\n{lines}")


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _format_pydantic(error: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for e in error.errors():
        # pydantic adds the validator kind to the loc of some errors ("function-after")
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and "[" in p))
        path = _path(loc)
        path = f"{prefix}.{path}" if prefix and path != "(top level)" else (prefix or path)
        msg = e["msg"].removeprefix("Value error, ")
        shown = ""
        if e["type"] not in ("missing", "value_error") and not any(
                s in str(p) for p in loc for s in _SECRET_FIELDS):
            shown = f" (got {e['input']!r})"
        lines.append(f"{path}: {msg}{shown}")
    return lines


def env_overrides(environ: Mapping[str, str]) -> list[tuple[list[str | int], str, str]]:
    """(path, value, variable) for each TICKBRIDGE_ variable naming a config field."""
    top = set(TickbridgeConfig.model_fields)
    out = []
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts: list[str | int] = [int(p) if p.isdigit() else p.lower()
                                  for p in name[len(ENV_PREFIX):].split("__")]
        if parts[0] in top:  # other TICKBRIDGE_ variables are not config (e.g. paths)
            out.append((parts, value, name))
    return out


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    errors = []
    for parts, raw, name in env_overrides(environ):
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as e:
                errors.append(f"{_path(tuple(parts))}: env {name} is not valid JSON ({e.msg})")
                continue
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    errors.append(f"{_path(tuple(parts[:i + 1]))}: env {name} names an entry "
                                  "the file does not have")
                    break
                node = node[part]
            else:
                node = node.setdefault(part, [] if isinstance(nxt, int) else {})
        else:
            last = parts[-1]
            if isinstance(last, int):
                if not isinstance(node, list) or last >= len(node):
                    errors.append(f"{_path(tuple(parts))}: env {name} names an entry the file "
                                  "does not have")
                    continue
                node[last] = value
            elif isinstance(node, dict):
                node[last] = value
    return errors


def _names(items: Any, key: str = "name") -> list[Any]:
    return [i.get(key) for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def cross_check(data: Mapping[str, Any]) -> list[str]:
    """Checks across fields, on raw (possibly invalid) data: names that refer to each other
    and the paper/live rules. Tolerant of wrong types: the field validation reports those."""
    errors: list[str] = []
    mode = data.get("mode", "paper")
    shims, accounts = data.get("shims", []), data.get("accounts", [])
    instruments, strategies = data.get("instruments", []), data.get("strategies", [])
    shim_names, account_names = _names(shims), _names(accounts)
    symbols = _names(instruments, "symbol")
    for section, names in (("shims", shim_names), ("accounts", account_names),
                           ("instruments", symbols), ("strategies", _names(strategies))):
        seen: set[Any] = set()
        for i, name in enumerate(names):
            if name in seen and name is not None:
                key = "symbol" if section == "instruments" else "name"
                errors.append(f"{section}[{i}].{key}: {name!r} is listed twice")
            seen.add(name)
    for i, account in enumerate(accounts if isinstance(accounts, list) else []):
        if not isinstance(account, dict):
            continue
        shim = account.get("shim")
        if shim is not None and shim not in shim_names:
            errors.append(f"accounts[{i}].shim: {shim!r} is not a configured shim "
                          f"({', '.join(map(str, shim_names)) or 'none'})")
        if account.get("mode") in ("paper", "live") and account.get("mode") != mode:
            errors.append(f"accounts[{i}].mode: a {account['mode']} account in a {mode} config; "
                          f"paper and live never mix in one config")
    for i, strategy in enumerate(strategies if isinstance(strategies, list) else []):
        if isinstance(strategy, dict) and isinstance(strategy.get("instruments"), list):
            for j, symbol in enumerate(strategy["instruments"]):
                if symbol not in symbols:
                    errors.append(f"strategies[{i}].instruments[{j}]: {symbol!r} is not a "
                                  f"configured instrument ({', '.join(map(str, symbols))})")
    risk = data.get("risk", {})
    if isinstance(risk, dict):
        risk_instruments = risk.get("instruments", {})
        for symbol in risk_instruments if isinstance(risk_instruments, dict) else []:
            if symbol not in symbols:
                errors.append(f"risk.instruments.{symbol}: not a configured instrument "
                              f"({', '.join(map(str, symbols))})")
        risk_accounts = risk.get("accounts", {})
        for name, limits in (risk_accounts.items() if isinstance(risk_accounts, dict) else []):
            if name not in account_names:
                errors.append(f"risk.accounts.{name}: not a configured account "
                              f"({', '.join(map(str, account_names))})")
            allowed = limits.get("allowed_instruments", []) if isinstance(limits, dict) else []
            for j, symbol in enumerate(allowed if isinstance(allowed, list) else []):
                if symbol not in symbols:
                    errors.append(f"risk.accounts.{name}.allowed_instruments[{j}]: {symbol!r} "
                                  "is not a configured instrument")
    errors += copier_cross_check(data.get("copier"), account_names)
    errors += _engine_security(data.get("engine", {}))
    live_accounts = data.get("live_accounts", [])
    if mode == "live":
        credentials = data.get("credentials_file")
        if not credentials:
            errors.append("credentials_file: live mode needs a credentials file")
        elif not Path(str(credentials)).is_file():
            errors.append(f"credentials_file: {credentials} does not exist (live mode needs it)")
        if not live_accounts:
            errors.append("live_accounts: live mode needs an explicit, non-empty list of the "
                          "accounts it may trade")
    elif live_accounts:
        errors.append(f"live_accounts: {live_accounts} set in a paper config; live accounts "
                      "belong in a live config")
    for i, name in enumerate(live_accounts if isinstance(live_accounts, list) else []):
        if name not in account_names:
            errors.append(f"live_accounts[{i}]: {name!r} is not a configured account")
    return errors


def _engine_security(engine: Any) -> list[str]:
    if not isinstance(engine, dict):
        return []
    defaults = EngineConfig.model_fields
    secret = engine.get("curve_secret_key_file")
    public = engine.get("curve_public_key_file")
    errors = []
    if (secret is None) != (public is None):
        errors.append("engine: curve_secret_key_file and curve_public_key_file go together")
    shim, control = (engine.get(k, defaults[k].default)
                     for k in ("shim_endpoint", "control_endpoint"))
    insecure = engine.get("insecure_bind") is True
    if isinstance(shim, str) and not is_loopback(shim) and secret is None and not insecure:
        errors.append(f"engine.shim_endpoint: {shim} binds beyond this machine without CURVE "
                      "keys: set curve_secret_key_file and curve_public_key_file, or "
                      "insecure_bind = true to accept plaintext")
    # The control socket authenticates by token, not CURVE (docs/security.md): the
    # engine binds it beyond this machine only with insecure_bind, keys or not. The same
    # rule as the bind itself, so a config that passes `config check` also starts.
    if isinstance(control, str) and not is_loopback(control) and not insecure:
        errors.append(f"engine.control_endpoint: {control} binds beyond this machine, where "
                      "its tokens would cross the network in clear text: keep it on loopback "
                      "or ipc:// (reach it over SSH), or set insecure_bind = true to accept "
                      "that")
    return errors


def engine_problems(config: TickbridgeConfig) -> list[str]:
    """What a config that loads may still lack to run an engine (``run``, ``config check``):
    a config with no accounts trades nothing and would refuse every shim."""
    if not config.accounts:
        return ["accounts: none configured: an engine with no [[accounts]] refuses every "
                "shim (an empty file is not the embedded default: omit --config for that)"]
    return []


def parse_config(data: Mapping[str, Any], source: str = "<config>",
                 environ: Mapping[str, str] | None = None) -> TickbridgeConfig:
    """Validates ``data`` (with env overrides from ``environ``, default os.environ)."""
    raw = json.loads(json.dumps(data, default=str))  # deep copy, TOML dates as text
    errors = _apply_env(raw, os.environ if environ is None else environ)
    errors += cross_check(raw)
    context: dict[str, Any] = {"cross_checked": True}
    contracts_file = raw.get("contracts_file")
    if contracts_file:
        from tickbridge.contracts import load_specs

        try:
            context["contract_specs"] = load_specs(contracts_file)
        except (OSError, ValueError) as e:
            errors.append(f"contracts_file: {e}")
    try:
        config = TickbridgeConfig.model_validate(raw, context=context)
    except ValidationError as e:
        errors = _format_pydantic(e) + errors
        config = None
    if errors:
        raise ConfigError(source, errors)
    assert config is not None
    return config


def read_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(str(path), [f"(file): cannot read it: {e.strerror}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), [f"(file): not valid TOML: {e}"]) from None


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> TickbridgeConfig:
    """The config in TOML file ``path``, env overrides applied; ConfigError lists all errors."""
    return parse_config(read_toml(path), str(path), environ)


DEFAULT_CONFIG_TEXT = resources.files("tickbridge.config").joinpath("default.toml")


def default_config(environ: Mapping[str, str] | None = None) -> TickbridgeConfig:
    """The embedded default (paper, simulator, ES and NQ), as the demo runs it."""
    data = tomllib.loads(DEFAULT_CONFIG_TEXT.read_text())
    return parse_config(data, "default config", {} if environ is None else environ)


def config_or_default(path: str | Path | None) -> TickbridgeConfig:
    """``path``'s config, or the embedded default when None; env overrides apply to both
    (what every command with an optional ``--config`` means)."""
    return load_config(path) if path else default_config(os.environ)
