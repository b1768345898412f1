"""A TradingView alert body, JSON or plain text, parsed into one ``Alert`` or refused with
the field that was wrong (docs/webhook.md has the schema).

TradingView posts the alert message as it is: ``application/json`` when the text parses as
JSON, ``text/plain`` otherwise; it cannot add headers or sign. So the body carries
everything, placeholders already filled in (``{{ticker}}``, ``{{strategy.order.action}}``,
``{{strategy.order.contracts}}``, ``{{timenow}}``).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

ACTIONS = ("buy", "sell", "close", "reverse", "cancel")
ORDER_TYPES = ("MARKET", "LIMIT", "STOP", "STOP_LIMIT")
TIFS = ("DAY", "GTC", "IOC", "FOK")
FIELDS = ("strategy", "secret", "action", "symbol", "exchange", "quantity", "order_type",
          "price", "stop_price", "tif", "alert_id", "timestamp", "comment")
# Names other bridges and TradingView's own placeholders use: suggested, never guessed.
_ALIASES = {"qty": "quantity", "contracts": "quantity", "size": "quantity",
            "ticker": "symbol", "side": "action", "type": "order_type", "id": "alert_id",
            "time": "timestamp", "timenow": "timestamp", "passphrase": "secret"}
_TEXT_SPLIT = re.compile(r"[\s,;]+")
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class AlertError(ValueError):
    """The body is not an alert; ``field`` names what was wrong ("(body)" for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Alert:
    strategy: str
    action: str                 # one of ACTIONS
    symbol: str                 # as TradingView sent it, e.g. CME_MINI:ES1!
    quantity: int | None        # None: close/cancel, or reverse by the position's size
    order_type: str             # one of ORDER_TYPES
    price: float | None
    stop_price: float | None
    tif: str
    alert_id: str | None
    timestamp_ns: int | None
    secret: str | None

    def describe(self) -> str:
        qty = "" if self.quantity is None else f" {self.quantity}"
        price = "" if self.price is None else f" @ {self.price:g}"
        return f"{self.action}{qty} {self.symbol} {self.order_type.lower()}{price}"


def parse_alert(body: bytes, *, strategy: str | None = None) -> Alert:
    """The alert in ``body``; ``strategy`` is the one named by the URL path, if any."""
    fields = _fields(body)
    unknown = [k for k in fields if k not in FIELDS]
    if unknown:
        close = ([_ALIASES[unknown[0]]] if unknown[0] in _ALIASES else
                 difflib.get_close_matches(unknown[0], FIELDS, n=1, cutoff=0.6))
        hint = f"; did you mean {close[0]!r}?" if close else f" (fields: {', '.join(FIELDS)})"
        raise AlertError(unknown[0], f"unknown field{hint}")
    named = _text(fields, "strategy", required=strategy is None)
    if strategy is not None and named is not None and named != strategy:
        raise AlertError("strategy", f"the body names {named!r} but the URL names {strategy!r}")
    action = (_text(fields, "action", required=True) or "").lower()
    if action not in ACTIONS:
        raise AlertError("action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    symbol = _text(fields, "symbol", required=action != "cancel") or ""
    exchange = _text(fields, "exchange")
    if exchange and symbol and ":" not in symbol:
        symbol = f"{exchange}:{symbol}"  # {{exchange}} and {{ticker}} sent apart
    quantity = _quantity(fields.get("quantity"), required=action in ("buy", "sell"))
    order_type = (_text(fields, "order_type") or "market").upper().replace("-", "_")
    order_type = {"STOPLIMIT": "STOP_LIMIT"}.get(order_type, order_type)
    if order_type not in ORDER_TYPES:
        raise AlertError("order_type", f"{order_type.lower()!r} is not one of "
                                       f"{', '.join(t.lower() for t in ORDER_TYPES)}")
    price = _price(fields, "price", required=order_type in ("LIMIT", "STOP_LIMIT"),
                   why=f"a {order_type.lower()} order needs it")
    stop_price = _price(fields, "stop_price", required=order_type in ("STOP", "STOP_LIMIT"),
                        why=f"a {order_type.lower()} order needs it")
    tif = (_text(fields, "tif") or "day").upper()
    if tif not in TIFS:
        raise AlertError("tif", f"{tif.lower()!r} is not one of {', '.join(TIFS).lower()}")
    alert_id = _text(fields, "alert_id")
    if alert_id is not None and not _ID.match(alert_id):
        raise AlertError("alert_id", "use 1-128 letters, digits, '_', '.', ':' or '-'")
    return Alert(strategy=strategy or named or "", action=action, symbol=symbol,
                 quantity=quantity, order_type=order_type, price=price,
                 stop_price=stop_price, tif=tif, alert_id=alert_id,
                 timestamp_ns=_timestamp(fields.get("timestamp")),
                 secret=_text(fields, "secret"))


def _fields(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise AlertError("(body)", f"not UTF-8 text (byte {e.start})") from None
    if not text:
        raise AlertError("(body)", "empty")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise AlertError("(body)", f"not valid JSON: {e.msg} at line {e.lineno} column "
                                       f"{e.colno}") from None
        if not isinstance(data, dict):
            raise AlertError("(body)", "JSON must be an object")
        return {str(k).strip().lower(): v for k, v in data.items()}
    # Plain text: key=value pairs separated by spaces, commas, semicolons or new lines.
    out: dict[str, Any] = {}
    for token in _TEXT_SPLIT.split(text):
        if not token:
            continue
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise AlertError("(body)", f"plain-text alerts are key=value pairs; {token[:40]!r} "
                                       "is not one")
        key = key.strip().lower()
        if key in out:
            raise AlertError(key, "given twice")
        out[key] = value
    return out


def _text(fields: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise AlertError(name, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise AlertError(name, f"must be text, not {type(value).__name__}")
    return str(value).strip()


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise AlertError(name, "must be a number, not true/false")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AlertError(name, f"{str(value)[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise AlertError(name, f"{value!r} is not a finite number")
    return number


def _quantity(value: Any, *, required: bool) -> int | None:
    if value is None or value == "":
        if required:
            raise AlertError("quantity", "required for buy and sell")
        return None
    number = _number("quantity", value)
    if number <= 0 or number != int(number):
        raise AlertError("quantity", f"{value!r} must be a positive whole number of contracts")
    return int(number)


def _price(fields: dict[str, Any], name: str, *, required: bool, why: str) -> float | None:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise AlertError(name, f"required: {why}")
        return None
    number = _number(name, value)
    if number <= 0:
        raise AlertError(name, f"{value!r} must be positive")
    return number


def _timestamp(value: Any) -> int | None:
    """UTC nanoseconds from ISO 8601 (``{{timenow}}``: 2026-11-18T14:30:00Z) or a Unix
    time in seconds, milliseconds or nanoseconds (told apart by size)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise AlertError("timestamp", f"{value[:40]!r} is neither ISO 8601 "
                                          "(2026-11-18T14:30:00Z) nor a Unix time") from None
        if when.tzinfo is None:
            raise AlertError("timestamp", "needs a time zone (TradingView's {{timenow}} ends "
                                          "in Z)")
        return int(when.astimezone(timezone.utc).timestamp() * 1e9)
    number = _number("timestamp", value)
    if number <= 0:
        raise AlertError("timestamp", f"{value!r} must be positive")
    for limit, scale in ((1e11, 1e9), (1e14, 1e6), (1e17, 1e3)):  # s, ms, us
        if number < limit:
            return int(number * scale)
    return int(value) if isinstance(value, int) else int(number)  # ns
