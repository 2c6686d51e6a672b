"""The dashboard of a parallel / three-phase system, in both themes: the simulator's 3 units, the real
daemon and web app. One power flow with the system totals and a strip of units (status, load %,
faults); a unit off the bus is greyed and says so, and the flow shows no total meanwhile; the
three-phase page shows L1/L2/L3 and the imbalance. A single inverter shows none of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from solarmon.simulator.runner import SimulatorProcess
from tests.browser.conftest import get_json, screenshot, wait_for, watch
from tests.browser.test_accessibility import AXE, BAD, RUN_AXE
from tests.fixtures.systems import SystemStack
from tests.fixtures.webapp import SAMPLE_VALUES, write_prom
from tests.tools import missing_tool

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

CARD = '#system-units .sm-unit[data-device="{device}"]'
DASH = "\N{EN DASH}"  # what a tile or flow label shows without a value
FLOW_LOAD_IS = ("([op, dash]) => (document.getElementById('flow-load-value').textContent === dash)"
                " === (op === '=')")
# Every shown tile of the single-unit panels (not the totals panel), and the SoC: [key, text] pairs.
SHOWN_TILES = ("() => [...document.querySelectorAll('.sm-panel:not([hidden]):not(#totals-panel) "
               ".sm-metric[data-metric]:not([hidden])')].map((t) => [t.dataset.metric, "
               "t.querySelector('.v').textContent]).concat([['soc', "
               "document.getElementById('soc-value').textContent]])")
ALL_TILES_ARE = (f"([op, dash]) => ({SHOWN_TILES})().every(([, text]) => (text === dash) === (op === '='))")


def _tiles(page: Any) -> dict[str, str]:
    """The shown tiles' texts by key (the SoC as ``soc``)."""
    return dict(page.evaluate(SHOWN_TILES))


@pytest.fixture
def system_server(small_server, tmp_path: Path) -> Iterator[Callable[[str], tuple[str, SimulatorProcess]]]:
    """``start(layout)``: the web app, and a 3-unit simulator polled by the daemon as section ``sys``
    (``parallel = auto``) into the app's prom folder; returns (url, simulator)."""
    stack = SystemStack(tmp_path)

    def start(layout: str) -> tuple[str, SimulatorProcess]:
        url, paths = small_server()
        sim = stack.start(paths.prom_dir, layout)
        wait_for(lambda: get_json(f"{url}/api/data?device=sys")[0] == 200, 30, "the system's first file")
        return url, sim

    yield start
    stack.stop()


def _flow_load(page: Any) -> str:
    return page.locator("#flow-load-value").text_content() or ""


@pytest.mark.parametrize("path", ["/", "/lcars"])
def test_a_parallel_system_is_one_flow_with_a_unit_strip(browser, system_server, path: str) -> None:
    url, sim = system_server("parallel")
    page = browser.new_page(bypass_csp=True)  # axe is injected below, as in test_accessibility.py
    seen = watch(page)
    try:
        page.goto(url + path)
        panel = page.locator("#system-panel")
        panel.wait_for(state="visible", timeout=30000)
        page.wait_for_function(
            "() => document.querySelectorAll('#system-units .sm-unit[data-up=true]').length === 3",
            timeout=30000)
        assert "Parallel system: 3 of 3 units answering" in page.locator("#system-summary").text_content()
        name = page.locator(CARD.format(device="sys-unit0") + " .sm-unit-name")
        assert name.text_content() == "Unit 0 · parallel"
        assert "%" in page.locator(CARD.format(device="sys-unit1") + " .sm-unit-load").text_content()
        assert page.locator("#system-phases").is_hidden()
        assert page.locator("#system-missing").is_hidden()
        assert page.locator("#totals-panel").is_hidden()  # one system, not four inverters to add up
        page.wait_for_function(FLOW_LOAD_IS, arg=["!", DASH])
        # The flow is the system's: its load is the daemon's system total, not one unit's.
        body = page.evaluate("() => fetch('/api/data?device=sys').then((r) => r.json())")
        assert body["system"]["totals_complete"] is True
        assert page.locator("#flow-system-note").is_visible()
        page.wait_for_function(  # the load tile is the system's load too
            "(dash) => document.querySelector('#load-panel [data-metric=ac_output_active_power] .v')"
            ".textContent !== dash", arg=DASH)
        # Every tile is the system's, a number: battery (the shared bank), solar, load, grid, SoC;
        # the tiles no system has (heat sink, DC bus, charger: QPIGS only) are not shown at all.
        page.wait_for_function(ALL_TILES_ARE, arg=["!", DASH], timeout=15000)
        tiles = _tiles(page)
        assert {"battery_voltage", "battery_charging_current", "pv_input_voltage", "ac_output_load",
                "ac_output_voltage", "ac_input_voltage", "ac_input_frequency", "soc"} <= set(tiles)
        assert [text for text in tiles.values() if text == DASH] == []
        assert page.locator("#inverter-panel").is_hidden()
        assert "bus_voltage" not in tiles
        screenshot(page, f"system-parallel{path.replace('/', '-')}")

        sim.control({"op": "unit", "unit": 2, "present": False})
        down = page.locator(CARD.format(device="sys-unit2"))
        page.wait_for_selector(CARD.format(device="sys-unit2") + '[data-up="false"]', timeout=30000)
        assert down.locator(".sm-unit-status").text_content() == "Not answering"
        assert "down" in (down.get_attribute("class") or "")
        assert "2 of 3 units answering" in page.locator("#system-summary").text_content()
        missing = page.locator("#system-missing")
        assert missing.is_visible()
        assert "sys-unit2" in missing.text_content()
        page.wait_for_function(FLOW_LOAD_IS, arg=["=", DASH])
        assert page.locator("#flow-pv-value").text_content() == DASH  # no short total anywhere
        assert page.locator('#load-panel [data-metric="ac_output_active_power"] .v').text_content() == DASH
        page.wait_for_function(ALL_TILES_ARE, arg=["=", DASH], timeout=5000)  # withheld: every tile
        assert _tiles(page)["battery_voltage"] == DASH
        screenshot(page, f"system-dropout{path.replace('/', '-')}")
        if AXE.is_file():  # the greyed card stays readable; without axe-core: reported at the end
            page.add_script_tag(path=str(AXE))
            bad = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BAD]
            assert bad == []

        sim.control({"op": "unit", "unit": 2, "present": True})
        sim.control({"op": "unit", "unit": 1, "fault": "81"})
        fault = page.locator(CARD.format(device="sys-unit1") + " .sm-unit-fault.fault")
        fault.wait_for(state="visible", timeout=30000)
        assert fault.text_content() == "Fault: Parallel host line lost"
        page.wait_for_function(FLOW_LOAD_IS, arg=["!", DASH], timeout=30000)
        assert page.locator("#system-missing").is_hidden()
        assert seen.problems() == []
    finally:
        sim.control({"op": "unit", "unit": 1, "fault": "00"})
        page.close()
    if not AXE.is_file():
        missing_tool(str(AXE), "npm ci (axe-core is in package.json): the dropped unit's contrast")


@pytest.mark.parametrize("path", ["/", "/lcars"])
def test_a_three_phase_system_shows_l1_l2_l3_and_the_imbalance(browser, system_server, path: str) -> None:
    url, _sim = system_server("three-phase")
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(url + path)
        phases = page.locator("#system-phases")
        phases.wait_for(state="visible", timeout=30000)
        page.wait_for_function(
            "(dash) => document.querySelector('#system-phases [data-phase=L3] .v').textContent !== dash",
            arg=DASH, timeout=30000)
        names = page.locator("#system-units .sm-unit-name").all_text_contents()
        assert names == ["Unit 0 · L1", "Unit 1 · L2", "Unit 2 · L3"]
        body = page.evaluate("() => fetch('/api/data?device=sys').then((r) => r.json())")
        assert body["system"]["layout"] == "three-phase"
        for phase in ("L1", "L2", "L3"):
            assert page.locator(f'#system-phases [data-phase="{phase}"] .v').text_content().endswith(" W")
        assert page.locator('#system-phases [data-phase="imbalance"] .v').text_content() != DASH
        assert "Three-phase system" in page.locator("#system-summary").text_content()
        # Grid and output voltage per phase, never a mean over phases; every other tile a number.
        page.wait_for_function(ALL_TILES_ARE, arg=["!", DASH], timeout=15000)
        for key in ("ac_input_voltage", "ac_output_voltage"):
            tile = page.locator(f'#grid-panel [data-metric="{key}"], #load-panel [data-metric="{key}"]')
            assert tile.get_attribute("data-phases") == "L1 L2 L3"
            assert len(tile.locator(".v").text_content().split(" · ")) == 3
        screenshot(page, f"system-three-phase{path.replace('/', '-')}", docs=True)
        assert seen.problems() == []
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/", "/lcars"])
def test_a_single_inverter_shows_no_system_parts(browser, small_server, path: str) -> None:
    url, paths = small_server()
    write_prom(paths.prom_dir, "main", SAMPLE_VALUES)
    page = browser.new_page()
    try:
        page.goto(url + path)
        page.wait_for_function(FLOW_LOAD_IS, arg=["!", DASH], timeout=15000)
        assert page.locator("#system-panel").is_hidden()
        assert page.locator("#flow-system-note").is_hidden()
        assert page.locator("#flow-note").is_visible()
        assert page.locator("#inverter-panel").is_visible()  # a single unit has its heat sink tile
    finally:
        page.close()


def test_the_totals_count_a_system_once_and_withhold_a_short_sum(browser, small_server) -> None:
    """An inverter beside a 2-unit system: the totals add the inverter and the system (counted once,
    by its own values: the server's totals); with a unit down they are withheld, never short by it."""
    url, paths = small_server()
    unit = {"output_mode": "parallel output", "device_mode": "Battery", "fault_code": "No fault",
            "ac_output_active_power": 250, "ac_output_load": 5, "battery_voltage": 50.0,
            "battery_charging_current": 0, "pv_input_voltage": 100.0, "pv_input_current": 2.0}
    system = {"system_units_expected": 2, "system_units_answering": 2, "system_units_faulted": 0,
              "system_totals_complete": 1, "system_load_power": 500, "system_pv_power": 400.0,
              "system_battery_power": 0.0, "system_grid_power": 0.0}
    write_prom(paths.prom_dir, "main", SAMPLE_VALUES)
    for section, values in (("sys", system), ("sys-unit0", unit), ("sys-unit1", unit)):
        write_prom(paths.prom_dir, section, values)
    page = browser.new_page()
    try:
        page.goto(url + "/?device=main")
        totals = page.locator("#totals-panel")
        totals.wait_for(state="visible", timeout=15000)
        load = totals.locator('[data-metric="total_load_power"] .v')
        page.wait_for_function("(want) => document.querySelector("
                               "'#totals-panel [data-metric=total_load_power] .v').textContent === want",
                               arg="619", timeout=15000)  # 119 + the system's 500
        assert page.locator("#totals-note").text_content() == "All 2 inverters added up."

        write_prom(paths.prom_dir, "sys-unit1", {}, up=False)
        write_prom(paths.prom_dir, "sys", {**system, "system_units_answering": 1, "system_totals_complete": 0,
                                           "system_load_power": float("nan")})
        page.wait_for_timeout(300)
        write_prom(paths.prom_dir, "main", {**SAMPLE_VALUES, "battery_voltage": 52.5})  # a new sample
        page.wait_for_function("() => document.getElementById('totals-note').textContent"
                               ".includes('sys-unit1 not answering')", timeout=15000)
        assert load.text_content() == DASH
    finally:
        page.close()


# The battery panel's tiles by key ("battery_state" in words), the SoC, and the units' list.
BATTERY_TILES = ("() => Object.fromEntries("
                 "[...document.querySelectorAll('#battery-now .sm-metric[data-metric]')]"
                 ".map((t) => [t.dataset.metric, t.querySelector('.v').textContent])"
                 ".concat([['soc', document.getElementById('soc-value').textContent]]))")
BATTERY_UNITS = ("() => [...document.querySelectorAll('#battery-units .sm-unit')].map((u) => "
                 "[u.dataset.device, u.querySelector('.sm-unit-current').textContent])")


@pytest.mark.parametrize("path", ["/battery", "/battery/lcars"])
def test_the_battery_page_of_a_system_shows_its_shared_battery(browser, small_server, path: str) -> None:
    """/battery?device=sys: the one battery the units share, from the system's values (not a unit's
    copy, not dashes), each unit's current; withheld while a unit is missing: dashes."""
    url, paths = small_server()
    unit = {"output_mode": "parallel output", "device_mode": "Line", "fault_code": "No fault",
            "ac_output_active_power": 250, "battery_voltage": 49.0, "battery_capacity": 40,
            "battery_charging_current": 3, "battery_discharge_current": 0}
    system = {"system_units_expected": 2, "system_units_answering": 2, "system_units_faulted": 0,
              "system_totals_complete": 1, "system_battery_voltage": 51.25, "system_battery_capacity": 64,
              "system_battery_charging_current": 8, "system_battery_discharge_current": 2,
              "system_battery_power": 307.5, "system_pv_power": 700.0, "system_load_power": 500,
              "system_grid_power": 0.0}
    # Two samples of the system 2 min apart: its history, from which its energy today is integrated.
    write_prom(paths.prom_dir, "sys", system, ts=time.time() - 120)
    wait_for(lambda: get_json(f"{url}/api/data?device=sys")[0] == 200, 15, "the first system sample")
    write_prom(paths.prom_dir, "sys", system)
    energy = wait_for(lambda: (body := get_json(f"{url}/api/energy?device=sys&period=day&count=1")[1])
                      ["total"]["battery_charge"][0] and body["total"], 15, "the system's energy today")
    write_prom(paths.prom_dir, "sys-unit0", unit)
    write_prom(paths.prom_dir, "sys-unit1",
               {**unit, "battery_charging_current": 5, "battery_discharge_current": 2})
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(f"{url}{path}?device=sys")
        page.wait_for_function(f"() => ({BATTERY_TILES})().battery_voltage === '51.25'", timeout=15000)
        tiles = page.evaluate(BATTERY_TILES)
        assert tiles == {"battery_voltage": "51.25", "battery_charging_current": "8.0",
                         "battery_discharge_current": "2.0", "battery_power": "308",
                         "battery_state": "Charging", "soc": "64"}
        assert page.locator("#battery-units-panel").is_visible()
        assert page.evaluate(BATTERY_UNITS) == [["sys-unit0", "charging 3 A · discharging 0 A"],
                                                ["sys-unit1", "charging 5 A · discharging 2 A"]]
        assert "One battery shared by 2 units" in page.locator("#battery-units-note").text_content()
        # Energy today: the system's own (its history, /api/energy), not dashes.
        energy_tiles = ("() => [...document.querySelectorAll('#battery-energy .sm-metric .v')]"
                        ".map((v) => v.textContent)")
        page.wait_for_function(f"(dash) => !({energy_tiles})().includes(dash)", arg=DASH, timeout=15000)
        assert page.evaluate(energy_tiles) == [f"{energy['battery_charge'][0]:.2f}",
                                               f"{energy['battery_discharge'][0]:.2f}"]
        # The charts are the system's history (its own keys, from the API's system.keys), not empty.
        page.wait_for_function("() => { const c = window.solarmon.charts; return c && c.battery && "
                               "c.battery.data.datasets.length === 2 && c.batteryPower && "
                               "c.batteryPower.data.datasets.length === 3; }", timeout=15000)
        screenshot(page, f"system-battery{path.replace('/', '-')}")

        # Unit 1 off the bus: the system withholds its battery; the page shows dashes, never a unit's copy.
        write_prom(paths.prom_dir, "sys-unit1", {}, up=False)
        write_prom(paths.prom_dir, "sys", {**{k: v for k, v in system.items() if not k.startswith(
            ("system_battery", "system_pv", "system_load", "system_grid"))},
            "system_units_answering": 1, "system_totals_complete": 0})
        page.wait_for_function(f"(dash) => ({BATTERY_TILES})().battery_voltage === dash", arg=DASH,
                               timeout=15000)
        tiles = page.evaluate(BATTERY_TILES)
        assert {key: text for key, text in tiles.items() if text != DASH} == {}
        page.wait_for_function(f"() => ({BATTERY_UNITS})()[1][1] === 'Not answering'", timeout=15000)
        assert "withheld: sys-unit1 not answering" in page.locator("#battery-units-note").text_content()
        assert seen.problems() == []
    finally:
        page.close()


HISTORY_CHART = ("() => { const c = window.solarmon && window.solarmon.charts "
                 "&& window.solarmon.charts.history; return c ? c.data.datasets.map((d) => "
                 "[d.label, d.data.some((p) => p.y !== null)]) : null; }")


def _history_points(url: str, device: str, metric: str) -> int:
    """How many points a 24 h chart of one metric gets (the page's tier: 2-minute averages)."""
    body = get_json(f"{url}/api/historical?device={device}&hours=24&metrics={metric}")[1]
    return len([v for v in (body.get("series", {}).get(metric, {}).get("avg") or []) if v is not None])


ENERGY_ITEMS = ("() => Object.fromEntries([...document.querySelectorAll('#energy-list [data-energy]')]"
                ".map((i) => [i.dataset.energy, i.querySelector('.v').textContent]))")


@pytest.mark.parametrize(("path", "dashboard"), [("/charts", "/"), ("/charts/lcars", "/lcars")])
def test_the_charts_of_a_system_show_its_history(browser, small_server, path: str, dashboard: str) -> None:
    """/charts?device=sys: each shown key is asked as the system value it stands for (the API's
    system.keys), so the system's history is drawn; a key a system has no value for is offered
    disabled and said so, never asked and shown empty. The dashboard's energy today of the system is
    its own history's too, not dashes."""
    url, paths = small_server()
    unit = {"output_mode": "parallel output", "device_mode": "Line", "fault_code": "No fault",
            "ac_output_active_power": 250, "battery_voltage": 49.0}
    system = {"system_units_expected": 2, "system_units_answering": 2, "system_units_faulted": 0,
              "system_totals_complete": 1, "system_battery_voltage": 51.25, "system_load_power": 500,
              "system_pv_power": 700.0, "system_battery_power": 200.0, "system_grid_power": 0.0}
    for section in ("sys-unit0", "sys-unit1"):
        write_prom(paths.prom_dir, section, unit)
    write_prom(paths.prom_dir, "sys", system, ts=time.time() - 120)
    wait_for(lambda: get_json(f"{url}/api/data?device=sys")[0] == 200, 15, "the first system sample")
    write_prom(paths.prom_dir, "sys", {**system, "system_load_power": 520})
    wait_for(lambda: _history_points(url, "sys", "system_battery_voltage"), 15, "the system's history")
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(f"{url}{path}?device=sys&metrics=pv_input_power,ac_output_active_power,battery_voltage")
        page.wait_for_function(f"() => {{ const d = ({HISTORY_CHART})(); return d && d.length === 2; }}",
                               timeout=15000)
        assert page.evaluate(HISTORY_CHART) == [["Load (W)", True], ["Battery voltage (V)", True]]
        status = page.locator("#chart-status").text_content()
        assert "A system has no PV power of its own." in status
        assert "No data for" not in status
        assert page.locator('#metric-picks input[value="pv_input_power"]').is_disabled()
        assert page.locator('#metric-picks input[value="pv_power_total"]').is_enabled()
        assert "metrics=system_load_power%2Csystem_battery_voltage" in (
            page.locator("#csv-link").get_attribute("href") or "")

        energy = get_json(f"{url}/api/energy?device=sys&period=day&count=1")[1]["total"]
        page.goto(f"{url}{dashboard}?device=sys")
        page.wait_for_function(f"(dash) => !Object.values(({ENERGY_ITEMS})()).includes(dash)", arg=DASH,
                               timeout=15000)
        shown = page.evaluate(ENERGY_ITEMS)
        assert {kind: shown[kind] for kind in energy} == {kind: f"{kwh[0]:.2f}"
                                                          for kind, kwh in energy.items()}
        assert shown["self_sufficiency"] == "100"
        assert seen.problems() == []
    finally:
        page.close()


def test_the_battery_page_of_a_single_inverter_lists_no_units(browser, small_server) -> None:
    url, paths = small_server()
    write_prom(paths.prom_dir, "main", SAMPLE_VALUES)
    page = browser.new_page()
    try:
        page.goto(url + "/battery")
        page.wait_for_function(f"() => ({BATTERY_TILES})().battery_voltage === '52.40'", timeout=15000)
        assert page.locator("#battery-units-panel").is_hidden()
    finally:
        page.close()
