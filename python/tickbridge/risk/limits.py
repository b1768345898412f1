"""Risk limits as declared in the config (``[risk]``), validated by pydantic.

These models only describe; ``tickbridge.risk.gate`` turns them into the compiled gate.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

_BAND_KEYS = ("band_ticks", "band_percent")


def _one_band(band_percent: float | None, info: ValidationInfo, required: bool) -> float | None:
    # A field validator on the last band field (not a model validator): it runs even when
    # another field of the table is wrong, so every error of the table is listed at once.
    if "band_ticks" not in info.data:
        return band_percent  # band_ticks itself is invalid and reported there
    band_ticks = info.data["band_ticks"]
    if band_ticks is not None and band_percent is not None:
        raise ValueError(f"band_ticks ({band_ticks}) and band_percent ({band_percent}) both "
                         "set: keep one")
    if required and band_ticks is None and band_percent is None:
        raise ValueError("set one of band_ticks or band_percent")
    return band_percent


class InstrumentRisk(BaseModel):
    """Per-instrument limits. Exactly one of ``band_ticks`` / ``band_percent``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_order_qty: int = Field(1, gt=0, description="largest single order, contracts")
    max_position: int = Field(1, gt=0, description="largest |projected position|")
    band_basis: Literal["last_trade", "mid"] = "last_trade"
    max_data_age_ms: int = Field(5000, gt=0, description="older reference price = stale")
    tick_policy: Literal["reject", "round_passive"] = "reject"
    band_ticks: float | None = Field(None, gt=0, description="band half-width in ticks")
    band_percent: float | None = Field(None, gt=0, le=100, validate_default=True,
                                       description="band half-width in % of the reference")

    @field_validator("band_percent")
    @classmethod
    def _band(cls, value: float | None, info: ValidationInfo) -> float | None:
        return _one_band(value, info, required=True)


class InstrumentRiskOverride(BaseModel):
    """``[risk.instruments.SYMBOL]``: only what differs from ``[risk.defaults]``. A band in
    either unit replaces the default band."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_order_qty: int | None = Field(None, gt=0)
    max_position: int | None = Field(None, gt=0)
    band_basis: Literal["last_trade", "mid"] | None = None
    max_data_age_ms: int | None = Field(None, gt=0)
    tick_policy: Literal["reject", "round_passive"] | None = None
    band_ticks: float | None = Field(None, gt=0)
    band_percent: float | None = Field(None, gt=0, le=100)

    @field_validator("band_percent")
    @classmethod
    def _band(cls, value: float | None, info: ValidationInfo) -> float | None:
        return _one_band(value, info, required=False)


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
    instruments: dict[str, InstrumentRiskOverride] = Field(default_factory=dict)
    default_account: AccountRisk = AccountRisk()
    accounts: dict[str, AccountRisk] = Field(default_factory=dict)

    def for_instrument(self, symbol: str) -> InstrumentRisk:
        """The effective limits of ``symbol``: its overrides over the defaults."""
        override = self.instruments.get(symbol)
        if override is None:
            return self.defaults
        changes = override.model_dump(exclude_none=True)
        merged = self.defaults.model_dump()
        if any(k in changes for k in _BAND_KEYS):
            merged.update(band_ticks=None, band_percent=None)
        return InstrumentRisk.model_validate({**merged, **changes})

    def for_account(self, account: str) -> AccountRisk:
        return self.accounts.get(account, self.default_account)
