"""The contract table: package data (contracts.toml) merged with an optional user file."""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MONTH_CODES = "FGHJKMNQUVXZ"
EXPIRY_RULES = ("third_friday", "cl_25th", "third_last_business_day",
                "business_days_before_last_business_day", "business_days_before_third_wednesday")
ROLL_RULES = ("calendar_days_before_expiry", "business_days_before_expiry",
              "business_days_before_first_notice")
GROUPS = ("equity_index", "energy", "metals", "interest_rates", "fx")


@dataclass(frozen=True)
class ContractSpec:
    root: str
    name: str
    exchange: str
    group: str
    tick_size: float
    point_value: float
    months: str
    expiry: str
    roll: str
    roll_days: int
    tradingview: str
    sierra_exchange: str
    expiry_days: int = 0

    @property
    def month_numbers(self) -> list[int]:
        return sorted(MONTH_CODES.index(c) + 1 for c in self.months)


class ContractTableError(ValueError):
    """A contract table entry is wrong; the message lists every problem."""


def _validate(root: str, entry: dict[str, Any]) -> list[str]:
    errors = []
    names = {f.name for f in fields(ContractSpec)} - {"root"}
    required = names - {"expiry_days"}
    errors += [f"{root}.{k}: unknown field" for k in sorted(set(entry) - names)]
    errors += [f"{root}.{k}: missing" for k in sorted(required - set(entry))]
    if entry.get("expiry", EXPIRY_RULES[0]) not in EXPIRY_RULES:
        errors.append(f"{root}.expiry: {entry['expiry']!r} is not one of {EXPIRY_RULES}")
    if entry.get("roll", ROLL_RULES[0]) not in ROLL_RULES:
        errors.append(f"{root}.roll: {entry['roll']!r} is not one of {ROLL_RULES}")
    if entry.get("group", GROUPS[0]) not in GROUPS:
        errors.append(f"{root}.group: {entry['group']!r} is not one of {GROUPS}")
    months = entry.get("months", "H")
    if not months or any(c not in MONTH_CODES for c in months):
        errors.append(f"{root}.months: {months!r} must be month codes from {MONTH_CODES}")
    for key in ("tick_size", "point_value"):
        value = entry.get(key, 1)
        if not isinstance(value, int | float) or value <= 0:
            errors.append(f"{root}.{key}: must be a positive number (got {value!r})")
    return errors


def load_specs(user_file: str | Path | None = None) -> dict[str, ContractSpec]:
    """The package table, with ``user_file``'s tables merged over it field by field."""
    text = resources.files("tickbridge.contracts").joinpath("contracts.toml").read_text()
    table: dict[str, dict[str, Any]] = tomllib.loads(text)
    if user_file is not None:
        with open(user_file, "rb") as f:
            for root, entry in tomllib.load(f).items():
                table[root] = {**table.get(root, {}), **entry}
    errors = [e for root, entry in table.items() for e in _validate(root, entry)]
    if errors:
        raise ContractTableError("contract table: " + "; ".join(errors))
    return {root: ContractSpec(root=root, **entry) for root, entry in table.items()}
