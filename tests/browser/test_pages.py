"""Every page in both themes, at a phone's and a desktop's size, in a real browser against the
simulator-fed system: it loads without a console error, a failed request or a request leaving
localhost; nothing scrolls sideways; the navigation can be reached and used. Each view is saved as
a screenshot under artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import VIEWPORTS, screenshot, settle, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PAGES = {
    "dashboard": "/", "dashboard-lcars": "/lcars", "charts": "/charts", "charts-lcars": "/charts/lcars",
    "house": "/house", "house-lcars": "/house/lcars",
    "battery": "/battery", "battery-lcars": "/battery/lcars",
}


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_clean_fits_and_navigates(browser, solar_stack, name: str, size: str) -> None:
    context = browser.new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    seen = watch(page)
    try:
        page.goto(solar_stack.url + PAGES[name])
        settle(page)
        page.wait_for_timeout(300)  # one more tick of the live feed and the age counters
        screenshot(page, f"{name}-{size}")
        assert seen.problems() == []

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[size]["width"], f"{name} scrolls sideways at {size}: {width} px wide"

        links = page.locator("#main-nav a.nav-link")
        assert links.count() >= 5  # four pages and the other theme
        if not links.first.is_visible():  # folded behind the menu button on a phone
            page.locator("#nav-toggle").click()
            links.last.wait_for(state="visible")
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= VIEWPORTS[size]["width"]
        target = links.nth(1)  # the charts page of the same theme
        href = target.get_attribute("href")
        target.click()
        page.wait_for_url(solar_stack.url + href)
        assert seen.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/", "/lcars"])
def test_dashboard_shows_the_simulators_values_with_units_and_age(browser, solar_stack, path: str) -> None:
    truth = solar_stack.sim.control({"op": "query", "command": "QPIGS"})["values"]
    page = browser.new_page()
    try:
        page.goto(solar_stack.url + path)
        settle(page)
        voltage = page.locator('[data-metric="battery_voltage"]').first
        assert voltage.locator(".u").text_content() == "V"
        shown = float(voltage.locator(".v").text_content().replace(",", ""))
        assert abs(shown - truth["battery_voltage"]) < 1.0  # the model drifts between the two reads
        assert page.locator("#live-status").get_attribute("data-state") == "live"
        assert page.locator("#data-age").text_content().endswith("s old")
        assert page.locator("#mode").text_content() not in ("\N{EN DASH}", "not reported")
        # The power-flow picture labels every path and points the load path away from the inverter.
        for node in ("pv", "grid", "battery", "load"):
            assert (page.locator(f"#flow-{node}-value").text_content() or "").endswith("W")
        assert page.locator("#flow-load").get_attribute("data-direction") in ("out", "idle")
    finally:
        page.close()
