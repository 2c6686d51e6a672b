"""The battery page's per-cell section in a real browser, fed by a BMS over a real broker
(battery/cell1..N and other battery/<name> values, through /api/battery); and the house page's
charts drawn from the house and weather history (/api/historical?source=)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import get_json, settle, wait_for, watch
from tests.fixtures.broker import Broker
from tests.tools import missing_tool

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# What the BMS publishes, out of order (the page shows the cells in cell order).
BMS = {"cell10": 3.288, "cell2": 3.301, "cell1": 3.297, "temperature": 18.5, "soc": 87.0}


@pytest.mark.parametrize("path", ["/battery", "/battery/lcars"])
def test_battery_page_shows_the_cells_a_bms_publishes(browser, small_server, mqtt_broker: Broker,
                                                      mqtt_connect: Any, tmp_path, path: str) -> None:
    secret = tmp_path / "web-mqtt.pass"
    secret.write_text(mqtt_broker.users["solarmon-web"] + "\n")
    secret.chmod(0o600)
    url, _paths = small_server({"mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port,
                                         "password_file": str(secret)}})
    wait_for(lambda: get_json(f"{url}/api/status")[1]["sources"]["mqtt"]["ok"], 10, "the MQTT subscriber")
    bms = mqtt_connect("solarmon-bms")
    for name, value in BMS.items():
        unit = "V" if name.startswith("cell") else ("%" if name == "soc" else "°C")
        bms.publish(f"battery/{name}", f'{{"value": {value}, "unit": "{unit}"}}', qos=1)
    assert bms.flush(5)
    wait_for(lambda: len(get_json(f"{url}/api/battery")[1]["sources"].get("battery", {}).get("values", {}))
             == len(BMS), 5, "the BMS values in /api/battery")
    page = browser.new_page()
    try:
        page.goto(url + path)
        page.locator("#cells .sm-cell").first.wait_for(timeout=10000)
        assert page.locator("#cells-none").is_hidden()
        tiles = page.locator("#cells .sm-cell")
        assert [tiles.nth(i).get_attribute("data-cell") for i in range(tiles.count())] == \
            ["cell1", "cell2", "cell10"]
        first = tiles.first.text_content()
        assert first.startswith("Cell 1 \N{MIDDLE DOT} ")
        assert first.endswith("3.297 V")
        assert page.locator("#bms-values").is_visible()
        assert "18.5 °C" in page.locator('#bms-values dd[data-sensor="temperature"]').text_content()
        assert "87 %" in page.locator('#bms-values dd[data-sensor="soc"]').text_content()
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/house", "/house/lcars"])
def test_house_page_charts_the_sensor_history(browser, solar_stack, path: str) -> None:
    if solar_stack.broker is None:
        missing_tool("mosquitto", "apt-get install mosquitto (scripts/setup.sh does): no MQTT sensors")
    # The subscriber's values reach the history database (what the charts ask for) within seconds.
    wait_for(lambda: get_json(f"{solar_stack.url}/api/historical?source=house&hours=1")[1]["series"],
             15, "house history")
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(solar_stack.url + path)
        # (wait_for_function would need eval, which the page's Content-Security-Policy forbids)
        page.locator("#house-chart-status", has_text="data points").wait_for(timeout=15000)
        page.locator("#weather-chart-status", has_text="data points").wait_for(timeout=15000)
        settle(page)
        labels = page.evaluate("window.solarmon.charts.house.data.datasets.map((d) => d.label)")
        assert any("Living room" in label for label in labels), labels
        drawn = page.evaluate("window.solarmon.charts.house.data.datasets.flatMap((d) => d.data)"
                              ".filter((p) => p.y !== null).length")
        assert drawn >= 3  # one point per sensor at least
        status = page.locator("#house-chart-status").text_content()
        assert "keeps no history" not in status
        assert "data points" in status
        assert seen.problems() == []
    finally:
        page.close()
