"""The dashboard live: a value changed in the simulator shows without a reload; offline and stale
states are said plainly; several inverters get a switcher and totals; the command console."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import screenshot, settle, wait_for, watch
from tests.fixtures.webapp import SAMPLE_VALUES, TOKEN, write_prom

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

VOLTAGE = '[data-metric="battery_voltage"] .v'


@pytest.mark.parametrize("path", ["/", "/lcars"])
def test_a_value_changed_in_the_simulator_appears_within_2_s_without_reload(browser, solar_stack,
                                                                            path: str) -> None:
    page = browser.new_page()
    try:
        page.goto(solar_stack.url + path)
        settle(page)
        page.evaluate("window.__sameDocument = true")
        shown = page.locator(VOLTAGE).first.text_content()
        target = "49.37" if shown != "49.37" else "50.61"
        started = time.monotonic()
        solar_stack.sim.control({"op": "pin", "field": "battery_voltage", "value": float(target)})
        page.wait_for_function(
            "(want) => document.querySelector('[data-metric=\"battery_voltage\"] .v').textContent === want",
            arg=target, timeout=2000)
        took = time.monotonic() - started
        print(f"simulator -> daemon -> file -> SSE -> page: {took:.2f} s")
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        assert page.locator("#live-status").get_attribute("data-state") == "live"
    finally:
        solar_stack.sim.control({"op": "unpin", "field": "battery_voltage"})
        page.close()


def test_no_data_says_offline_then_old_data_says_stale(browser, small_server) -> None:
    url, paths = small_server()
    page = browser.new_page()
    try:
        page.goto(url + "/")
        page.wait_for_selector('#live-status[data-state="offline"]', timeout=10000)
        banner = page.locator("#offline-banner")
        assert banner.is_visible()
        assert "Inverter not answering" in banner.text_content()
        assert "daemon" in banner.text_content()  # the API's reason: is the daemon running?
        screenshot(page, "state-offline")

        write_prom(paths.prom_dir, "old", SAMPLE_VALUES, ts=time.time() - 7200)
        page.wait_for_selector('#live-status[data-state="stale"]', timeout=10000)
        assert "Data stale" in banner.text_content()
        assert "2 h old" in banner.text_content()
        # Values too old to be live are not shown as values (issue 13/14): a dash, greyed, age in the title.
        assert page.locator(VOLTAGE).first.text_content() == "\N{EN DASH}"
        assert page.locator(".sm-metric.stale").count() > 0
        assert "2 h old" in (page.locator("[data-metric=battery_voltage]").first.get_attribute("title") or "")
        screenshot(page, "state-stale")
    finally:
        page.close()


def test_without_the_stream_the_page_falls_back_to_polling(browser, small_server) -> None:
    # No live stream allowed: /api/stream answers 503 and the page must poll /api/data instead.
    url, paths = small_server({"server": {"max_streams": 0}})
    write_prom(paths.prom_dir, "main", SAMPLE_VALUES)
    page = browser.new_page()
    try:
        page.goto(url + "/")
        page.wait_for_selector('#live-status[data-state="polling"]', timeout=15000)
        assert page.locator(VOLTAGE).first.text_content() == "52.40"
        write_prom(paths.prom_dir, "main", {**SAMPLE_VALUES, "battery_voltage": 51.15})
        page.wait_for_function(
            "() => document.querySelector('[data-metric=battery_voltage] .v').textContent === '51.15'",
            timeout=10000)  # one poll (5 s) after the reader saw the file
        assert page.locator("#offline-banner").is_hidden()
    finally:
        page.close()


def test_two_inverters_get_a_switcher_and_system_totals(browser, small_server) -> None:
    url, paths = small_server()
    for name, pv, load in (("east", 1000, 400), ("west", 300, 150)):
        values = {**SAMPLE_VALUES, "pv_input_power": pv, "ac_output_active_power": load}
        write_prom(paths.prom_dir, name, values)
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(url + "/")
        select = page.locator("#device-select")
        select.wait_for(state="visible", timeout=10000)
        assert sorted(select.locator("option").all_text_contents()) == ["east", "west"]
        totals = page.locator("#totals-panel")
        totals.wait_for(state="visible")
        page.wait_for_function(
            "() => document.querySelector('[data-metric=\"total_pv_power\"] .v').textContent === '1,300'")
        assert totals.locator('[data-metric="total_load_power"] .v').text_content() == "550"
        screenshot(page, "state-two-inverters")

        pv = page.locator('#pv-panel [data-metric="pv_power_total"] .v')
        first = select.input_value()
        other = "west" if first == "east" else "east"
        select.select_option(other)
        page.wait_for_function(
            "(want) => document.querySelector('#pv-panel [data-metric=pv_power_total] .v')"
            ".textContent === want",
            arg="300" if other == "west" else "1,000")
        assert f"device={other}" in page.url
        assert pv.text_content() in ("300", "1,000")

        # The charts and the battery page offer the same choice.
        for path in ("/charts", "/battery/lcars"):
            page.goto(f"{url}{path}?device={other}")
            select.wait_for(state="visible", timeout=10000)
            assert select.input_value() == other
        assert seen.problems() == []
    finally:
        page.close()


def test_the_totals_are_the_servers_and_a_stale_inverter_withholds_them(browser, small_server) -> None:
    """The totals panel shows /api/data's totals (added up on the server); when one inverter's daemon
    stops (its values stale) they are withheld, never the others' short sum shown as live."""
    url, paths = small_server()
    for name, pv, load in (("east", 1000, 400), ("west", 300, 150)):
        values = {**SAMPLE_VALUES, "pv_input_power": pv, "ac_output_active_power": load}
        write_prom(paths.prom_dir, name, values)
    page = browser.new_page()
    try:
        page.goto(url + "/?device=east")
        page.wait_for_function(
            "() => document.querySelector('[data-metric=\"total_pv_power\"] .v').textContent === '1,300'",
            timeout=10000)
        body = page.evaluate("() => fetch('/api/data?device=east').then((r) => r.json())")
        assert body["totals"]["values"]["total_pv_power"] == 1300.0
        assert page.locator("#totals-note").text_content() == "All 2 inverters added up."

        write_prom(paths.prom_dir, "west", {**SAMPLE_VALUES, "pv_input_power": 300}, ts=time.time() - 7200)
        page.wait_for_timeout(300)
        write_prom(paths.prom_dir, "east", {**SAMPLE_VALUES, "pv_input_power": 1000, "battery_voltage": 52.5})
        page.wait_for_function("() => document.getElementById('totals-note').textContent"
                               ".includes('west not answering')", timeout=10000)
        for key in ("total_pv_power", "total_load_power"):
            assert page.locator(f'#totals-panel [data-metric="{key}"] .v').text_content() == "\N{EN DASH}"
    finally:
        page.close()


def test_the_alarms_on_the_page_are_the_apis_faults_and_warnings(browser, small_server) -> None:
    """Defect 5: the fault rule was written three times (codec, alerts, page). With a1 + a9 set,
    a9 is a fault; with a9 alone a warning: the page shows exactly the API's lists."""
    url, paths = small_server()
    bits = {"inverter_fault": 1, "over_temperature": 1, "line_fail": 1, "bus_over": 0}
    write_prom(paths.prom_dir, "main", {**SAMPLE_VALUES, **bits})
    page = browser.new_page()
    try:
        page.goto(url + "/")
        pills = page.locator("#alarms .sm-alarm")
        page.wait_for_function("() => document.querySelectorAll('#alarms .sm-alarm.fault').length === 2")
        body = page.evaluate("() => fetch('/api/data').then((r) => r.json())")
        assert body["faults"] == ["inverter_fault", "over_temperature"]
        assert body["warnings"] == ["line_fail"]
        shown = [(p.get_attribute("class").split()[-1], p.get_attribute("data-key")) for p in pills.all()]
        assert shown == [("fault", "inverter_fault"), ("fault", "over_temperature"), ("warning", "line_fail")]
        assert "Over temperature" in pills.nth(1).text_content()  # the catalog's label
        # a9 without a1 is a warning: the API says so and the page follows.
        write_prom(paths.prom_dir, "main", {**SAMPLE_VALUES, **bits, "inverter_fault": 0})
        page.wait_for_function("() => document.querySelectorAll('#alarms .sm-alarm.fault').length === 0")
        assert sorted(p.get_attribute("data-key") for p in pills.all()) == ["line_fail", "over_temperature"]
    finally:
        page.close()


def reply_of(page) -> tuple[str, str]:
    """Wait for the console's reply and return (ok|error, its text)."""
    box = page.locator("#console-reply [data-result]")
    box.wait_for(state="visible", timeout=15000)
    return box.get_attribute("data-result"), box.text_content()


def test_console_query_nak_refusal_and_the_settings_link(browser, solar_stack) -> None:
    page = browser.new_page()
    try:
        page.goto(solar_stack.url + "/")
        settle(page)
        # Without a token the server refuses, and the console says why.
        page.fill("#query-input", "QPIRI")
        page.click("#query-form button[type=submit]")
        result, text = reply_of(page)
        assert result == "error"
        assert "refused" in text

        page.fill("#console-token", TOKEN)
        page.click("#console-token-save")
        page.evaluate("document.getElementById('console-reply').replaceChildren()")
        page.click("#query-form button[type=submit]")
        result, text = reply_of(page)
        assert result == "ok", text
        assert "Rated battery voltage" in text or "Battery" in text

        # A plain PI30 unit has no energy counters: the inverter NAKs QET, and the console says so.
        page.fill("#query-input", "QET")
        page.evaluate("document.getElementById('console-reply').replaceChildren()")
        page.click("#query-form button[type=submit]")
        result, text = reply_of(page)
        assert result == "error"
        assert "NAK" in text, text

        # Settings are changed on the settings page (test_settings.py): the console links to it
        # and offers no setting control of its own (it preselected a value nobody chose).
        assert page.locator("#setting-select").count() == 0
        assert page.locator("#settings-link").get_attribute("href") == "/settings"
    finally:
        solar_stack.sim.control({"op": "ping"})
        page.close()


def test_console_is_off_with_the_reason_when_no_token_is_configured(browser, small_server) -> None:
    url, _paths = small_server({"daemon": {"command_token_file": ""}})
    page = browser.new_page()
    try:
        page.goto(url + "/")
        state = page.locator("#console-state")
        wait_for(lambda: "Commands are off" in (state.text_content() or ""), 10,
                 "the console to say commands are off")
        assert "user add NAME --role operator" in state.text_content()  # how to turn them on
        assert page.locator("#console-body").is_hidden()
    finally:
        page.close()
