"""``[copier]``: a leader account whose trades (made by hand, or by another tool) are
copied to follower accounts on any shim, each sized, mapped and checked by its own risk
gate (docs/copier.md). Strict: every error names its field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ACCOUNT = r"^[A-Za-z0-9_.\-]{1,32}$"  # as [[accounts]].name (the Hello account field)
_ROOT = r"^[A-Z0-9]{1,8}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeaderConfig(_Strict):
    account: str = Field(pattern=_ACCOUNT, description="the account whose trades are copied")
    platform: Literal["sierra_chart", "ninjatrader", "simulator"] | None = Field(
        None, description="the platform its shim must report (none: any)")


# How a fractional size becomes contracts, on the magnitude (a short position rounds as
# the long one): half_away = nearest, halves away from zero (1.5 -> 2); floor = toward
# zero (1.9 -> 1); ceil = away from zero (1.1 -> 2).
Rounding = Literal["half_away", "floor", "ceil"]


class SizingConfig(_Strict):
    """``fixed``: the follower holds ``quantity`` contracts whenever the leader holds any,
    in the leader's direction (a mirrored order is ``quantity`` contracts). ``ratio``: the
    leader's position (or order quantity) times ``ratio``, rounded by ``rounding``.
    ``max``: the largest position the follower is sized to (so also its largest order)."""

    kind: Literal["fixed", "ratio"]
    quantity: int | None = Field(None, ge=1, le=10_000, description="fixed: contracts")
    ratio: float | None = Field(None, gt=0, le=1000, description="ratio: follower/leader")
    rounding: Rounding = "half_away"
    max: int = Field(ge=1, le=100_000, description="largest follower position, contracts")

    @model_validator(mode="after")
    def _one_rule(self) -> SizingConfig:
        if self.kind == "fixed" and (self.quantity is None or self.ratio is not None):
            raise ValueError("kind 'fixed' takes quantity (and no ratio)")
        if self.kind == "ratio" and (self.ratio is None or self.quantity is not None):
            raise ValueError("kind 'ratio' takes ratio (and no quantity)")
        return self


class InstrumentMapConfig(_Strict):
    """The leader's ``leader`` root traded as ``follower`` (ES as MES), its quantity times
    ``ratio`` (10 MES for 1 ES). ``contract``: ``same_month`` trades the leader's contract
    month; ``front`` the follower root's front month by the contract resolver."""

    leader: str = Field(pattern=_ROOT)
    follower: str = Field(pattern=_ROOT)
    ratio: float = Field(1.0, gt=0, le=1000)
    contract: Literal["same_month", "front"] = "same_month"

    @field_validator("leader", "follower")
    @classmethod
    def _known_root(cls, value: str) -> str:
        from tickbridge.contracts import SymbolError, resolve

        try:
            contract = resolve(value)
        except SymbolError as e:
            raise ValueError(str(e)) from None
        if contract.root != value:
            raise ValueError(f"{value!r} is not a contract root (it names {contract.code})")
        return value


class FollowerConfig(_Strict):
    account: str = Field(pattern=_ACCOUNT)
    sizing: SizingConfig
    instruments: list[InstrumentMapConfig] = Field(
        default_factory=list, description="root maps; a root not listed trades as itself")
    direction: Literal["same", "opposite"] = "same"
    enabled: bool = True

    @field_validator("instruments")
    @classmethod
    def _one_map_per_root(cls, value: list[InstrumentMapConfig]) -> list[InstrumentMapConfig]:
        return _once_each(value, "leader", "mapped")


def _once_each(items: list[Any], key: str, verb: str) -> list[Any]:
    """``items`` unchanged, or the first repeated ``key`` named with its index."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            raise ValueError(f"[{i}].{key}: {value!r} is {verb} twice")
        seen.add(value)
    return items


class CopierConfig(_Strict):
    leader: LeaderConfig
    followers: list[FollowerConfig] = Field(min_length=1, max_length=64)
    mode: Literal["mirror_orders", "copy_fills"] = Field(
        "copy_fills", description="mirror_orders: working orders copied, replaced, canceled; "
        "copy_fills: each leader fill becomes a follower order")
    order_type: Literal["market", "marketable_limit"] = Field(
        "market", description="copy_fills and resync orders: market, or a limit "
        "limit_offset_ticks through the last trade")
    limit_offset_ticks: int = Field(4, ge=0, le=1000)
    policy: Literal["resync", "alert", "halt"] = Field(
        "resync", description="a follower found off target: orders to the target through "
        "its gate, an audited alert only, or that follower halted")
    sync_interval_s: float = Field(5.0, ge=0, le=86_400, description="compare every "
                                   "follower with its target this often (0: on reconnect "
                                   "and on demand only)")

    @field_validator("followers")
    @classmethod
    def _distinct(cls, value: list[FollowerConfig]) -> list[FollowerConfig]:
        return _once_each(value, "account", "listed")

    @model_validator(mode="after")
    def _leader_not_follower(self) -> CopierConfig:
        for i, follower in enumerate(self.followers):
            if follower.account == self.leader.account:
                raise ValueError(f"followers[{i}].account: {follower.account!r} is the "
                                 "leader; an account cannot copy itself")
        return self

    def follower(self, account: str) -> FollowerConfig | None:
        return next((f for f in self.followers if f.account == account), None)


def copier_cross_check(copier: object, account_names: list[object]) -> list[str]:
    """The copier's accounts must be configured accounts (raw data, tolerant of types)."""
    if not isinstance(copier, dict):
        return []
    errors = []
    known = ", ".join(map(str, account_names)) or "none"
    leader = copier.get("leader")
    if isinstance(leader, dict) and isinstance(leader.get("account"), str) and \
            leader["account"] not in account_names:
        errors.append(f"copier.leader.account: {leader['account']!r} is not a configured "
                      f"account ({known})")
    followers = copier.get("followers")
    for i, follower in enumerate(followers if isinstance(followers, list) else []):
        if isinstance(follower, dict) and isinstance(follower.get("account"), str) and \
                follower["account"] not in account_names:
            errors.append(f"copier.followers[{i}].account: {follower['account']!r} is not a "
                          f"configured account ({known})")
    return errors
