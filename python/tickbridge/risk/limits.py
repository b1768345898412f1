"""Risk limits as declared in the config (``[risk]``), validated by pydantic.

These models only describe; ``tickbridge.risk.gate`` turns them into the compiled gate.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_BAND_KEYS = ("band_ticks", "band_percent")


class InstrumentRisk(BaseModel):
    """Per-instrument limits. Exactly one of ``band_ticks`` / ``band_percent``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_order_qty: int = Field(1, gt=0, description="largest single order, contracts")
    max_position: int = Field(1, gt=0, description="largest |projected position|")
    band_basis: Literal["last_trade", "mid"] = "last_trade"
    band_ticks: float | None = Field(None, gt=0, description="band half-width in ticks")
    band_percent: float | None = Field(None, gt=0, le=100, description="band half-width in %")
    max_data_age_ms: int = Field(5000, gt=0, description="older reference price = stale")
    tick_policy: Literal["reject", "round_passive"] = "reject"

    @model_validator(mode="after")
    def _one_band(self) -> InstrumentRisk:
        if self.band_ticks is None and self.band_percent is None:
            raise ValueError("set one of band_ticks or band_percent")
        if self.band_ticks is not None and self.band_percent is not None:
            raise ValueError(f"band_ticks ({self.band_ticks}) and band_percent "
                             f"({self.band_percent}) both set: keep one")
        return self


class AccountRisk(BaseModel):
    """Per-account limits; 0 disables a limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_position: int = Field(0, ge=0, description="sum of |projected position| over instruments")
    daily_loss_limit: float = Field(0.0, ge=0, description="realized + unrealized loss, currency")
    on_daily_loss: Literal["reducing_only", "halted"] = "reducing_only"
    max_orders_per_second: int = Field(0, ge=0)
    max_orders_per_minute: int = Field(0, ge=0)
    max_orders_per_hour: int = Field(0, ge=0)
    allowed_instruments: list[str] = Field(
        default_factory=list, description="symbols this account may trade; empty = all configured")


class RiskLimits(BaseModel):
    """``[risk]``: instrument defaults, per-instrument overrides, per-account limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: InstrumentRisk = InstrumentRisk(band_ticks=40)
    instruments: dict[str, InstrumentRisk] = Field(default_factory=dict)
    default_account: AccountRisk = AccountRisk()
    accounts: dict[str, AccountRisk] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        # An instrument table names only what differs from [risk.defaults]; a band given in
        # either unit replaces the default band instead of clashing with it.
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults", {})
        if isinstance(defaults, BaseModel):
            defaults = defaults.model_dump(exclude_none=True)
        instruments = data.get("instruments")
        if not isinstance(defaults, dict) or not isinstance(instruments, dict):
            return data
        merged = {}
        for symbol, entry in instruments.items():
            if isinstance(entry, BaseModel):
                entry = entry.model_dump(exclude_none=True)
            if isinstance(entry, dict):
                base = {k: v for k, v in defaults.items()
                        if not (k in _BAND_KEYS and any(b in entry for b in _BAND_KEYS))}
                entry = {**base, **entry}
            merged[symbol] = entry
        return {**data, "instruments": merged}

    def for_instrument(self, symbol: str) -> InstrumentRisk:
        return self.instruments.get(symbol, self.defaults)

    def for_account(self, account: str) -> AccountRisk:
        return self.accounts.get(account, self.default_account)
