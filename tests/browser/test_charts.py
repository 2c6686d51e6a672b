"""Charts in a real browser: each range (24 h, 7 d, 30 d, custom dates) draws data points from the
server's downsampled history, in every chart type; daily energy bars; the battery page's charts and
its plain "no BMS" statement; the house page's sensors with the weather attribution."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import settle, watch
from tests.tools import missing_tool

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Whether the history chart's first series spans more than `span` ms.
SPANS_MORE_THAN = """(span) => {
    const xs = window.solarmon.charts.history.data.datasets[0].data.map((p) => p.x);
    return xs.length && (Math.max(...xs) - Math.min(...xs)) > span;
}"""
# How many non-empty points the history chart holds, and the time span they cover (ms).
CHART_STATE = """(name) => {
    const chart = window.solarmon && window.solarmon.charts && window.solarmon.charts[name];
    if (!chart) return null;
    const points = chart.data.datasets.flatMap(
        (d) => d.data.filter((p) => p.y !== null && p.y !== undefined));
    const xs = points.map((p) => p.x);
    return {count: points.length, span: xs.length ? Math.max(...xs) - Math.min(...xs) : 0,
            type: chart.config.type, fill: chart.data.datasets.map((d) => d.fill)};
}"""


def chart_state(page, name: str = "history") -> dict:
    page.wait_for_function(
        "() => !['Loading…'].includes(document.getElementById('chart-status').textContent.trim())")
    return page.evaluate(CHART_STATE, name)


@pytest.mark.parametrize("path", ["/charts", "/charts/lcars"])
def test_each_range_draws_data_points(browser, solar_stack, path: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    seen = watch(page)
    try:
        page.goto(solar_stack.url + path)
        settle(page)
        hours_of = {"24": 24, "168": 168, "720": 720}
        for value, hours in hours_of.items():
            page.locator(f'label[for="range-{value}"]').click()
            page.wait_for_function(SPANS_MORE_THAN, arg=hours * 3600e3 * 0.8, timeout=15000)
            state = chart_state(page)
            assert state["count"] > 50, (value, state)
            assert state["span"] <= hours * 3600e3 * 1.05  # no more than the range asked for
            assert "downsampled by the server" in page.locator("#chart-status").text_content()

        # Custom range: three whole days a week ago, picked with the date inputs.
        page.locator('label[for="range-custom"]').click()
        start = dt.date.today() - dt.timedelta(days=9)
        end = start + dt.timedelta(days=2)
        page.fill("#range-start", start.isoformat())
        page.fill("#range-end", end.isoformat())
        page.click("#range-apply")
        page.wait_for_function(SPANS_MORE_THAN, arg=2 * 86400e3, timeout=15000)
        state = chart_state(page)
        assert state["count"] > 50
        assert state["span"] <= 3 * 86400e3 + 60e3

        # Area is another drawing of the same data (bars are for energy only); a metric can be added.
        page.select_option("#chart-type", "area")
        page.wait_for_function("() => window.solarmon.charts.history.data.datasets[0].fill === 'origin'")
        assert page.locator('#chart-type option[value="bar"]').count() == 0
        assert chart_state(page)["count"] > 50
        before = len(page.evaluate("window.solarmon.charts.history.data.datasets"))
        page.locator("#metric-picks label", has_text="Battery charge").click()
        page.wait_for_function("(n) => window.solarmon.charts.history.data.datasets.length === n + 1",
                               arg=before)

        energy = page.evaluate("() => window.solarmon.charts.energy.data.datasets"
                               ".map((d) => [d.label, d.data.filter((v) => v > 0).length])")
        labels = [label for label, _ in energy]
        assert labels[:4] == ["PV (kWh)", "Load (kWh)", "Battery in (kWh)", "Battery out (kWh)"]
        assert all(count > 20 for label, count in energy if label.startswith(("PV", "Load")))
        assert seen.problems() == []
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/battery", "/battery/lcars"])
def test_battery_page_charts_energy_today_and_no_bms(browser, solar_stack, path: str) -> None:
    page = browser.new_page()
    try:
        page.goto(solar_stack.url + path)
        settle(page)
        for name in ("battery", "batteryPower"):
            assert page.evaluate(CHART_STATE, name)["count"] > 50
        labels = page.evaluate("window.solarmon.charts.batteryPower.data.datasets.map((d) => d.label)")
        assert "Power (+ charging) (W)" in labels
        charged = page.locator('[data-metric="battery_charge_kwh"] .v').text_content()
        assert charged not in ("", "\N{EN DASH}")
        assert page.locator("#cells-none").is_visible()
        assert "No BMS is connected" in page.locator("#cells-none").text_content()
        assert page.locator("#cells").is_hidden()
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/house", "/house/lcars"])
def test_house_page_lists_mqtt_sensors_with_age_and_weather_with_attribution(browser, solar_stack,
                                                                             path: str) -> None:
    if solar_stack.broker is None:
        missing_tool("mosquitto", "apt-get install mosquitto (scripts/setup.sh does): no MQTT sensors")
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(solar_stack.url + path)
        row = page.locator('#sensors tr[data-sensor="living_room/temperature"]')
        row.wait_for(timeout=10000)
        cells = row.locator("td").all_text_contents()
        assert cells[0] == "Living room \N{MIDDLE DOT} temperature"
        assert cells[1] == "21.5 °C"
        assert cells[2].endswith((" s", " min"))
        assert page.locator("#sensors tr").count() == 3
        weather = page.locator("#weather").text_content()
        assert "-3.4 °C" in weather
        assert "overcast" in weather
        assert "Open-Meteo" in page.locator(".sm-attribution").text_content()
        settle(page)
        assert seen.problems() == []
    finally:
        page.close()
