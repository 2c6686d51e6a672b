"""The dashboard's first minute (issue 15): energy today / this month / this year with the
self-sufficiency, the SoC inside the battery node, one connection state that tells a server that
is gone from an inverter that does not answer from old data (the power flow frozen and grey when
not live), and a solar charger's 0 V at night that does not read as a dead battery."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.browser.conftest import get_json, screenshot, settle, wait_for, watch
from tests.browser.server import ServerThread
from tests.fixtures.webapp import SAMPLE_VALUES, TOKEN, WebPaths, make_web_config, write_prom

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_energy_today_month_and_year_and_the_soc_in_the_battery_node(browser, solar_stack) -> None:
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(solar_stack.url + "/")
        settle(page)
        energy = page.locator("#energy-list")
        for period, button in (("day", "Today"), ("month", "This month"), ("year", "This year")):
            if period != "day":
                page.get_by_role("button", name=button).click()
            page.wait_for_function(
                f"() => document.getElementById('energy-list').dataset.period === '{period}'")
            _, body = get_json(f"{solar_stack.url}/api/energy?period={period}&count=1&device=inv")
            pv = body["total"]["pv"][-1]
            assert pv is not None, body  # 31 days of seeded history: there is energy to show
            shown = energy.locator('[data-energy="pv"] .v').text_content()
            assert abs(float(shown) - pv) < 0.05, (period, shown, pv)  # it may grow between the two reads
            self_shown = energy.locator('[data-energy="self_sufficiency"] .v').text_content()
            assert self_shown != "\N{EN DASH}", period
            assert 0 <= float(self_shown) <= 100
        # The SoC is inside the battery node of the power flow, the same number as the battery panel's.
        soc = page.locator("#soc-value").text_content()
        assert page.locator("#flow-battery-soc").text_content() == f"{soc} %"
        assert page.locator("#power-flow").get_attribute("data-live") == "true"
        screenshot(page, "dashboard-energy", docs=True)
        assert seen.problems() == []
    finally:
        page.close()


def _serve(root: Path, values: dict) -> tuple[ServerThread, object, WebPaths]:
    """A web app with one inverter file (no daemon), started; returns (server, runtime, paths)."""
    from solarmon.web import create_app
    from solarmon.web.runtime import Runtime

    (root / "prometheus").mkdir(parents=True)
    token = root / "command.token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    sock = Path(tempfile.gettempdir()) / f"smb-none-{root.name}.sock"
    paths = WebPaths(root, root / "prometheus", root / "history.db", sock, token)
    write_prom(paths.prom_dir, "main", values)
    app = create_app(make_web_config(paths))
    runtime = Runtime.for_app(app).start()
    return ServerThread(app).start(), runtime, paths


def test_a_server_that_is_gone_is_not_an_inverter_that_is_offline(browser, tmp_path: Path) -> None:
    server, runtime, _paths = _serve(tmp_path / "app", SAMPLE_VALUES)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        page.wait_for_selector('#live-status[data-state="live"]', timeout=15000)
        assert page.locator("#power-flow").get_attribute("data-live") == "true"
        # The network between the browser and the server goes: nothing answers any more.
        context.set_offline(True)
        # Within a few seconds, not the 20 s it took to say "Inverter offline" (the inverter was fine).
        page.wait_for_selector('#live-status[data-state="unreachable"]', timeout=6000)
        banner = page.locator("#offline-banner")
        assert banner.is_visible()
        assert "Server unreachable" in banner.text_content()
        assert "inverter may be fine" in banner.text_content()
        assert page.locator("#live-status").text_content() == "server unreachable"
        # The power flow is frozen and grey: no moving arrows while nothing is live.
        flow = page.locator("#power-flow")
        assert flow.get_attribute("data-live") == "false"
        style = "getComputedStyle(document.getElementById('power-flow')).filter"
        assert page.evaluate(style) == "grayscale(1)"
        assert page.evaluate("""() => [...document.querySelectorAll('.sm-flow-path.active')]
            .every((p) => getComputedStyle(p).animationName === 'none')""")
        assert page.locator("#flow-frozen").is_visible()
        screenshot(page, "state-unreachable", docs=True)
        context.set_offline(False)
        page.wait_for_selector('#live-status[data-state="live"], #live-status[data-state="polling"]',
                               timeout=15000)  # and back when it answers again
        assert page.locator("#offline-banner").is_hidden()
    finally:
        context.close()
        runtime.stop()
        server.stop()


def test_no_inverter_data_says_not_answering_and_freezes_the_flow(browser, small_server) -> None:
    url, _paths = small_server()
    page = browser.new_page()
    try:
        page.goto(url + "/")
        page.wait_for_selector('#live-status[data-state="offline"]', timeout=10000)
        assert page.locator("#live-status").text_content() == "inverter not answering"
        assert "Inverter not answering" in page.locator("#offline-banner").text_content()
        assert page.locator("#power-flow").get_attribute("data-live") == "false"
    finally:
        page.close()


def test_the_solar_chargers_zero_volts_at_night_reads_as_idle(browser, small_server) -> None:
    url, paths = small_server()
    night = {**SAMPLE_VALUES, "battery_voltage_from_scc": 0.0, "pv_input_power": 0}
    write_prom(paths.prom_dir, "main", night)
    page = browser.new_page()
    try:
        page.goto(url + "/")
        settle(page)
        tile = page.locator('#inverter-panel [data-metric="battery_voltage_from_scc"]')
        wait_for(lambda: tile.locator(".v").text_content() == "idle", 10, "the idle charger")
        assert tile.locator(".u").is_hidden()  # no "0.00 V" that reads as a dead battery
        assert tile.locator(".sm-metric-label").text_content() == "Solar charger"
        # The battery's own voltage is still there, as measured.
        assert page.locator('#battery-panel [data-metric="battery_voltage"] .v').text_content() == "52.40"
    finally:
        page.close()
