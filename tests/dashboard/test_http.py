"""The dashboard's HTTP side with Starlette's test client, an engine stand-in and a kill
stand-in: tokens (401 and nothing else), the cookie, the Origin check, the read token
that may not act, the kill's confirmation step, the bind rule, the bounded queues, and an
order's timeline from a real state store."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tickbridge.dashboard.actions import Actions
from tickbridge.dashboard.app import COOKIE, Dashboard, create_app
from tickbridge.dashboard.feed import Client, Feed
from tickbridge.dashboard.server import BindError, check_bind
from tickbridge.dashboard.tokens import Access, DashboardTokens, token_id
from tickbridge.store import StateStore

READ, TRADE = "read-token-0123456789abcdef", "trade-token-0123456789abcdef"
ORIGIN = "http://testserver"
VIEW = {"ok": True, "now_ns": 1_800_000_000_000_000_000, "mode": "PAPER MODE",
        "live": False, "trading_state": "ACTIVE", "links": [], "orders": [], "fills": [],
        "refusals": [], "risk": {"accounts": [], "instruments": []},
        "positions": [{"symbol": "ESZ6", "realized_pnl": 50.0, "unrealized_pnl": -12.5}]}


@dataclass
class Report:
    ok: bool = True
    engine_answered: bool = True
    outcomes: list[Any] = field(default_factory=list)
    journal: Any = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Engine:
    """The control socket and the kill switch, as the actions see them."""

    requests: list[tuple[str, dict]] = field(default_factory=list)
    kills: list[tuple[bool, str | None, str]] = field(default_factory=list)
    down: bool = False
    refusing: bool = False

    def control(self, cmd: str, **fields: Any) -> dict[str, Any]:
        if self.down:
            raise RuntimeError("no answer from the engine")
        if self.refusing:
            return {"ok": False, "error": "not authenticated (no token)"}
        self.requests.append((cmd, fields))
        if cmd == "dashboard":
            return VIEW
        return {"ok": True, "trading_state": fields.get("state")}

    def kill(self, flatten: bool, account: str | None, source: str) -> Report:
        self.kills.append((flatten, account, source))
        return Report()


@pytest.fixture
def engine() -> Engine:
    return Engine()


def _dashboard(engine: Engine, store: Path | None = None) -> Dashboard:
    actions = Actions(control=engine.control, kill=engine.kill, accounts=["Sim101"],
                      shims_of=lambda account: ["simulator"])
    feed = Feed(lambda: engine.control("dashboard"))
    feed.poll_once()
    return Dashboard(feed=feed, actions=actions, tokens=DashboardTokens(READ, TRADE),
                     store=store)


@pytest.fixture
def client(engine: Engine) -> TestClient:
    return TestClient(create_app(_dashboard(engine)))


def _as(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


ROUTES = [("GET", "/"), ("GET", "/static/app.js"), ("GET", "/api/whoami"),
          ("GET", "/api/view"), ("GET", "/api/stream"), ("GET", "/api/orders/1/timeline"),
          ("POST", "/api/state"), ("POST", "/api/kill"), ("POST", "/api/kill/confirm"),
          ("GET", "/no/such/page")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("token", [None, "wrong", READ + "x", READ[:-1]])
def test_no_or_a_wrong_token_gets_401_and_nothing_else(client, engine, method, path, token):
    headers = {"origin": ORIGIN, **(_as(token) if token else {})}
    reply = client.request(method, path, headers=headers, json={"flatten": True})
    assert reply.status_code == 401
    assert reply.text == "unauthorized"
    assert COOKIE not in reply.headers.get("set-cookie", "")
    assert engine.kills == [] and [c for c, _ in engine.requests] == ["dashboard"]


def test_the_token_in_the_address_becomes_a_strict_cookie(client):
    reply = client.get(f"/?token={READ}", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"]
    assert f"{COOKIE}={READ}" in cookie and "HttpOnly" in cookie and \
        "SameSite=strict" in cookie
    page = client.get("/")  # the cookie, now held by the client
    assert page.status_code == 200 and "<canvas" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert READ not in page.text  # the page itself never carries a token
    assert client.get("/static/app.js").status_code == 200
    # A wrong token in the address is refused, the good cookie notwithstanding.
    wrong = client.get("/?token=wrong-token-0123456789", follow_redirects=False)
    assert (wrong.status_code, wrong.text) == (401, "unauthorized")


def test_whoami_names_the_access_and_the_token_id_never_the_token(client):
    for token, access in ((READ, Access.READ), (TRADE, Access.TRADE)):
        body = client.get("/api/whoami", headers=_as(token)).json()
        assert (body["access"], body["token_id"]) == (access.value, token_id(access, token))
        assert token not in str(body)


def test_the_read_token_may_not_act(client, engine):
    for path in ("/api/state", "/api/kill"):
        reply = client.post(path, headers={**_as(READ), "origin": ORIGIN},
                            json={"state": "HALTED", "flatten": True})
        assert reply.status_code == 403 and "only read" in reply.json()["error"]
    assert engine.kills == [] and ("set_state" not in [c for c, _ in engine.requests])


@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"},
    {"origin": "http://testserver.evil.example"},
    {"origin": "https://testserver"},  # another scheme is another origin
    {"origin": "null"},
    {},  # no Origin at all: not known to be the page's own
    {"origin": ORIGIN, "sec-fetch-site": "cross-site"},
])
def test_a_cross_origin_action_is_refused_before_it_runs(client, engine, headers):
    for path, body in (("/api/kill", {"flatten": True}), ("/api/state", {"state": "HALTED"})):
        reply = client.post(path, headers={**_as(TRADE), **headers}, json=body)
        assert reply.status_code == 403 and "cross-origin" in reply.json()["error"]
    assert engine.kills == [] and "set_state" not in [c for c, _ in engine.requests]


def test_kill_says_what_it_will_do_then_runs_once_on_confirmation(client, engine):
    headers = {**_as(TRADE), "origin": ORIGIN}
    plan = client.post("/api/kill", headers=headers,
                       json={"flatten": True, "account": "Sim101"}).json()
    assert plan["ok"] and engine.kills == []  # nothing yet: asked, not confirmed
    assert "flatten every position" in plan["text"] and "account Sim101" in plan["text"]
    assert "simulator" in plan["text"]
    done = client.post("/api/kill/confirm", headers=headers, json={"confirm": plan["confirm"]})
    assert done.status_code == 200 and done.json()["ok"]
    assert engine.kills == [(True, "Sim101", f"dashboard:{token_id(Access.TRADE, TRADE)}")]
    again = client.post("/api/kill/confirm", headers=headers,
                        json={"confirm": plan["confirm"]})
    assert again.status_code == 400 and "confirm:" in again.json()["error"]
    assert len(engine.kills) == 1


@pytest.mark.parametrize(("path", "body", "field_name"), [
    ("/api/kill", {"flatten": "yes"}, "flatten:"),
    ("/api/kill", {"account": "Nope"}, "account:"),
    ("/api/state", {"state": "PANIC"}, "state:"),
    ("/api/kill/confirm", {"confirm": "made-up"}, "confirm:"),
])
def test_a_bad_action_names_its_field(client, engine, path, body, field_name):
    reply = client.post(path, headers={**_as(TRADE), "origin": ORIGIN}, json=body)
    assert reply.status_code == 400 and reply.json()["error"].startswith(field_name)
    assert engine.kills == []


def test_state_goes_to_the_engine_with_the_token_id_as_source(client, engine):
    reply = client.post("/api/state", headers={**_as(TRADE), "origin": ORIGIN},
                        json={"state": "REDUCING_ONLY", "account": None})
    assert reply.json() == {"ok": True, "trading_state": "REDUCING_ONLY"}
    assert engine.requests[-1] == ("set_state", {
        "state": "REDUCING_ONLY", "account": None,
        "source": f"dashboard:{token_id(Access.TRADE, TRADE)}"})


def test_the_stream_pushes_frames(client):
    with client.stream("GET", "/api/stream", headers=_as(READ)) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if line.startswith("data: "):
                message = json.loads(line[6:])
                assert message["trading_state"] == "ACTIVE"
                assert message["client"] == {"dropped": 0, "sent": 1}
                # The first message brings the PnL line so far; each after, its point.
                assert [p[1] for p in message["pnl_line"]] == [37.5]
                assert message["pnl_point"][1] == 37.5
                break


def test_view_when_the_engine_is_down(engine):
    dashboard = _dashboard(engine)
    engine.down = True
    first = dashboard.feed.poll_once()
    second = dashboard.feed.poll_once()
    assert first["engine"] == second["engine"] == "down"
    assert first["down_since_ns"] == second["down_since_ns"]
    engine.down, engine.refusing = False, True  # it answers, but refuses the credential
    refused = dashboard.feed.poll_once()
    assert (refused["engine"], refused["error"]) == ("refused", "not authenticated (no token)")
    engine.refusing = False
    assert dashboard.feed.poll_once()["engine"] == "up"
    body = TestClient(create_app(dashboard)).get("/api/view", headers=_as(READ)).json()
    assert body["engine"] == "up" and [p[1] for p in body["pnl_line"]] == [37.5, 37.5]


def test_a_slow_client_is_bounded_and_its_drops_counted():
    woken = []
    client = Client(lambda: woken.append(1), size=3)
    for n in range(10):
        client.put({"n": n})
    assert client.queued == 3 and client.dropped == 7 and len(woken) == 10
    assert client.take() == {"n": 9}  # the newest; the two older ones superseded
    assert client.dropped == 9 and client.take() is None


def test_a_stalled_client_never_holds_the_feed_back(engine):
    feed = Feed(lambda: engine.control("dashboard"))
    stalled = feed.subscribe(lambda: None, size=4)
    got: list[int] = []
    keeping_up = feed.subscribe(lambda: None)
    for n in range(50):
        feed.poll_once()
        if keeping_up.take() is not None:
            got.append(n)
    assert got == list(range(50)) and feed.polls == 50
    assert stalled.queued == 4 and stalled.dropped == 46 and feed.dropped == 46
    feed.unsubscribe(stalled)
    assert feed.clients == 1


def test_tokens_are_distinct_and_compared_whole():
    tokens = DashboardTokens()
    assert tokens.read != tokens.trade and len(tokens.read) >= 32
    assert tokens.check(tokens.read).access == Access.READ
    assert tokens.check(tokens.trade).may_trade
    assert tokens.check(tokens.trade[:-1]) is None and tokens.check("") is None
    with pytest.raises(ValueError, match="differ"):
        DashboardTokens("same-token-0123456789", "same-token-0123456789")


def test_non_loopback_needs_tls(tmp_path):
    check_bind("127.0.0.1", None, None)
    check_bind("::1", None, None)
    with pytest.raises(BindError, match=r"--host 0\.0\.0\.0.*TLS"):
        check_bind("0.0.0.0", None, None)
    with pytest.raises(BindError, match="both or neither"):
        check_bind("0.0.0.0", tmp_path / "cert.pem", None)
    with pytest.raises(BindError, match=r"--tls-cert .*no such file"):
        check_bind("0.0.0.0", tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    check_bind("0.0.0.0", tmp_path / "cert.pem", tmp_path / "key.pem")


@pytest.mark.e2e  # runs the command
def test_the_command_refuses_a_non_loopback_bind_without_tls():
    result = subprocess.run([sys.executable, "-m", "tickbridge", "dashboard", "--host",
                             "0.0.0.0", "--seconds", "1"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "needs TLS" in result.stderr
    assert "token=" not in result.stdout + result.stderr


def test_an_orders_timeline_comes_from_the_audit_log(engine, tmp_path):
    store = StateStore(tmp_path / "state.sqlite")
    store.audit("order_submit", {"symbol": "ESZ6", "quantity": 2}, client_order_id=7)
    store.audit("transition", {"event": "ACK", "to": "WORKING"}, client_order_id=7)
    store.audit("order_submit", {"symbol": "NQZ6"}, client_order_id=8)
    store.sync().result(timeout=30)
    store.close()
    client = TestClient(create_app(_dashboard(engine, tmp_path / "state.sqlite")))
    body = client.get(f"/api/orders/TB{7:016X}/timeline", headers=_as(READ)).json()
    assert body["ok"] and [r["kind"] for r in body["records"]] == ["order_submit",
                                                                   "transition"]
    assert body["records"][0]["detail"]["quantity"] == 2
    assert body["records"][1]["summary"] == "event=ACK to=WORKING"
    assert body["records"][0]["time_ns"] <= body["records"][1]["time_ns"]
    bad = client.get("/api/orders/XYZ/timeline", headers=_as(READ))
    assert bad.status_code == 400 and bad.json()["error"].startswith("client_order_id:")
