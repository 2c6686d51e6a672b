"""The battery page's BMS section in a real browser, both themes: a JK and a Daly BMS file written
by the daemon's own writer from the simulator's frames; cells as bars with the balancing ones
marked, alarms in words, temperatures, and the BMS's SoC preferred with its source named."""

from __future__ import annotations

import time

import pytest

from solarmon.atomicfile import write_atomic
from solarmon.bms import catalog, daly, jk
from solarmon.daemon.promfile import HealthSample, TimedReading, render
from solarmon.simulator.bms_firmware import DalyFirmware, JkFirmware
from solarmon.simulator.bms_model import BmsPack
from tests.browser.conftest import get_json, settle, wait_for, watch
from tests.fixtures.webapp import SAMPLE_VALUES, write_prom

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
HEALTH = HealthSample(up=True, last_success_wall=0.0, poll_duration_s=0.2, consecutive_failures=0, errors={})


def _write(prom_dir, section: str, readings: list) -> None:
    now = time.time()
    text = render(section, "sim", [TimedReading(r, now) for r in readings], HEALTH, describe=catalog.of_field)
    write_atomic(prom_dir / f"mpp-solar-{section}.prom", text)


@pytest.mark.parametrize("path", ["/battery", "/battery/lcars"])
def test_battery_page_shows_each_bms(browser, small_server, path: str) -> None:
    url, paths = small_server()
    write_prom(paths.prom_dir, "main", SAMPLE_VALUES)
    jk_pack = BmsPack(cells=8, soc=0.9, seed=3, balance_trigger_v=0.001, cell_overvoltage_v=9.9)
    jk_pack.held_current_a = 20.0
    jk_pack.step(600.0)
    jk_pack.trip("cell_overvoltage")
    _write(paths.prom_dir, "pack1", [jk.decode(JkFirmware(jk_pack).feed(jk.request())[0])])
    daly_pack = BmsPack(cells=4, soc=0.5, seed=1, balance_trigger_v=0.0, cell_overvoltage_v=9.9)
    daly_pack.held_current_a = 10.0
    daly_pack.step(60.0)
    firmware = DalyFirmware(daly_pack)
    _write(paths.prom_dir, "pack2", [daly.decode(firmware.feed(daly.request(i))[0], i, cells=4, sensors=2)
                                      for i in (0x94, 0x90, 0x93, 0x95, 0x96, 0x97, 0x98)])
    wait_for(lambda: len(get_json(f"{url}/api/battery")[1]["bms"]) == 2, 10, "both BMSs in /api/battery")
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(url + path)
        page.locator('[data-bms-source="inverter:pack2"]').wait_for(timeout=10000)
        settle(page)
        assert page.locator("#bms-none").is_hidden()
        alarms = page.locator('[data-bms-source="inverter:pack1"] [data-bms-alarms]').text_content()
        assert "Protection: Cell overvoltage" in alarms
        quiet = page.locator('[data-bms-source="inverter:pack2"] [data-bms-alarms]').text_content()
        assert "No alarm." in quiet
        bars = page.evaluate("window.solarmon.charts.bmsCells0.data.datasets[0].data")
        assert bars == jk_pack.cell_voltages
        colours = page.evaluate("window.solarmon.charts.bmsCells1.data.datasets[0].backgroundColor")
        assert len(set(colours)) == 2  # Daly: two cells balancing, drawn in the second colour
        assert "Balancer active on cells" in page.locator(
            '[data-bms-source="inverter:pack2"] .sm-bms-balancer').text_content()
        temperature = page.locator('[data-bms-source="inverter:pack1"] dd[data-bms="mos_temperature"]')
        assert temperature.text_content().endswith("°C")
        assert page.locator("#soc-source").text_content() in ("BMS (pack1, pack2)", "BMS (pack2, pack1)")
        assert seen.problems() == []
    finally:
        page.close()


def test_a_bms_on_the_stream_never_becomes_the_dashboards_inverter(browser, small_server) -> None:
    # A BMS section's file is read like an inverter's and its events share the live stream; the
    # dashboard must keep to the devices /api/data lists (the demo's first visit showed the BMS
    # "pack1" as the inverter, every tile a dash).
    url, paths = small_server()
    write_prom(paths.prom_dir, "main", SAMPLE_VALUES)
    pack = BmsPack(cells=8, soc=0.6, seed=5, cell_overvoltage_v=9.9)
    _write(paths.prom_dir, "pack1", [jk.decode(JkFirmware(pack).feed(jk.request())[0])])
    wait_for(lambda: get_json(f"{url}/api/data")[1].get("devices") == ["main"], 10, "main alone in devices")
    page = browser.new_page()
    try:
        page.goto(url + "/")
        # a function, not an expression: Playwright polls a bare expression through eval, which the
        # page's Content-Security-Policy forbids (it passed only when true on the first try)
        page.wait_for_function("() => window.solarmon?.feed?.snapshot")
        for _ in range(6):  # BMS readings keep arriving on the stream while the page is open
            pack.step(1.0)
            _write(paths.prom_dir, "pack1", [jk.decode(JkFirmware(pack).feed(jk.request())[0])])
            page.wait_for_timeout(300)
        assert page.evaluate("window.solarmon.feed.devices") == ["main"]
        assert page.evaluate("window.solarmon.feed.device") == "main"
        options = page.locator("#device-select option").all_text_contents()
        assert "pack1" not in options
    finally:
        page.close()
