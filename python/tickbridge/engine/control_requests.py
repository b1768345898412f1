"""The control socket's requests as strict models: each field has one type, checked
before anything runs. A boolean is not a quantity, a float is not a count, null is not a
number, and an unknown field is an error. Every error names its field.

pydantic's strict mode refuses the coercions that JSON invites (``true`` -> 1,
``1e20`` -> int, ``"5"`` -> 5); the bounds keep numbers inside what the wire protocol's
fields hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# An order is at most this many contracts at the control boundary (the risk gate's
# max_order_qty is the real limit; this one keeps absurd numbers out of the core).
MAX_QUANTITY = 1_000_000
MAX_COID = (1 << 64) - 1

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Price = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=128)]  # the webhook's alert ids: 128


def _upper(value: Any) -> Any:
    # Case is not a type: "buy" and "BUY" are the same side. Anything but a string is
    # left for the strict check to refuse.
    return value.upper().replace("-", "_") if isinstance(value, str) else value


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    cmd: str
    token: str | None = None  # checked by the server before the model (control_auth)
    source: Name = "control"


def _client_order_id(value: int | str | None) -> int | None:
    """A client order id as a number, or as its text form ``TB%016X``."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.upper().startswith("TB"):
            raise ValueError("a number, or the text form TB followed by 16 hex digits")
        try:
            value = int(value[2:], 16)
        except ValueError:
            raise ValueError("TB must be followed by hex digits") from None
    if not 0 < value <= MAX_COID:
        raise ValueError(f"must be between 1 and {MAX_COID}")
    return value


class _Coid(_Request):
    client_order_id: int | str

    _coid = field_validator("client_order_id")(_client_order_id)

    @property
    def coid(self) -> int:
        return int(self.client_order_id)


class Empty(_Request):
    pass


class SymbolRequest(_Request):
    symbol: Name


class OrderRequest(_Coid):
    pass


class KillRequest(_Request):
    flatten: bool = False
    account: Name | None = None


class AuditKillRequest(_Request):
    flatten: bool = False
    account: Name | None = None
    outcomes: list[dict[str, Any]] = Field(default_factory=list, max_length=256)


class SetStateRequest(_Request):
    state: Literal["ACTIVE", "REDUCING_ONLY", "REDUCING", "HALTED"]
    account: Name | None = None

    _state = field_validator("state", mode="before")(_upper)

    @property
    def state_name(self) -> str:
        return "REDUCING_ONLY" if self.state == "REDUCING" else self.state


class SubmitRequest(_Request):
    symbol: Name
    side: Literal["BUY", "SELL"]
    quantity: Quantity
    order_type: Literal["MARKET", "LIMIT", "STOP", "STOP_LIMIT"] = "MARKET"
    price: Price | None = None
    stop_price: Price | None = None
    tif: Literal["DAY", "GTC", "IOC", "FOK"] = "DAY"
    alert_id: Name | None = None  # the webhook's, for the audit trail

    _names = field_validator("side", "order_type", "tif", mode="before")(_upper)


class ReplaceRequest(_Coid):
    quantity: Quantity | None = None
    price: Price | None = None


class CancelRequest(_Request):
    symbol: Name | None = None
    client_order_id: int | str | None = None

    _coid = field_validator("client_order_id")(_client_order_id)


class CopierSyncRequest(_Request):
    account: Name | None = None  # one follower; default every follower
    policy: Literal["resync", "alert", "halt"] | None = None  # default: the configured one


class ReloadRiskRequest(_Request):
    toml: str = Field(min_length=1, max_length=1_000_000)


MODELS: dict[str, type[_Request]] = {
    "status": Empty,
    "dashboard": Empty,
    "symbols": Empty,
    "position": SymbolRequest,
    "market": SymbolRequest,
    "order": OrderRequest,
    "kill": KillRequest,
    "audit_kill": AuditKillRequest,
    "set_state": SetStateRequest,
    "submit": SubmitRequest,
    "replace": ReplaceRequest,
    "cancel": CancelRequest,
    "reload_risk": ReloadRiskRequest,
    "copier_status": Empty,
    "copier_sync": CopierSyncRequest,
}


def describe(error: ValidationError) -> str:
    """One ``field: why (got value)`` per bad field, the field named first."""
    by_field: dict[str, list[str]] = {}
    got: dict[str, str] = {}
    for e in error.errors():
        # A union's members add their type to the loc (quantity.int): the field is the rest.
        loc = [str(p) for p in e["loc"] if not (isinstance(p, str) and p in _TYPE_LABELS)]
        field = ".".join(loc) or "(request)"
        message = e["msg"].removeprefix("Value error, ")
        if message not in by_field.setdefault(field, []):
            by_field[field].append(message)
        if e["type"] != "missing" and field != "token":  # a token is never echoed
            got[field] = f" (got {e['input']!r})"
    return "; ".join(f"{field}: {' or '.join(messages)}{got.get(field, '')}"
                     for field, messages in by_field.items())


_TYPE_LABELS = {"int", "str", "float", "bool", "none", "list", "dict"}


def parse(request: dict[str, Any]) -> _Request | str:
    """The request as its command's model, or the error text naming each bad field."""
    cmd = request.get("cmd")
    model = MODELS.get(cmd) if isinstance(cmd, str) else None
    if model is None:
        return f"cmd: unknown command {cmd!r}; one of {', '.join(MODELS)}"
    try:
        return model.model_validate(request)
    except ValidationError as e:
        return describe(e)
