"""/api/data's ``totals``: several inverters on one site added up once, on the server
(solarmon/web/totals.py), a parallel system counted once by its own values, never its units again;
a total that depends on a device that is stale, not answering or withholding is null, never a
short sum shown as live. Real .prom files, the real reader and app."""

from __future__ import annotations

import time

import jsonschema
import pytest

from solarmon.web.openapi import DATA
from tests.fixtures.webapp import SAMPLE_VALUES, write_prom

# SAMPLE_VALUES: PV 856 W, load 119 W, battery 52.4 V x 12 A = 628.8 W charging, grid 0 (Battery mode).
WEST = {**SAMPLE_VALUES, "pv_input_power": 300, "ac_output_active_power": 150, "battery_charging_current": 0,
        "battery_discharge_current": 2}  # battery -104.8 W
SYSTEM = {"system_units_expected": 2, "system_units_answering": 2, "system_units_faulted": 0,
          "system_totals_complete": 1, "system_pv_power": 1000.0, "system_load_power": 600,
          "system_battery_power": 400.0, "system_grid_power": 0.0}
UNIT = {"output_mode": "parallel output", "device_mode": "Battery", "fault_code": "No fault",
        "ac_output_active_power": 300, "battery_voltage": 50.0, "battery_charging_current": 4,
        "pv_input_voltage": 100.0, "pv_input_current": 5.0}


@pytest.fixture
def site(web_paths, scan):
    """``write(section, values, **kw)`` writes a device's file and reads the folder."""
    def write(section: str, values: dict, **kw) -> None:
        write_prom(web_paths.prom_dir, section, values, **kw)
        scan()
    return write


def test_one_inverter_has_no_totals(client, site) -> None:
    site("east", SAMPLE_VALUES)
    assert "totals" not in client.get("/api/data").json


def test_several_inverters_and_a_system_are_added_up_once(client, site) -> None:
    site("east", SAMPLE_VALUES)
    site("west", WEST)
    for section, values in (("sys", SYSTEM), ("sys-unit0", UNIT), ("sys-unit1", UNIT)):
        site(section, values)
    body = client.get("/api/data?device=west").json
    jsonschema.validate(body, DATA)
    totals = body["totals"]
    assert totals["devices"] == ["east", "west", "sys"]  # the system once, its units not
    assert totals["values"] == {"total_pv_power": 856 + 300 + 1000.0, "total_load_power": 119 + 150 + 600.0,
                                "total_battery_power": 628.8 - 104.8 + 400.0, "total_grid_power": 0.0}
    assert totals["units"]["total_pv_power"] == "W"
    assert (totals["complete"], totals["missing"], totals["withheld"]) == (True, [], {})
    assert client.get("/api/data?device=sys-unit1").json["totals"] == totals  # the same on every device

    # A unit of the system off the bus: every total waits for it (the system withholds its own).
    site("sys-unit1", {}, up=False)
    site("sys", {**{k: v for k, v in SYSTEM.items() if not k.startswith(("system_pv", "system_load",
                                                                          "system_battery", "system_grid"))},
                 "system_units_answering": 1, "system_totals_complete": 0})
    totals = client.get("/api/data?device=east").json["totals"]
    assert totals["values"] == dict.fromkeys(totals["values"])
    assert (totals["complete"], totals["missing"]) == (False, ["sys-unit1"])
    assert totals["withheld"]["total_load_power"] == ["sys"]


def test_a_stale_inverter_withholds_the_totals_not_a_short_sum(client, site, web_config) -> None:
    site("east", SAMPLE_VALUES)
    site("west", WEST)
    assert client.get("/api/data?device=east").json["totals"]["values"]["total_pv_power"] == 1156.0
    site("west", WEST, ts=time.time() - web_config.data.stale_after_s - 30)  # its daemon stopped
    body = client.get("/api/data?device=east").json  # east's body, cached before: rebuilt for west
    totals = body["totals"]
    assert totals["values"] == dict.fromkeys(totals["values"])
    assert (totals["complete"], totals["missing"]) == (False, ["west"])


def test_a_total_a_device_does_not_report_is_withheld_alone(client, site) -> None:
    site("east", {k: v for k, v in SAMPLE_VALUES.items() if not k.startswith("battery_")})
    site("west", WEST)
    totals = client.get("/api/data").json["totals"]
    assert totals["values"]["total_battery_power"] is None
    assert totals["withheld"] == {"total_battery_power": ["east"]}
    assert totals["values"]["total_pv_power"] == 1156.0
    assert totals["missing"] == []


def test_an_inverter_ageing_out_withholds_the_totals_without_a_new_reading(client, site, web_config) -> None:
    """Another device's values ageing out (no new file) changes this device's body: the cached body
    of /api/data expires with the first value its totals use."""
    site("east", SAMPLE_VALUES)
    site("west", WEST, ts=time.time() - web_config.data.stale_after_s + 1.0)  # stale in a second
    assert client.get("/api/data?device=east").json["totals"]["complete"] is True
    deadline = time.monotonic() + 5
    while client.get("/api/data?device=east").json["totals"]["complete"] and time.monotonic() < deadline:
        time.sleep(0.1)
    totals = client.get("/api/data?device=east").json["totals"]
    assert (totals["complete"], totals["missing"]) == (False, ["west"])
