"""The alerts page and the banner in a real browser (Debian's chromium-headless-shell through
Playwright): the banner shows a new alert on an open page, the page lists it, the operator
acknowledges it, and the banner goes away — in both themes, without a script error."""

from __future__ import annotations

from pathlib import Path

import pytest

from solarmon.web import create_app
from solarmon.web.runtime import Runtime, get_context
from tests.alerts.conftest import wait_until
from tests.browser.server import ServerThread
from tests.fixtures.webapp import SAMPLE_VALUES, TOKEN, make_web_config, write_prom


@pytest.mark.timeout(120)
@pytest.mark.parametrize("theme", ["standard", "lcars"])
def test_banner_page_and_acknowledgement(browser, web_paths, theme):
    rules = [{"name": "battery_low", "metric": "battery_capacity", "below": 20, "severity": "critical",
              "message": "Battery low: {value}{unit} on {device}"}]
    alerts = {"tick_s": 0.05, "defaults": False, "rules": rules}
    app = create_app(make_web_config(web_paths, {"alerts": alerts}))
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    suffix = "" if theme == "standard" else "/lcars"
    with Runtime.for_app(app):
        server = ServerThread(app).start()
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server.url}/charts{suffix}")
            assert page.locator("#alert-banner").is_hidden()
            # A new alert reaches an open page through the banner's refresh.
            write_prom(web_paths.prom_dir, "main", {**SAMPLE_VALUES, "battery_capacity": 11})
            assert wait_until(lambda: get_context(app).parts.alerts.store.active())
            page.evaluate("document.dispatchEvent(new Event('solarmon:alerts-changed'))")
            page.locator("#alert-banner").wait_for(state="visible", timeout=10000)
            text = page.locator("#alert-banner-text").text_content()
            assert text == "1 active alert: Battery low: 11% on main"
            assert page.locator("#alert-banner").get_attribute("data-severity") == "critical"
            shots = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"alerts-banner-{theme}.png"))

            page.click("#alert-banner a")
            page.wait_for_url(f"{server.url}/alerts{suffix}")
            row = page.locator("#alerts-active tr")
            row.first.wait_for(timeout=10000)
            assert "Battery low: 11% on main" in row.first.text_content()
            page.evaluate(f"sessionStorage.setItem('solarmon.commandToken', '{TOKEN}')")
            page.click("#alerts-active button.sm-ack")
            page.locator("#alerts-active button.sm-ack").wait_for(state="detached", timeout=10000)
            page.locator("#alert-banner").wait_for(state="hidden", timeout=10000)
            assert get_context(app).parts.alerts.store.active()[0]["acknowledged"]
            assert "battery_low" in page.locator("#alerts-rules").text_content()
            # The rule in a sentence with the catalog's label and unit (issue 15), not raw keys.
            assert "below 20 %; clears at or above 20 %" in page.locator("#alerts-rules").text_content()
            page.screenshot(path=str(shots / f"alerts-{theme}.png"), full_page=True)
            assert errors == []
        finally:
            server.stop()
