"""Pages of a part that is not configured say so in words (issue 12): without an `mqtt:` section in
web.yaml the house page and the battery page's cells say the part is off and why, instead of
waiting for a sensor that will never publish."""

from __future__ import annotations

import pytest

from tests.browser.conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.mark.parametrize("path", ["/house", "/house/lcars"])
def test_house_page_says_sensors_and_weather_are_off_without_mqtt(browser, small_server, path: str) -> None:
    url, _paths = small_server()
    page = browser.new_page()
    try:
        page.goto(url + path)
        settle(page)
        page.wait_for_function("() => document.querySelector('#sensors-none').textContent.includes('off')")
        sensors = page.locator("#sensors-none").text_content()
        assert sensors.startswith("House sensors are off: no mqtt section in ")
        assert "published yet" not in sensors
        assert page.locator("#weather-none").text_content().startswith("The weather is off: no mqtt section")
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/battery", "/battery/lcars"])
def test_battery_page_says_bms_values_are_off_without_mqtt(browser, small_server, path: str) -> None:
    url, _paths = small_server()
    page = browser.new_page()
    try:
        page.goto(url + path)
        settle(page)
        page.wait_for_function("() => document.querySelector('#cells-none').textContent.includes('off')")
        words = page.locator("#cells-none").text_content()
        assert words.startswith("BMS values are off: no mqtt section in ")
        assert page.locator("#cells-none").is_visible()
    finally:
        page.close()
