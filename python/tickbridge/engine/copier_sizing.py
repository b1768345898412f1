"""The copier's arithmetic, pure: a leader quantity or position to a follower's, and a
leader instrument to the follower's (root map, contract month). No engine state here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from tickbridge.config.copier import FollowerConfig, InstrumentMapConfig, Rounding
from tickbridge.contracts import Contract, SymbolError, resolve


def rounded(value: float, rule: Rounding) -> int:
    """``value`` (>= 0) to contracts by ``rule`` (config/copier.py states the rules)."""
    if value < 0:
        raise ValueError(f"rounded() takes a magnitude, not {value}")
    # A ratio like 0.1 x 30 is 3.0000000000000004 in floating point: that is 3, not a
    # fraction to round up.
    value = round(value, 9)
    if rule == "floor":
        return math.floor(value)
    if rule == "ceil":
        return math.ceil(value)
    return math.floor(value + 0.5)


def map_for(follower: FollowerConfig, leader_root: str) -> InstrumentMapConfig | None:
    return next((m for m in follower.instruments if m.leader == leader_root), None)


def sized(leader_quantity: int, follower: FollowerConfig, map_ratio: float = 1.0) -> int:
    """A signed leader position (or order quantity) as the follower's, signed: its sizing
    rule, then the instrument map's ratio, rounded once, capped at ``max``, and negated
    for an opposite follower. Sizing the position (not each fill) keeps rounding from
    accumulating: a ratio-0.5 follower of a leader that bought 1 then 1 holds 1, not 2."""
    if leader_quantity == 0:
        return 0
    rule = follower.sizing
    if rule.kind == "fixed":
        assert rule.quantity is not None
        magnitude = rounded(rule.quantity * map_ratio, rule.rounding)
    else:
        assert rule.ratio is not None
        magnitude = rounded(abs(leader_quantity) * rule.ratio * map_ratio, rule.rounding)
    magnitude = min(magnitude, rule.max)
    sign = 1 if leader_quantity > 0 else -1
    return magnitude * sign * (-1 if follower.direction == "opposite" else 1)


@lru_cache(maxsize=1024)
def contract_of(symbol: str) -> Contract | None:
    """A platform's instrument symbol as a contract (None: not one tickbridge reads)."""
    try:
        return resolve(symbol)
    except SymbolError:
        return None


@dataclass(frozen=True)
class Mapped:
    """A leader instrument as a follower trades it: which of its symbols, and the ratio."""

    symbol: str
    ratio: float


def follower_symbol(leader_symbol: str, follower: FollowerConfig,
                    follower_symbols: list[str]) -> Mapped | str:
    """The follower's symbol for ``leader_symbol`` among the ones its shim defines, or why
    there is none."""
    leader = contract_of(leader_symbol)
    if leader is None:
        return f"{leader_symbol}: not a contract the resolver reads"
    mapping = map_for(follower, leader.root)
    root = mapping.follower if mapping is not None else leader.root
    ratio = mapping.ratio if mapping is not None else 1.0
    if mapping is not None and mapping.contract == "front":
        wanted = resolve(root)
        month = (wanted.year, wanted.month)
    else:
        month = (leader.year, leader.month)
    for symbol in follower_symbols:
        contract = contract_of(symbol)
        if contract is not None and contract.root == root and \
                (contract.year, contract.month) == month:
            return Mapped(symbol, ratio)
    return (f"{follower.account} trades no {root} contract for {leader.code} "
            f"(its shim defines: {', '.join(follower_symbols) or 'none'})")
