"""Runtime reload of the risk limits: validated first, then diffed for the audit log.

The engine calls ``reload_risk_limits`` and, when it returns, audits the diff and applies
the limits with ``RiskGateHandle.replace_limits``. A refused reload raises ConfigError
and changes nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import ValidationError

from tickbridge.config.loader import ConfigError, _format_pydantic, cross_check
from tickbridge.config.models import TickbridgeConfig
from tickbridge.risk.limits import RiskLimits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _flatten(data: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, dict):
        for k, v in data.items():
            _flatten(v, f"{prefix}.{k}", out)
    else:
        out[prefix] = data
    return out


def diff_limits(old: RiskLimits, new: RiskLimits) -> list[str]:
    """One ``risk.path: old -> new`` line per changed, added or removed value."""
    a = _flatten(old.model_dump(), "risk", {})
    b = _flatten(new.model_dump(), "risk", {})
    lines = []
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            lines.append(f"{key}: {a[key]!r} -> (removed)")
        elif key not in a:
            lines.append(f"{key}: (added) -> {b[key]!r}")
        elif a[key] != b[key]:
            lines.append(f"{key}: {a[key]!r} -> {b[key]!r}")
    return lines


def reload_risk_limits(current: RiskLimits, new_toml: str,
                       config: TickbridgeConfig | None = None) -> tuple[RiskLimits, list[str]]:
    """Validates ``new_toml`` (a whole config with a ``[risk]`` table, or the risk tables
    alone) and returns (new limits, diff against ``current``). With ``config``, names in
    the new limits must be its instruments and accounts. Raises ConfigError listing every
    error; nothing is applied here."""
    try:
        data = tomllib.loads(new_toml)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("risk reload", [f"(text): not valid TOML: {e}"]) from None
    risk = data.get("risk", data)
    errors: list[str] = []
    if config is not None:
        base = config.model_dump(mode="python")
        base["risk"] = risk
        errors += [e for e in cross_check(base) if e.startswith("risk.")]
    try:
        limits = RiskLimits.model_validate(risk)
    except ValidationError as e:
        raise ConfigError("risk reload", _format_pydantic(e, "risk") + errors) from None
    if errors:
        raise ConfigError("risk reload", errors)
    return limits, diff_limits(current, limits)
