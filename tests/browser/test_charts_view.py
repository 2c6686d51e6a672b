"""The charts page's view (issue 15): dates on the time axis of every range, earlier / later, the
range and metrics in the URL, a CSV of what is shown, energy bars per day, month and year, at most
two y axes on a phone, and reversed custom dates caught in the page (never sent)."""

from __future__ import annotations

import datetime as dt
import re
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import screenshot, settle, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
CHART_LOADED = "() => window.solarmon && window.solarmon.charts && window.solarmon.charts.history"
DAY_TICK = re.compile(r"^(\d{1,2} [A-Z][a-z]{2}|[A-Z][a-z]{2} \d{4})$")  # "5 Dec", or "Dec 2026" on the 1st


def loaded(page) -> None:
    page.wait_for_function(
        "() => !['Loading…'].includes(document.getElementById('chart-status').textContent.trim())")


def ticks(page) -> list[str]:
    return page.evaluate("window.solarmon.charts.history.scales.x.ticks.map((t) => String(t.label))")


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_the_view_is_in_the_url_with_dates_on_the_axis_earlier_later_and_csv(browser, solar_stack) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    seen = watch(page)
    historical: list[str] = []
    page.on("request", lambda r: historical.append(r.url) if "/api/historical" in r.url else None)
    try:
        page.goto(f"{solar_stack.url}/charts?range=168&metrics=battery_voltage,pv_input_power&type=area")
        settle(page)
        page.wait_for_function(CHART_LOADED)
        loaded(page)
        assert page.locator("#range-168").is_checked()
        checked = page.locator("#metric-picks input:checked").evaluate_all("(l) => l.map((i) => i.value)")
        assert sorted(checked) == ["battery_voltage", "pv_input_power"]
        assert page.locator("#chart-type").input_value() == "area"
        # A week's axis names days, not bare hours.
        labels = ticks(page)
        assert labels
        assert all(DAY_TICK.match(label) for label in labels), labels
        screenshot(page, "charts-week", docs=True)

        # 24 h: hours, with the date at midnight.
        page.locator('label[for="range-24"]').click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('range') === '24'")
        loaded(page)
        assert any(re.match(r"^\d\d:\d\d$", label) for label in ticks(page))

        # Earlier moves the window back by its length, and says so in the URL; later comes back.
        page.locator('label[for="range-168"]').click()
        loaded(page)
        assert page.locator("#range-next").is_disabled()  # nothing later than now
        page.click("#range-prev")
        page.wait_for_function("() => new URLSearchParams(location.search).has('end')")
        loaded(page)
        end = dt.datetime.fromisoformat(query(page)["end"].replace("Z", "+00:00"))
        assert abs((dt.datetime.now(dt.UTC) - end).total_seconds() - 7 * 86400) < 120
        xmax = page.evaluate("window.solarmon.charts.history.options.scales.x.max")
        assert abs(xmax / 1000 - end.timestamp()) < 1
        # The CSV is what is shown: the same metrics and the same window.
        href = page.locator("#csv-link").get_attribute("href")
        csv_query = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}
        assert csv_query["metrics"] == "pv_input_power,battery_voltage"
        assert dt.datetime.fromisoformat(csv_query["end"].replace("Z", "+00:00")) == end
        with urllib.request.urlopen(solar_stack.url + href, timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/csv")
            head = response.read(4096).decode().splitlines()
        assert head[0] == "time,timestamp,pv_input_power,battery_voltage"
        assert len(head) > 2
        page.click("#range-next")
        page.wait_for_function("() => !new URLSearchParams(location.search).has('end')")

        # Reversed custom dates are caught in the page: nothing goes to the server.
        page.locator('label[for="range-custom"]').click()
        today = dt.date.today()
        page.fill("#range-start", today.isoformat())
        page.fill("#range-end", (today - dt.timedelta(days=3)).isoformat())
        asked = len(historical)
        page.click("#range-apply")
        page.wait_for_function("() => document.getElementById('chart-status').textContent.includes('after')")
        assert "swap them" in page.locator("#chart-status").text_content()
        page.wait_for_timeout(300)
        assert len(historical) == asked
        assert page.locator("#csv-link").is_hidden()
        assert seen.problems() == []
    finally:
        page.close()


def test_energy_bars_per_day_month_and_year(browser, solar_stack) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        page.goto(f"{solar_stack.url}/charts")
        settle(page)
        page.wait_for_function("() => window.solarmon.charts.energy")
        periods = (("month", r"^\d{4}-\d{2}$"), ("year", r"^\d{4}$"), ("day", r"^\d{4}-\d{2}-\d{2}$"))
        for period, pattern in periods:
            page.click(f"#energy-{period}")
            page.wait_for_function(
                "(p) => new URLSearchParams(location.search).get('energy') === p", arg=period)
            page.wait_for_function(
                "(re) => window.solarmon.charts.energy.data.labels.every((l) => new RegExp(re).test(l))",
                arg=pattern)
            assert page.evaluate("window.solarmon.charts.energy.config.type") == "bar"
            assert page.locator(f"#energy-{period}").get_attribute("aria-pressed") == "true"
    finally:
        page.close()


def test_a_phone_gets_at_most_two_y_axes(browser, solar_stack) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        every = ",".join(["pv_input_power", "battery_voltage", "battery_capacity", "battery_charging_current",
                          "inverter_heat_sink_temperature"])
        page.goto(f"{solar_stack.url}/charts?metrics={every}")
        settle(page)
        page.wait_for_function(CHART_LOADED)
        loaded(page)
        axes = page.evaluate(
            "Object.keys(window.solarmon.charts.history.options.scales).filter((k) => k !== 'x')")
        assert len(axes) <= 2, axes
        assert "not drawn" in page.locator("#chart-status").text_content()
        height = page.evaluate("document.getElementById('history-chart').clientHeight")
        assert height >= 200
        screenshot(page, "charts-phone", docs=True)
    finally:
        page.close()
