"""End to end: a simulated 3-unit parallel system and a 3-phase system, the real daemon, the real web
app (reader, history, alerts): /api/data's ``system`` block names the units (up, phase), carries
the totals only while every unit answers, each unit's values reach the history under its own
source, a unit off the bus is shown and counted and fires the built-in alert (never a short
total), and a faulted unit fires the mode alert on its own device."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from solarmon.simulator.runner import SimulatorProcess
from solarmon.web.openapi import DATA
from solarmon.web.systems import TILE_KEYS, UNREPORTED
from tests.daemon.conftest import wait_until
from tests.fixtures.systems import SystemStack

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def web_config_overrides() -> dict[str, dict[str, Any]]:
    """The dropout and battery alerts without their wait, so the test sees them fire at once."""
    return {"alerts": {"defaults": {"system_unit_missing": {"for_s": 0}, "battery_low": {"for_s": 0},
                                    "battery_near_cutoff": {"for_s": 0}, "grid_lost": {"for_s": 0}}}}


@pytest.fixture
def start_system(web_paths, tmp_path: Path) -> Iterator[Callable[[str, str], SimulatorProcess]]:
    """``start(layout, parallel)``: the simulator (3 units) and the daemon writing section ``sys``
    into the web app's prom folder."""
    stack = SystemStack(tmp_path)

    def start(layout: str, parallel: str) -> SimulatorProcess:
        return stack.start(web_paths.prom_dir, layout, parallel)

    yield start
    stack.stop()


def _body(client, device: str = "sys") -> dict[str, Any]:
    response = client.get(f"/api/data?device={device}")
    return response.json if response.status_code == 200 else {}


def _complete(client) -> dict[str, Any] | None:
    """The system's body once it has totals and its units' loads add up to them (one file read)."""
    body = _body(client)
    system = body.get("system")
    if not system or not system["totals_complete"]:
        return None
    loads = [u["load_power"] for u in system["units"]]
    return body if None not in loads and sum(loads) == system["flow"]["load_power"] else None


def _active(client, rule: str) -> list[dict[str, Any]]:
    return [a for a in client.get("/api/alerts").json["active"] if a.get("rule") == rule]


def test_parallel_system_in_the_api_history_and_alerts(start_system, client, web_runtime) -> None:
    sim = start_system("parallel", "auto")
    body = wait_until(lambda: _complete(client), timeout_s=60, what="a complete system in /api/data")
    jsonschema.validate(body, DATA)
    system = body["system"]
    assert body["systems"] == {"sys": ["sys-unit0", "sys-unit1", "sys-unit2"]}
    assert system["layout"] == "parallel"
    assert [(u["device"], u["source"], u["up"], u["phase"]) for u in system["units"]] == [
        (f"sys-unit{n}", f"inverter:sys-unit{n}", True, None) for n in range(3)]
    assert (system["expected"], system["answering"], system["missing"]) == (3, 3, [])
    assert system["flow"]["load_power"] == body["values"]["system_load_power"]
    assert system["flow"]["pv_power_total"] == body["values"]["system_pv_power"]
    # The grid and battery of the flow are the daemon's (system.py), mapped, not re-derived here.
    assert system["flow"]["grid_power"] == body["values"]["system_grid_power"]
    assert system["flow"]["battery_power"] == body["values"]["system_battery_power"]
    values = body["values"]
    # Every tile is the system's: the daemon's system value (system.py) under the tile's key.
    assert system["tiles"] == {tile: values[key] for tile, key in TILE_KEYS.items()}
    assert None not in system["tiles"].values()
    assert system["unreported"] == list(UNREPORTED)
    shares = (100 * values["system_load_power"] / (3 * values["rated_ac_output_active_power"]),
              100 * values["system_load_apparent_power"] / (3 * values["rated_ac_output_apparent_power"]))
    assert system["tiles"]["ac_output_load"] == round(max(shares))  # of the host's QPIRI rating x 3
    assert 40 < system["tiles"]["battery_voltage"] < 60
    assert 0 <= system["tiles"]["battery_capacity"] <= 100
    assert (system["phases"], system["imbalance_percent"]) == ({}, None)
    unit = _body(client, "sys-unit1")
    assert unit["member_of"] == "sys"
    assert "system" not in unit
    jsonschema.validate(unit, DATA)
    assert system["units"][1]["output_mode"] == unit["values"]["output_mode"] == "parallel output"

    # Each unit's values reach the history under its own source; the system's totals under its own.
    def history(device: str, metric: str) -> list[float]:
        reply = client.get(f"/api/historical?device={device}&hours=1&metrics={metric}").json
        series = (reply.get("series") or {}).get(metric) or {}
        return [v for v in series.get("avg", []) if v is not None]
    for device, metric in (("sys-unit0", "ac_output_active_power"), ("sys-unit2", "load_power"),
                           ("sys", "system_load_power")):
        wait_until(lambda d=device, m=metric: history(d, m), timeout_s=60,
                   what=f"{device} {metric} in the history")

    # The system's energy is its own: its system values' history, integrated (energy.py), every kind
    # a figure (the battery's in and out too), never dashes; the units are not counted again.
    def energy() -> dict[str, Any] | None:
        reply = client.get("/api/energy?device=sys&period=day&count=1").json
        return reply if (reply["total"]["pv"][0] or 0) > 0 else None
    reply = wait_until(energy, timeout_s=60, what="the system's energy today")
    assert list(reply["devices"]) == ["inverter:sys"]
    assert None not in [reply["total"][kind][0] for kind in reply["kinds"]], reply["total"]
    everything = client.get("/api/energy?period=day&count=1").json
    assert sorted(everything["devices"]) == ["inverter:sys", *(f"inverter:sys-unit{n}" for n in range(3))]
    assert everything["total"]["pv"][0] == pytest.approx(everything["devices"]["inverter:sys"]["pv"][0])

    # A unit off the bus: shown (up false, its error), counted, the totals withheld, the alert fires.
    sim.control({"op": "unit", "unit": 2, "present": False})
    body = wait_until(lambda: (b := _body(client)).get("system", {}).get("answering") == 2 and b,
                      timeout_s=60, what="unit 2 counted as not answering")
    jsonschema.validate(body, DATA)
    system = body["system"]
    assert [u["up"] for u in system["units"]] == [True, True, False]
    assert system["units"][2]["load_power"] is None
    assert system["units"][2]["error"]
    assert (system["totals_complete"], system["flow"], system["missing"]) == (False, {}, ["sys-unit2"])
    assert set(system["tiles"].values()) == {None}  # every tile withheld, none a short or skewed value
    assert "system_load_power" not in body["values"]  # never a short total
    assert "system_battery_voltage" not in body["values"]
    firing = wait_until(lambda: _active(client, "system_unit_missing"), timeout_s=30,
                        what="the system_unit_missing alert")
    assert firing[0]["source"] == "inverter:sys"
    assert "only 2 of 3 units" in str(firing)

    # Back on the bus, and unit 1 faulted: totals again, the fault on its card and its own alert.
    sim.control({"op": "unit", "unit": 2, "present": True})
    sim.control({"op": "unit", "unit": 1, "fault": "81"})
    body = wait_until(lambda: (b := _complete(client)) and b["system"]["faulted"] == 1 and b,
                      timeout_s=60, what="totals back with unit 1 faulted")
    units = body["system"]["units"]
    assert (units[1]["fault"], units[1]["mode"]) == ("Parallel host line lost", "Fault")
    assert (units[0]["fault"], units[1]["up"]) == (None, True)
    firing = wait_until(lambda: [a for a in _active(client, "inverter_mode_fault")
                                 if a["source"] == "inverter:sys-unit1"],
                        timeout_s=30, what="inverter_mode_fault on unit 1")
    assert firing
    wait_until(lambda: not _active(client, "system_unit_missing"), timeout_s=30,
               what="system_unit_missing cleared")

    # The shared battery runs low and near the cut-off (every unit reads it): one alert each, on the
    # system, with the system's values; none per unit.
    assert sim.control({"op": "pin", "values": {"battery_capacity": 12, "battery_voltage": 43.0}})["ok"]
    for rule in ("battery_low", "battery_near_cutoff"):
        firing = wait_until(lambda r=rule: _active(client, r), timeout_s=30, what=f"{rule} on the system")
        assert [a["source"] for a in firing] == ["inverter:sys"], firing
    assert float(_active(client, "battery_low")[0]["fired_value"]) == 12.0
    assert not [a for a in client.get("/api/alerts").json["active"]
                if a["rule"].startswith("battery") and a["source"] != "inverter:sys"]

    # The grid goes away: the units share it, so grid_lost fires once, on the system, not per unit.
    assert _body(client)["system"]["tiles"]["ac_input_voltage"] > 180  # it was there: the rule is armed
    assert sim.control({"op": "set", "grid": False})["ok"]
    firing = wait_until(lambda: _active(client, "grid_lost"), timeout_s=30, what="grid_lost on the system")
    assert [a["source"] for a in firing] == ["inverter:sys"], firing
    wait_until(lambda: all(u["up"] for u in _body(client)["system"]["units"]) and _body(client)
               ["system"]["tiles"]["ac_input_voltage"] == 0, timeout_s=30, what="every unit without grid")
    assert [a["source"] for a in _active(client, "grid_lost")] == ["inverter:sys"]


def test_three_phase_system_shows_each_phase(start_system, client, web_runtime) -> None:
    start_system("three-phase", "3")
    body = wait_until(lambda: _complete(client), timeout_s=60, what="a complete three-phase system")
    jsonschema.validate(body, DATA)
    system = body["system"]
    assert system["layout"] == "three-phase"
    assert [u["phase"] for u in system["units"]] == ["L1", "L2", "L3"]
    assert system["phases"] == {u["phase"]: u["load_power"] for u in system["units"]}
    assert sum(system["phases"].values()) == system["flow"]["load_power"]
    loads = system["phases"].values()
    mean = sum(loads) / 3
    assert system["imbalance_percent"] == pytest.approx(100 * (max(loads) - min(loads)) / mean, abs=0.1)
    # Grid and output voltages per phase (never a mean over phases); every other tile a number.
    values, tiles = body["values"], system["tiles"]
    for tile in ("ac_input_voltage", "ac_output_voltage"):
        assert tiles[tile] == {p: values[f"phase_{p.lower()}_{tile}"] for p in ("L1", "L2", "L3")}
    assert None not in tiles.values()
    assert "system_ac_input_voltage" not in values
