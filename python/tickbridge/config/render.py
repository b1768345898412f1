"""The effective config as TOML or JSON, secrets masked."""

from __future__ import annotations

import json
import math
from typing import Any

from tickbridge.config.models import TickbridgeConfig


def as_dict(config: TickbridgeConfig) -> dict[str, Any]:
    # mode="json" renders SecretStr as "**********": secrets never leave masked.
    return config.model_dump(mode="json", exclude_none=True)


def to_json(config: TickbridgeConfig) -> str:
    return json.dumps(as_dict(config), indent=2)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else
                                                         ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _table(data: dict[str, Any], path: list[str], out: list[str], header: str | None) -> None:
    plain = {k: v for k, v in data.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v and
                                                 all(isinstance(i, dict) for i in v))}
    if header is not None and (plain or not data):
        out.append(header)
    out.extend(f"{_key(k)} = {_scalar(v)}" for k, v in plain.items())
    for k, v in data.items():
        if k in plain:
            continue
        sub = [*path, _key(k)]
        if isinstance(v, dict):
            if out and out[-1] != "":
                out.append("")
            _table(v, sub, out, f"[{'.'.join(sub)}]")
        else:
            for item in v:
                if out and out[-1] != "":
                    out.append("")
                out.append(f"[[{'.'.join(sub)}]]")
                # nested tables inside array items are written inline
                out.extend(f"{_key(ik)} = {_scalar(iv)}" for ik, iv in item.items())


def to_toml(config: TickbridgeConfig | dict[str, Any]) -> str:
    data = as_dict(config) if isinstance(config, TickbridgeConfig) else config
    out: list[str] = []
    _table(data, [], out, None)
    return "\n".join(out) + "\n"
