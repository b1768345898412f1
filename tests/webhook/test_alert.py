"""The alert schema: JSON and plain text, the fields and their errors."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tickbridge.webhook.alert import AlertError, parse_alert

T = int(datetime(2026, 11, 18, 14, 30, tzinfo=timezone.utc).timestamp()) * 1_000_000_000


def test_tradingview_json_template():
    body = (b'{"strategy": "trend", "secret": "s", "action": "BUY", "exchange": "CME_MINI", '
            b'"symbol": "ES1!", "quantity": "2", "order_type": "limit", "price": "6000.25", '
            b'"alert_id": "trend-17", "timestamp": "2026-11-18T14:30:00Z", "tif": "gtc"}')
    a = parse_alert(body)
    assert (a.strategy, a.action, a.symbol, a.quantity, a.order_type, a.price, a.tif,
            a.alert_id, a.timestamp_ns, a.secret) == (
        "trend", "buy", "CME_MINI:ES1!", 2, "LIMIT", 6000.25, "GTC", "trend-17", T, "s")
    assert a.describe() == "buy 2 CME_MINI:ES1! limit @ 6000.25"


def test_plain_text_key_value_pairs():
    a = parse_alert(b"action=sell, symbol=MNQZ2026; quantity=1\norder_type=stop stop_price=21000"
                    b" timestamp=1795012200", strategy="trend")
    assert (a.strategy, a.action, a.symbol, a.order_type, a.stop_price, a.timestamp_ns) == (
        "trend", "sell", "MNQZ2026", "STOP", 21000.0, T)


@pytest.mark.parametrize("stamp", [1795012200, 1795012200000, 1795012200000000,
                                   1795012200000000000, "2026-11-18T08:30:00-06:00"])
def test_timestamps_in_seconds_ms_us_ns_or_iso(stamp):
    body = f'{{"action": "close", "symbol": "ES1!", "timestamp": {stamp!r}}}'.replace("'", '"')
    assert parse_alert(body.encode(), strategy="x").timestamp_ns == T


@pytest.mark.parametrize(("body", "field", "words"), [
    (b'{"action": "buy", "symbol": "ES1!", "quantity": 1}', "strategy", "required"),
    (b'{"strategy": "a", "action": "buy", "symbol": "ES1!"}', "quantity", "required"),
    (b'{"strategy": "a", "action": "buy", "symbol": "ES1!", "quantity": 1, "qty": 1}', "qty",
     "did you mean 'quantity'"),
    (b'{"strategy": "a", "action": "close", "symbol": "ES1!", "timestamp": "2026-11-18T14:30"}',
     "timestamp", "time zone"),
    (b'{"strategy": "a", "action": "buy", "symbol": "ES1!", "quantity": 1, '
     b'"order_type": "stop_limit", "price": 1}', "stop_price", "required"),
    (b'{"strategy": "a", "action": "buy", "symbol": "ES1!", "quantity": true}', "quantity",
     "true/false"),
    (b'{"strategy": "a", "action": "buy", "symbol": ["ES1!"], "quantity": 1}', "symbol",
     "must be text"),
    (b"strategy=a action=buy action=sell", "action", "twice"),
    (b"\xff\xfe", "(body)", "UTF-8"),
])
def test_errors_name_the_field(body, field, words):
    with pytest.raises(AlertError) as e:
        parse_alert(body)
    assert e.value.field == field
    assert words in str(e.value)


def test_url_and_body_must_agree_on_the_strategy():
    with pytest.raises(AlertError, match="URL names 'b'"):
        parse_alert(b'{"strategy": "a", "action": "close", "symbol": "ES1!"}', strategy="b")
