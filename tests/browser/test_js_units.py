"""The pages' own logic, table by table, run in the real browser on the modules as served: the
API's alarms in words (the rule and the derived powers are the server's), ages, the one snapshot
shape of the API, the console's command strings and BMS cell names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def js(browser, tmp_path_factory) -> Iterator[Any]:
    """`js(module, expression, arg)`: evaluate `expression` with the module bound as `m`."""
    from solarmon.web import create_app
    from tests.browser.server import ServerThread

    app = create_app({"data": {"prom_dir": str(tmp_path_factory.mktemp("js-prom"))}})
    server = ServerThread(app).start()
    page = browser.new_page()
    page.goto(f"{server.url}/static/app/img/icon.svg")  # any document of the app's origin

    def run(module: str, expression: str, arg: Any = None) -> Any:
        return page.evaluate(
            f"async (arg) => {{ const m = await import('/static/app/js/{module}'); return {expression}; }}",
            arg,
        )

    yield run
    page.close()
    server.stop()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (12.4, "12 s"),
        (89, "89 s"),
        (90, "2 min"),
        (5399, "90 min"),
        (5400, "2 h"),
        (35 * 3600, "35 h"),
        (36 * 3600, "2 d"),
        (None, "unknown"),
        (-3, "0 s"),
    ],
)
def test_format_age(js, seconds, text: str) -> None:
    assert js("lib/format.js", "m.formatAge(arg)", seconds) == text


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (52.4, 2, "52.40"),
        (1300, 0, "1,300"),
        ("57.50", 1, "57.5"),
        ("Battery", 0, "Battery"),
        (True, 0, "yes"),
        (None, 1, "\N{EN DASH}"),
        ("", 1, "\N{EN DASH}"),
    ],
)
def test_format_value(js, value, digits: int, text: str) -> None:
    assert js("lib/format.js", "m.formatValue(arg[0], arg[1])", [value, digits]) == text


@pytest.mark.parametrize(
    ("values", "state"),
    [({"battery_power": 500}, "Charging"), ({"battery_power": -200}, "Discharging"),
     ({"battery_power": 0}, "Idle"), ({"battery_voltage": 50}, None)],
)
def test_battery_state_in_words_from_the_apis_battery_power(js, values: dict, state: str | None) -> None:
    assert js("lib/format.js", "m.batteryState(arg)", values) == state


def test_the_page_computes_no_power_and_no_fault_rule(js) -> None:
    """Issue 13: derived values and the fault rule live in Python (catalog.derive,
    classify_alarms); the page's module has neither."""
    names = js("lib/format.js", "Object.keys(m)")
    assert "derive" not in names
    served = js("lib/format.js", "fetch('/static/app/js/lib/format.js').then((r) => r.text())")
    for word in ("CONDITIONAL_FAULTS", "pv_input_current_for_battery", "battery_voltage_from_scc"):
        assert word not in served


@pytest.mark.parametrize("module", ["dashboard.js", "charts.js", "battery.js", "lib/system.js"])
def test_the_pages_add_up_no_totals_and_map_no_system_key(js, module: str) -> None:
    """The site's totals are /api/data's `totals` (solarmon/web/totals.py), a system's history keys
    its `system.keys`: the pages neither add up devices' powers nor name a daemon's system value."""
    served = js("lib/format.js", f"fetch('/static/app/js/{module}').then((r) => r.text())")
    assert "export function" in served or "function main()" in served  # the module itself, served
    for word in ("+=", "system_", "pv_power_total'] +", "total_pv_power"):
        assert word not in served, word


def test_a_systems_tiles_are_the_apis_values_and_the_page_maps_no_key(js) -> None:
    """A system's tiles are /api/data's `system.tiles` (null: a dash; three-phase: per phase) and its
    flow; a tile no system has is dropped. The page names no daemon key: the mapping is the server's."""
    phases = {"L1": 229.0, "L2": 231.0, "L3": 232.5}
    tiles = {"battery_voltage": 52.1, "ac_input_voltage": phases, "pv_input_voltage": None}
    own = {"device_mode": "Line", "battery_voltage": 48.0, "bus_voltage": 400, "pv_input_voltage": 90.0}
    snap = {"values": own,
            "system": {"flow": {"load_power": 900.0}, "unreported": ["bus_voltage"], "tiles": tiles}}
    assert js("lib/system.js", "m.systemValues(arg)", snap) == {
        "device_mode": "Line", "battery_voltage": 52.1, "ac_input_voltage": phases, "load_power": 900.0}
    served = js("lib/system.js", "fetch('/static/app/js/lib/system.js').then((r) => r.text())")
    assert "system_" not in served


@pytest.mark.parametrize(
    ("snap", "reported", "alarms"),
    [
        ({"kinds": {"battery_voltage": "measurement"}, "faults": [], "warnings": []}, False, []),
        ({"kinds": {"line_fail": "warning"}, "faults": [], "warnings": []}, True, []),
        ({"kinds": {"line_fail": "warning"}, "faults": [], "warnings": ["line_fail"]}, True,
         [("Warning", "Line fail")]),
        # The server decided: a9 with a1 is a fault; the page shows what it was told.
        ({"kinds": {"inverter_fault": "fault", "over_temperature": "fault"},
          "faults": ["inverter_fault", "over_temperature"], "warnings": ["line_fail"]}, True,
         [("Fault", "Inverter fault"), ("Fault", "Over temperature"), ("Warning", "Line fail")]),
    ],
)
def test_alarms_are_the_apis_lists(js, snap: dict, reported: bool, alarms: list) -> None:
    got = js("lib/format.js", "m.alarmsOf(arg)", snap)
    assert got["reported"] is reported
    assert [("Fault" if a["fault"] else "Warning", a["text"]) for a in got["alarms"]] == alarms
    labelled = js("lib/format.js", "m.alarmsOf(arg, {line_fail: 'AC input lost'})", snap)
    assert all(a["text"] == "AC input lost" for a in labelled["alarms"] if a["key"] == "line_fail")


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("battery_low_alarm", "Battery low alarm"),
        ("is_load_on", "Load on"),
        ("living_room/temperature", "Living room \N{MIDDLE DOT} temperature"),
    ],
)
def test_words(js, key: str, text: str) -> None:
    assert js("lib/format.js", "m.words(arg)", key) == text


def test_snapshot_from_api_data_and_from_a_stream_sample(js) -> None:
    data = {
        "source": "inverter:main", "ts": 100.5, "age_s": 2.0, "values": {"battery_voltage": 52.4},
        "units": {"battery_voltage": "V"}, "kinds": {"battery_voltage": "measurement"},
        "ages": {"battery_voltage": 2.0}, "stale": {"pv_input_power": 300.0}, "faults": [], "warnings": [],
        "ok": True, "error": None, "device": "main", "devices": ["main", "east"],
        "timestamp": "1970-01-01T00:01:40Z",
    }
    snap = js("lib/api.js", "m.normalizeSnapshot(arg)", data)
    assert (snap["device"], snap["ts"], snap["ageS"]) == ("main", 100.5, 2.0)
    assert snap["devices"] == ["main", "east"]
    assert (snap["values"], snap["units"], snap["ok"]) == (data["values"], data["units"], True)
    assert snap["stale"] == {"pv_input_power": 300.0}
    # A stream event has the same shape (without device/devices).
    sample = {k: v for k, v in data.items() if k not in ("device", "devices", "timestamp")}
    sample.update(source="inverter:east", ok=False)
    snap = js("lib/api.js", "m.normalizeSnapshot(arg)", sample)
    assert (snap["device"], snap["ok"], snap["devices"]) == ("east", False, None)
    # Any other shape is not a snapshot.
    assert js("lib/api.js", "m.normalizeSnapshot(arg)", {"data": {"values": {}}}) is None


def test_history_points_keep_gaps(js) -> None:
    body = {"t": [10, 20, 30], "series": {"battery_voltage": {"unit": "V", "avg": [50.1, None, 50.3]}}}
    got = js("lib/api.js", "m.historyPoints(arg)", body)
    assert got == {
        "battery_voltage": {
            "unit": "V",
            "points": [{"x": 10000, "y": 50.1}, {"x": 20000, "y": None}, {"x": 30000, "y": 50.3}],
        }
    }


def _rows() -> list[dict]:
    """The settings page's rows for a 48 V unit allowing every family, as /api/settings sends them."""
    from solarmon.web.settings import allowed_rows

    families = ["POP", "PCP", "PGR", "PBT", "PBCV", "PBDV", "PSDV", "PCVV", "PBFT", "F", "MCHGC", "PE", "PD"]
    return json.loads(json.dumps(allowed_rows(families, {"rated_battery_voltage": 48.0},
                                              {"MCHGC": [10, 20, 30]})))


def test_the_settings_page_finds_the_choice_set_now_from_the_apis_values(js) -> None:
    """Every choice of every row is found again from the value /api/data shows while it is set
    (names for codes, numbers for currents and frequency, 1/0 for flags)."""
    rows = _rows()
    found = js("settings.js",
               "arg.map((row) => row.choices.map((c) => (m.choiceFor(row, c.data_value) || {}).command))",
               rows)
    for row, commands in zip(rows, found, strict=True):
        assert commands == [c["command"] for c in row["choices"]], row["prefix"]
    pop = next(r for r in rows if r["prefix"] == "POP")
    assert js("settings.js", "m.nowText(arg, 'SBU first')", pop) == "SBU first"
    assert js("settings.js", "m.nowText(arg, undefined)", pop) == "not reported yet"
    flag = next(r for r in rows if r.get("flag") == "a")
    assert js("settings.js", "m.nowText(arg, 1)", flag) == "enabled"
    assert js("settings.js", "m.nowText(arg, true)", flag) == "enabled"  # the daemon's verified form
    recharge = next(r for r in rows if r["prefix"] == "PBCV")  # a short voltage list: choices
    assert js("settings.js", "m.choiceFor(arg, 46).command", recharge) == "PBCV46.0"
    current = next(r for r in rows if r["prefix"] == "MCHGC")
    assert js("settings.js", "m.choiceFor(arg, 30).command", current) == "MCHGC030"


@pytest.mark.parametrize(("number", "command"), [("42.25", "PSDV42.3"), (9.5, "PSDV09.5"), (48, "PSDV48.0")])
def test_the_settings_page_builds_a_range_command(js, number, command: str) -> None:
    assert js("settings.js", "m.rangeCommand({prefix: 'PSDV'}, arg)", number) == command

@pytest.mark.parametrize(
    ("names", "cells"),
    [
        (
            ["living_room/temperature", "battery/cell1", "battery/cell_02_voltage", "battery_cell3"],
            ["cell1", "cell_02_voltage", "cell3"],
        ),
        (["cellar/temperature", "excellent/value"], []),
    ],
)
def test_bms_cells_are_told_from_house_sensors(js, names: list[str], cells: list[str]) -> None:
    readings = [{"name": n, "value": 3.3, "unit": "V", "ageS": 1} for n in names]
    assert [c["label"] for c in js("lib/sensors.js", "m.cellsOf(arg)", readings)] == cells


def test_house_body_flattens_sources(js) -> None:
    body = {
        "sources": {
            "house": {
                "source": "house",
                "ts": 100,
                "age_s": 5,
                "values": {"cellar/t": 12.5},
                "units": {"cellar/t": "°C"},
                "ages": {"cellar/t": 5},
                "ok": True,
            }
        },
        "available": True,
    }
    got = js("lib/sensors.js", "m.readingsOf(arg)", body)
    assert [(r["name"], r["value"], r["unit"], r["source"]) for r in got] == [
        ("cellar/t", 12.5, "°C", "house")
    ]
    assert abs(got[0]["ageS"] - 5) < 2


def test_each_sensor_gets_its_own_age_from_the_ages_map(js) -> None:
    # /api/house's `ages` (one per sensor); a sensor missing from it falls back to the source's age.
    body = {"sources": {"house": {
        "source": "house", "ts": 100, "age_s": 5, "ok": True,
        "values": {"cellar/t": 12.5, "attic/t": 30.0, "new": 1},
        "units": {"cellar/t": "°C", "attic/t": "°C", "new": ""},
        "ages": {"cellar/t": 5, "attic/t": 3600},
    }}, "available": True}
    got = {r["name"]: r["ageS"] for r in js("lib/sensors.js", "m.readingsOf(arg)", body)}
    assert got == {"attic/t": 3600, "cellar/t": 5, "new": 5}


@pytest.mark.parametrize(("mode", "text"), [
    ("Line", "Grid"), ("Battery", "Solar + battery"), ("Standby", "Standby (not powering the house)"),
    ("Fault", "Fault"),
])
def test_modes_in_a_householders_words_with_the_protocol_term_as_tooltip(js, mode: str, text: str) -> None:
    assert js("lib/format.js", "m.modeOf({device_mode: arg})", mode) == text
    assert js("lib/format.js", "m.modeTerm({device_mode: arg})", mode) == f'Inverter mode "{mode}" (QMOD)'


def test_alert_rules_read_as_sentences_with_units_from_the_catalog(js) -> None:
    from solarmon.inverter import catalog

    fields = {key: {"label": info.label, "unit": info.unit} for key, info in catalog.CATALOG.items()}
    rule = {"name": "battery_low", "metric": "battery_capacity", "source": "inverter",
            "condition": "below 20", "clear": "at or above 25", "for_s": 60, "clear_for_s": 0}
    label = fields["battery_capacity"]["label"]
    assert js("alerts.js", "m.ruleSentence(arg[0], arg[1])", [rule, fields]) == (
        f"{label} below 20 % for 1 min; clears at or above 25 %")
    relative = {**rule, "metric": "battery_voltage", "condition": "below battery_under_voltage + 1",
                "clear": "at or above battery_under_voltage + 1.5", "for_s": 90}
    text = js("alerts.js", "m.ruleSentence(arg[0], arg[1])", [relative, fields])
    assert "for 1 min 30 s" in text
    assert fields["battery_under_voltage"]["label"].lower() + " + 1 V" in text
    assert js("alerts.js", "m.duration(arg)", 7200) == "2 h"
