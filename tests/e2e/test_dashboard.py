"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromedriver, against the simulator and the engine (running the demo strategy)
as separate processes, and `tickbridge dashboard` as a third.

Without chromium or chromedriver these tests fail, saying what to install: the browser is
part of the project's set-up (make setup), not optional.

A screenshot of the page is saved as a test artifact ($TICKBRIDGE_ARTIFACTS, default
out/test-artifacts/dashboard.png).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.waiting import wait_until

from .stack import Stack

TICK = 0.25
DEMO_STRATEGY = """
[[strategies]]
name = "demo"
entry = "ema_cross"
instruments = ["ES", "NQ"]
params = { fast_bars = 5, slow_bars = 20, size = 1 }
"""
ARTIFACTS = Path(os.environ.get("TICKBRIDGE_ARTIFACTS", "out/test-artifacts"))


def _browser() -> Any:
    """Headless Chromium; a failure (not a skip) when the set-up did not install it."""
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.fail("the dashboard's browser tests need Debian's chromium and "
                    "chromium-driver (make setup installs them; missing: "
                    f"{'chromium ' if chromium is None else ''}"
                    f"{'chromedriver' if driver_path is None else ''})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1600,1500", "--lang=en-US"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver_path), options=options)


class Page:
    """The dashboard as a person sees it, through the browser."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.get(url)

    def text(self, css: str) -> str:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        def read() -> str | None:
            try:
                return " | ".join(e.text for e in
                                  self.driver.find_elements(By.CSS_SELECTOR, css))
            except StaleElementReferenceException:  # the table was redrawn meanwhile
                return None

        return wait_until(lambda: (text := read()) is not None and [text], 10,
                          f"a stable read of {css}")[0]

    def click(self, css: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        def clicked() -> bool:
            try:
                self.driver.find_element(By.CSS_SELECTOR, css).click()
                return True
            except StaleElementReferenceException:  # redrawn between find and click
                return False

        wait_until(clicked, 10, f"a click on {css}")

    def engine_position(self, symbol: str) -> str:
        return self.text(f'#positions tr[data-symbol="{symbol}"] td[data-key="engine"]')


@pytest.fixture
def dash(stack: Stack) -> Iterator[dict[str, Any]]:
    """The engine with the demo strategy, the simulator, `tickbridge dashboard` and a
    browser on its trading URL."""
    stack.config.write_text(stack.config.read_text() + DEMO_STRATEGY)
    stack.start_engine()
    stack.start_sim(speed=2)
    process = stack._spawn("dashboard", ["dashboard", "--config", str(stack.config),
                                         "--port", "0", "--rate", "10"])
    urls = wait_until(lambda: _urls(stack.log("dashboard")), 30, "the dashboard's URLs")
    driver = _browser()
    try:
        page = Page(driver)
        page.open(urls["trade"])
        yield {"page": page, "urls": urls, "stack": stack}
    finally:
        driver.quit()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def _urls(log: str) -> dict[str, str] | None:
    base = re.search(r"dashboard at (\S+)", log)
    read = re.search(r"read-only: (\S+)", log)
    trade = re.search(r"trading: +(\S+)", log)
    if not (base and read and trade):
        return None
    return {"base": base.group(1), "read": read.group(1), "trade": trade.group(1)}


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


def _source(trade_url: str) -> str:
    """The audit's source for the trading token's actions: its id, not the token."""
    return f"dashboard:trade-{hashlib.sha256(_token(trade_url).encode()).hexdigest()[:8]}"


def _audit(store: Path) -> list[tuple[str, dict]]:
    with sqlite3.connect(str(store)) as db:
        return [(k, json.loads(p)) for k, p in
                db.execute("SELECT kind, payload FROM audit_log ORDER BY id")]


def _screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    assert page.driver.save_screenshot(str(path)), "no screenshot"
    return path


def test_positions_orders_timeline_and_refusals(dash):
    page, stack = dash["page"], dash["stack"]
    stack.wait_trading()
    wait_until(lambda: "CONFIRMED" in page.text("#links td[data-key='link-state']"), 30,
               "the page showing the simulator's link confirmed")
    assert "PAPER" in page.text("#mode") and page.text("#trading-state") == "ACTIVE"
    coid = stack.submit(side="BUY", quantity=2, order_type="MARKET")
    stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "the market buy filled")
    # The engine has the fill: the page shows it within a second (pushed, not polled by
    # the page; the feed asks the engine 10 times a second here).
    wait_until(lambda: page.engine_position("ESZ6") == str(stack.status()["positions"]
                                                            ["ESZ6"]), 1.0,
               "the page showing the engine's position within a second of the fill")
    assert page.engine_position("ESZ6") == "2"
    # A resting order: in the working orders; a click shows its timeline.
    last = float(stack.market()["last_price"])
    rest = stack.submit(side="BUY", quantity=1, order_type="LIMIT", price=last - 100 * TICK)
    stack.wait_order(rest, lambda o: o["status"] == "WORKING", 30, "resting")
    text_id = f"TB{rest:016X}"
    wait_until(lambda: text_id in page.text("#orders"), 10, "the page listing the order")
    page.click(f'#orders tr[data-order="{text_id}"]')
    wait_until(lambda: "order_submit" in page.text("#timeline td[data-key='kind']") and
               "transition" in page.text("#timeline td[data-key='kind']"), 10,
               "the order's timeline from the audit log")
    # Refused by the risk gate (max_order_qty 100): the reason on the page.
    refused = stack.request("submit", symbol="ESZ6", side="BUY", quantity=150,
                            order_type="MARKET", source="e2e")
    assert not refused["ok"]
    wait_until(lambda: refused["error"] in page.text("#refusals td[data-key='text']"), 10,
               "the page showing the refusal's reason")
    assert "MAX_ORDER_SIZE" in page.text("#refusals tr:first-child td[data-key='code']")
    path = _screenshot(page, "dashboard.png")
    assert path.stat().st_size > 10_000


def test_kill_button_with_confirmation_halts_and_flattens(dash):
    page, stack = dash["page"], dash["stack"]
    stack.wait_trading()
    coid = stack.submit(side="BUY", quantity=2, order_type="MARKET")
    stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "the market buy filled")
    last = float(stack.market()["last_price"])
    rest = stack.submit(side="BUY", quantity=1, order_type="LIMIT", price=last - 100 * TICK)
    stack.wait_order(rest, lambda o: o["status"] == "WORKING", 30, "resting")
    wait_until(lambda: stack.sim_positions()["ESZ6"] == 2 and len(stack.sim_working()) == 1,
               30, "the simulator holding the exposure")
    wait_until(lambda: page.engine_position("ESZ6") == "2", 10, "the page showing it")
    page.click("#kill-button")
    wait_until(lambda: "flatten every position" in page.text("#kill-text"), 10,
               "the confirmation naming what the kill will do")
    assert "ALL accounts" in page.text("#kill-text") and "simulator" in page.text("#kill-text")
    assert stack.status()["trading_state"] == "ACTIVE"  # asked, not yet confirmed
    page.click("#kill-confirm")
    wait_until(lambda: stack.sim_working() == [] and stack.sim_positions()["ESZ6"] == 0, 30,
               "the simulator flat with no working orders")
    assert stack.status()["trading_state"] == "HALTED"
    wait_until(lambda: page.text("#trading-state") == "HALTED", 10, "the page showing HALTED")
    wait_until(lambda: "KILL done" in page.text("#action-result"), 30, "the kill's report")
    assert stack.stop_engine() == 0
    token_id = _source(dash["urls"]["trade"])
    audit = _audit(stack.store)
    kills = [p for k, p in audit if k == "kill"]
    assert kills and kills[-1]["source"] == token_id and kills[-1]["flatten"] is True
    assert any(k == "kill_direct" and p["source"] == token_id for k, p in audit)


def test_kill_with_the_engine_dead_reaches_the_shim_and_is_audited_later(stack: Stack) -> None:
    """The page's kill when the engine does not answer: straight to the shim's kill
    endpoint, journaled with the token's id, audited at the engine's next start."""
    from tickbridge.risk.kill_switch import journal_path

    stack.start_engine()
    stack.start_sim("--no-cancel-on-disconnect", speed=2)  # only a kill clears them
    process = stack._spawn("dashboard", ["dashboard", "--config", str(stack.config),
                                         "--port", "0", "--rate", "10"])
    urls = wait_until(lambda: _urls(stack.log("dashboard")), 30, "the dashboard's URLs")
    driver = _browser()
    try:
        page = Page(driver)
        page.open(urls["trade"])
        stack.wait_trading()
        coid = stack.submit(side="BUY", quantity=2, order_type="MARKET")
        stack.wait_order(coid, lambda o: o["status"] == "FILLED", 30, "the buy filled")
        wait_until(lambda: stack.sim_positions()["ESZ6"] == 2, 30, "the simulator long")
        stack.stop_engine(signal.SIGKILL)
        wait_until(lambda: page.text("#engine-link") == "engine DOWN", 30, "the engine down")
        page.click("#kill-button")
        wait_until(lambda: "flatten every position" in page.text("#kill-text"), 10,
                   "the confirmation")
        page.click("#kill-confirm")
        wait_until(lambda: stack.sim_positions()["ESZ6"] == 0 and stack.sim_working() == [],
                   30, "the simulator flat, by the shim's kill endpoint")
        wait_until(lambda: "KILL incomplete" in page.text("#action-result"), 30,
                   "the page saying the engine path failed")
        assert journal_path(stack.store).exists()
    finally:
        driver.quit()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    stack.stop_sim()
    stack.start_engine()
    wait_until(lambda: not journal_path(stack.store).exists(), 30, "the journal audited")
    assert stack.status()["trading_state"] == "HALTED"
    assert stack.stop_engine() == 0
    token_id = _source(urls["trade"])
    kills = [p for k, p in _audit(stack.store) if k == "kill"]
    assert kills[-1]["source"] == f"{token_id} (engine not answering)"
    assert any(o["path"] == "shim" and o["ok"] for o in kills[-1]["outcomes"])


def test_engine_restart_wrong_token_and_cross_origin(dash):
    page, stack, urls = dash["page"], dash["stack"], dash["urls"]
    stack.wait_trading()
    wait_until(lambda: page.text("#engine-link") == "engine up", 30, "the engine up")
    stack.stop_engine()
    wait_until(lambda: page.text("#engine-link") == "engine DOWN", 30,
               "the page showing the engine down")
    stack.start_engine()
    wait_until(lambda: page.text("#engine-link") == "engine up", 30,
               "the page showing the engine back")
    wait_until(lambda: "CONFIRMED" in page.text("#links td[data-key='link-state']"), 60,
               "the simulator's link back up on the page")
    # A wrong token: 401 and nothing else, in the browser too.
    page.open(urls["base"] + "?token=not-the-token-0123456789")
    assert page.text("body") == "unauthorized"
    page.open(urls["base"] + "api/view")  # the good cookie is still held: this works
    assert '"engine"' in page.text("body")
    # A cross-origin POST with the trading token itself: refused, nothing done.
    trade = _token(urls["trade"])
    for origin in ("http://evil.example", None):
        headers = {"authorization": f"Bearer {trade}",
                   **({"origin": origin} if origin else {})}
        reply = httpx.post(urls["base"] + "api/kill", headers=headers,
                           json={"flatten": True}, timeout=10)
        assert reply.status_code == 403, reply.text
    reply = httpx.post(urls["base"] + "api/kill", json={"flatten": True}, timeout=10,
                       headers={"authorization": "Bearer wrong", "origin": urls["base"][:-1]})
    assert (reply.status_code, reply.text) == (401, "unauthorized")
    assert stack.status()["trading_state"] == "ACTIVE"


def test_run_dashboard_serves_from_the_engines_process(stack: Stack) -> None:
    """`tickbridge run --dashboard`: the engine's own owner token, URLs on stderr."""
    refused = stack._spawn("refused", ["run", "--config", str(stack.config), "--dashboard",
                                       "--dashboard-host", "0.0.0.0", "--seconds", "5"])
    assert refused.wait(timeout=60) == 2
    assert "--dashboard-host 0.0.0.0" in stack.log("refused") and \
        "needs TLS" in stack.log("refused")
    engine = stack._spawn("engine", ["run", "--config", str(stack.config), "--clock",
                                     "market", "--status-interval", "0", "--dashboard",
                                     "--dashboard-port", "0"])
    try:
        urls = wait_until(lambda: _urls(stack.log("engine")), 30, "the dashboard's URLs")
        headers = {"authorization": f"Bearer {_token(urls['read'])}"}
        view = wait_until(lambda: (v := httpx.get(urls["base"] + "api/view", headers=headers,
                                                  timeout=10).json()).get("ok") and v, 30,
                          "a frame from the engine")
        assert view["engine"] == "up" and "PAPER" in view["mode"]
        assert view["trading_state"] == "ACTIVE"
    finally:
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=30) == 0
