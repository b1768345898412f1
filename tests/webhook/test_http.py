"""The webhook over real HTTP in front of a real engine and the platform simulator."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.waiting import wait_until

from .conftest import (
    HMAC_KEY,
    SECRET,
    SIGNED_SECRET,
    alert,
    alert_id,
    now_iso,
    running_hook,
    sign,
    webhook_config,
)


def _submits(bed, **match):
    return bed.audited("order_submit", **match)


def test_good_alert_becomes_an_order_at_the_simulator(hook, bed):
    before = bed.position("ESZ6")
    body = alert(action="buy", quantity=1)
    r = hook.post(body)
    assert r.status_code == 202
    assert r.json()["status"] == "accepted" and r.json()["symbol"] == "ESZ6"
    assert r.elapsed.total_seconds() < 1.0  # TradingView gives up at 3 s
    record = hook.outcome(body["alert_id"])
    assert record["state"] == "placed"
    coid = record["outcome"]["client_order_id"]
    # The engine placed it for this strategy, and the simulator filled it.
    assert _submits(bed, client_order_id=coid, strategy="webhook:trend")
    wait_until(lambda: bed.position("ESZ6") == before + 1)
    # close: the opposite of the position, whatever it is
    close = alert(action="close", quantity=None)
    assert hook.post(close).status_code == 202
    assert hook.outcome(close["alert_id"])["state"] == "placed"
    wait_until(lambda: bed.position("ESZ6") == 0)


def test_plain_text_alert_with_the_secret_in_the_path(hook, bed):
    ident = alert_id()
    text = (f"action=sell symbol=NQ1! quantity=1 alert_id={ident} timestamp={now_iso()}\n")
    r = hook.post(text, path=f"/webhook/trend/{SECRET}", headers={"content-type": "text/plain"})
    assert r.status_code == 202, r.text
    assert r.json()["symbol"] == "NQZ6"
    assert hook.outcome(ident)["state"] == "placed"
    wait_until(lambda: bed.position("NQZ6") == -1)
    # reverse: from short 1 to long 1 in one order of 2
    rev = alert(action="reverse", symbol="NQ1!", quantity=None)
    assert hook.post(rev).status_code == 202
    outcome = hook.outcome(rev["alert_id"])["outcome"]
    assert (outcome["side"], outcome["quantity"]) == ("BUY", 2)
    wait_until(lambda: bed.position("NQZ6") == 1)
    flat = alert(action="close", symbol="NQ1!", quantity=None)
    hook.post(flat)
    hook.outcome(flat["alert_id"])
    wait_until(lambda: bed.position("NQZ6") == 0)


def test_cancel_takes_back_the_strategy_working_orders(hook, bed):
    last = bed.engine.router.market("ESZ6")["last_price"]
    resting = alert(action="buy", order_type="limit", price=last - 20 * 0.25)
    assert hook.post(resting).status_code == 202
    coid = hook.outcome(resting["alert_id"])["outcome"]["client_order_id"]
    wait_until(lambda: any(o["client_order_id"] == f"TB{coid:016X}"
                         for o in bed.status()["working_orders"]))
    cancel = alert(action="cancel", symbol=None, quantity=None)
    assert hook.post(cancel).status_code == 202
    record = hook.outcome(cancel["alert_id"])
    assert record["state"] == "done" and record["outcome"]["canceled"] == [coid]
    wait_until(lambda: not bed.status()["working_orders"])


@pytest.mark.parametrize(("change", "path"), [
    ({"secret": "not-the-secret-0123456789"}, "/webhook"),
    ({"secret": None}, "/webhook"),
    ({"strategy": "nobody"}, "/webhook"),
    ({"secret": None, "strategy": None}, "/webhook/trend/wrong-secret-0123456789"),
    ({"timestamp": "2026-01-02T03:04:05Z"}, "/webhook"),  # stale: a replay
])
def test_bad_credentials_get_401_with_nothing_said_and_nothing_placed(hook, bed, change, path):
    submits = len(bed.audited("order_submit"))
    body = alert(**change)
    r = hook.post(body, path=path)
    assert r.status_code == 401
    assert r.json() == {"ok": False, "error": "unauthorized"}
    assert hook.service.store.count() == 0
    assert hook.record("trend", body["alert_id"]).status_code == 404
    assert len(bed.audited("order_submit")) == submits


def test_signed_strategy_needs_the_right_signature(hook, bed):
    body = json.dumps(alert(strategy="signed", secret=SIGNED_SECRET)).encode()
    for headers in ({}, {"X-Tickbridge-Signature": sign(body, "another-key-0123456789abc")},
                    {"X-Tickbridge-Signature": sign(body + b" ")}):
        r = hook.post(body, headers=headers)
        assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    assert hook.service.store.count() == 0
    r = hook.post(body, headers={"X-Tickbridge-Signature": "sha256=" + sign(body, HMAC_KEY)})
    assert r.status_code == 202
    ident = json.loads(body)["alert_id"]
    assert hook.outcome(ident, "signed", SIGNED_SECRET)["state"] == "placed"
    close = json.dumps(alert(strategy="signed", secret=SIGNED_SECRET, action="close",
                             quantity=None)).encode()
    hook.post(close, headers={"X-Tickbridge-Signature": sign(close)})
    hook.outcome(json.loads(close)["alert_id"], "signed", SIGNED_SECRET)
    wait_until(lambda: bed.position("ESZ6") == 0)


@pytest.mark.parametrize(("body", "field"), [
    (b"{not json", "(body)"),
    (b"[1, 2]", "(body)"),
    (b"", "(body)"),
    (b"buy ES1! 1", "(body)"),
    (json.dumps({**alert(), "quantity": "abc"}).encode(), "quantity"),
    (json.dumps({**alert(), "quantity": -1}).encode(), "quantity"),
    (json.dumps({**alert(), "quantity": 1.5}).encode(), "quantity"),
    (json.dumps({**alert(), "action": "hold"}).encode(), "action"),
    (json.dumps({**alert(), "order_type": "limit"}).encode(), "price"),
    (json.dumps({**alert(), "qty": 1}).encode(), "qty"),
    (json.dumps({k: v for k, v in alert().items() if k != "symbol"}).encode(), "symbol"),
    (json.dumps({k: v for k, v in alert().items() if k != "timestamp"}).encode(), "timestamp"),
    (json.dumps({**alert(), "timestamp": "yesterday"}).encode(), "timestamp"),
])
def test_malformed_alert_is_400_naming_the_field(hook, bed, body, field):
    submits = len(bed.audited("order_submit"))
    r = hook.post(body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and r.json()["error"].startswith(f"{field}:")
    assert SECRET not in r.text
    assert hook.service.store.count() == 0
    assert len(bed.audited("order_submit")) == submits


@pytest.mark.parametrize(("symbol", "suggestion"), [
    ("ZZ1!", None),                 # no such root
    ("CME_MINI:EZ1!", "ES"),        # a typo of a root
    ("MNQZ2026", "CME_MINI:NQZ2026"),  # a real contract the engine does not trade
    ("CL1!", "CME_MINI:ESZ2026"),
])
def test_unknown_or_untraded_symbol_is_422_with_suggestions(hook, bed, symbol, suggestion):
    r = hook.post(alert(symbol=symbol))
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["field"] == "symbol"
    if suggestion is not None:
        assert suggestion in answer["suggestions"]
    assert hook.service.store.count() == 0


def test_oversized_body_is_413(hook, bed):
    body = alert(comment="x" * 4096)
    r = hook.post(body)
    assert r.status_code == 413
    # chunked, with no Content-Length to go by
    r = hook.http.post(hook.url + "/webhook",
                       content=iter([json.dumps(body).encode()[i:i + 500]
                                     for i in range(0, 5000, 500)]))
    assert r.status_code == 413
    assert hook.service.store.count() == 0


def test_ten_concurrent_deliveries_place_one_order(hook, bed):
    before = bed.position("ESZ6")
    body = json.dumps(alert(quantity=1)).encode()
    ident = json.loads(body)["alert_id"]

    def deliver(_: int) -> httpx.Response:
        with httpx.Client(timeout=10) as client:  # ten connections, not one
            return client.post(hook.url + "/webhook", content=body)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(deliver, range(10)))
    assert {r.status_code for r in answers} == {202}
    assert len({r.text for r in answers}) == 1  # the first answer, ten times
    assert sum("idempotent-replayed" not in r.headers for r in answers) == 1
    record = hook.outcome(ident)
    coid = record["outcome"]["client_order_id"]
    wait_until(lambda: bed.position("ESZ6") == before + 1)
    # and later repeats too: still the one order
    assert hook.post(body).headers["idempotent-replayed"] == "true"
    assert len(_submits(bed, strategy="webhook:trend", client_order_id=coid)) == 1
    assert len([r for r in bed.audited("control_request")
                if r["request"].get("alert_id") == ident]) == 1
    close = alert(action="close", quantity=None)
    hook.post(close)
    hook.outcome(close["alert_id"])
    wait_until(lambda: bed.position("ESZ6") == 0)


def test_source_allow_list_is_403(tmp_path, bed):
    config = webhook_config(tmp_path, allowed_sources=["10.9.8.0/24"])
    for hook in running_hook(config, bed.control_endpoint, bed.token):
        r = hook.post(alert())
        assert (r.status_code, r.json()) == (403, {"ok": False, "error": "forbidden"})
        assert hook.service.store.count() == 0


def test_alert_record_needs_the_strategy_secret(hook, bed):
    body = alert(action="cancel", symbol=None, quantity=None)
    hook.post(body)
    hook.outcome(body["alert_id"])
    assert hook.record("trend", body["alert_id"], secret="wrong").status_code == 404
    assert hook.record("signed", body["alert_id"], SIGNED_SECRET).status_code == 404


def test_failures_are_audited_without_secrets(hook, bed):
    from tickbridge.audit import read_records, verify_chain
    from tickbridge.store.connection import open_reader

    hook.post(alert(secret="wrong-secret-000000000000"))
    hook.post(alert(quantity="x"))
    ok = alert(action="cancel", symbol=None, quantity=None)
    hook.post(ok)
    hook.outcome(ok["alert_id"])

    def records() -> list:
        with open_reader(hook.service.config.store) as conn:
            return list(read_records(conn))

    wait_until(lambda: "webhook_routed" in {r.kind for r in records()})
    found = {r.kind for r in records()}
    assert {"webhook_start", "webhook_auth_failure", "webhook_refused", "webhook_alert",
            "webhook_routed"} <= found
    text = "".join(r.payload for r in records())
    assert SECRET not in text and "wrong-secret" not in text
    with open_reader(hook.service.config.store) as conn:
        assert verify_chain(conn).ok


def test_same_alert_id_with_another_body_is_409_and_audited(hook, bed):
    from tickbridge.audit import read_records
    from tickbridge.store.connection import open_reader

    before = bed.position("ESZ6")
    first = alert(action="buy", quantity=1)
    first_bytes = json.dumps(first).encode()
    r = hook.post(first_bytes)
    assert r.status_code == 202
    record = hook.outcome(first["alert_id"])
    assert record["state"] == "placed"
    # The same id for another alert (a sell of 2): refused, nothing placed, the first
    # alert's record untouched.
    other = {**first, "action": "sell", "quantity": 2}
    r = hook.post(other)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "alert_id" and first["alert_id"] in r.json()["error"]
    assert "idempotent-replayed" not in r.headers
    # One byte different is another body too (the sender's retry resends the same bytes).
    assert hook.post(first_bytes + b" ").status_code == 409
    # The same body again: the first answer, as before.
    again = hook.post(first_bytes)
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["quantity"] == 1 and again.json()["action"] == "buy"
    assert hook.record("trend", first["alert_id"]).json()["outcome"] == record["outcome"]
    assert len([r for r in bed.audited("control_request")
                if r["request"].get("alert_id") == first["alert_id"]]) == 1
    wait_until(lambda: bed.position("ESZ6") == before + 1)

    def conflicts() -> list:
        with open_reader(hook.service.config.store) as conn:
            return [r.data for r in read_records(conn, kinds=["webhook_conflict"])]

    found = wait_until(lambda: len(conflicts()) == 2 and conflicts())
    assert found[0]["status"] == 409 and found[0]["alert_id"] == first["alert_id"]
    assert found[0]["alert"] == "sell 2 CME_MINI:ES1! market"
    assert found[0]["body_sha256"] != found[0]["first_body_sha256"]
    assert SECRET not in json.dumps(found)
    close = alert(action="close", quantity=None)
    hook.post(close)
    hook.outcome(close["alert_id"])
    wait_until(lambda: bed.position("ESZ6") == 0)


def test_a_store_from_before_body_hashes_is_upgraded(tmp_path):
    import sqlite3

    from tickbridge.webhook.store import AlertStore

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # the table as the first release made it
        conn.execute("CREATE TABLE webhook_alerts (strategy TEXT NOT NULL, alert_id TEXT NOT "
                     "NULL, received_ns INTEGER NOT NULL, http_status INTEGER NOT NULL, "
                     "answer TEXT NOT NULL, state TEXT NOT NULL, outcome TEXT NOT NULL "
                     "DEFAULT '{}', updated_ns INTEGER NOT NULL, PRIMARY KEY (strategy, "
                     "alert_id)) WITHOUT ROWID")
        conn.execute("INSERT INTO webhook_alerts VALUES ('trend', 'old', 1, 202, '{\"n\": 1}', "
                     "'placed', '{}', 1)")
    store = AlertStore(path)
    try:
        # The old row's body is unknown: a delivery under its id is taken as a repeat.
        old = store.claim("trend", "old", 202, {"n": 2}, b"whatever")
        assert (old.first, old.conflict, old.answer) == (False, False, {"n": 1})
        assert store.claim("trend", "new", 202, {"n": 3}, b"a").first
        assert store.claim("trend", "new", 202, {"n": 4}, b"b").conflict
        assert not store.claim("trend", "new", 202, {"n": 5}, b"a").conflict
    finally:
        store.close()
