"""/api/battery shows the BMSs the daemon polls: real .prom files written by the daemon's own writer
from the simulator's frames, read by the real reader; the BMS's SoC is preferred, with its source."""

from __future__ import annotations

import time
from pathlib import Path

from solarmon.alerts.defaults import default_rules
from solarmon.alerts.evaluator import Evaluator
from solarmon.atomicfile import write_atomic
from solarmon.bms import catalog, daly, jk
from solarmon.daemon.promfile import HealthSample, TimedReading, render
from solarmon.simulator.bms_firmware import DalyFirmware, JkFirmware
from solarmon.simulator.bms_model import BmsPack
from tests.fixtures.webapp import SAMPLE_VALUES, write_prom

HEALTH = HealthSample(up=True, last_success_wall=0.0, poll_duration_s=0.2, consecutive_failures=0, errors={})


def write_bms(prom_dir: Path, section: str, readings: list, now: float) -> None:
    text = render(section, "sim", [TimedReading(r, now) for r in readings], HEALTH, describe=catalog.of_field)
    write_atomic(prom_dir / f"mpp-solar-{section}.prom", text)


def jk_pack(*, trip: str | None = None) -> BmsPack:
    pack = BmsPack(cells=8, soc=0.9, seed=3, balance_trigger_v=0.001, cell_overvoltage_v=9.9)
    pack.held_current_a = 20.0
    pack.step(600.0)
    if trip:
        pack.trip(trip)
    return pack


def test_battery_shows_the_bms_pack_cells_balancer_and_alarms_in_words(client, web_paths, scan) -> None:
    now = time.time()
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    pack = jk_pack(trip="cell_overvoltage")
    write_bms(web_paths.prom_dir, "pack1", [jk.decode(JkFirmware(pack).feed(jk.request())[0])], now)
    scan()
    body = client.get("/api/battery").json
    assert body["available"] is True
    assert list(body["bms"]) == ["inverter:pack1"]  # the inverter's file is not a BMS
    bms = body["bms"]["inverter:pack1"]
    assert bms["name"] == "pack1"
    assert [c["n"] for c in bms["cells"]] == list(range(1, 9))
    assert bms["cells"][0]["voltage"] == pack.cell_voltages[0]
    assert bms["pack"]["pack_voltage"]["value"] == pack.pack_voltage
    assert bms["pack"]["pack_voltage"]["unit"] == "V"
    assert bms["pack"]["cell_voltage_delta"]["label"] == "Cell voltage delta"
    assert bms["balancer"]["active"] in (0, 1)
    assert {t["key"] for t in bms["temperatures"]} == {"mos_temperature", "temperature_1", "temperature_2"}
    assert bms["alarms"] == [{"key": "cell_overvoltage", "label": "Cell overvoltage", "kind": "fault"}]
    switches = {s["key"]: s["value"] for s in bms["switches"]}
    assert switches["charge_mosfet"] is False
    assert body["soc"]["source"] == "bms"
    assert body["soc"]["value"] == round(pack.pack_soc)  # the JK sends whole percent
    assert body["soc"]["label"] == "BMS (pack1)"


def test_daly_balancing_cells_and_two_packs_soc(client, web_paths, scan) -> None:
    now = time.time()
    pack = BmsPack(cells=4, soc=0.5, seed=1, balance_trigger_v=0.0, cell_overvoltage_v=9.9)
    pack.held_current_a = 10.0
    pack.step(60.0)
    firmware = DalyFirmware(pack)
    readings = [daly.decode(firmware.feed(daly.request(i))[0], i, cells=4, sensors=2)
                for i in (0x94, 0x90, 0x93, 0x95, 0x96, 0x97, 0x98)]
    write_bms(web_paths.prom_dir, "pack2", readings, now)
    write_bms(web_paths.prom_dir, "pack1", [jk.decode(JkFirmware(jk_pack()).feed(jk.request())[0])], now)
    scan()
    body = client.get("/api/battery").json
    daly_bms = body["bms"]["inverter:pack2"]
    assert sum(bool(c["balancing"]) for c in daly_bms["cells"]) == 2
    assert daly_bms["pack"]["charge_state"]["value"] == "Charging"
    assert sorted(body["soc"]["sources"]) == ["inverter:pack1", "inverter:pack2"]
    assert body["soc"]["label"] in ("BMS (pack1, pack2)", "BMS (pack2, pack1)")


def test_built_in_rules_fire_on_a_bms() -> None:
    pack = jk_pack(trip="cell_undervoltage")
    values = jk.decode(JkFirmware(pack).feed(jk.request())[0]).as_dict()
    values.update({"cell_voltage_delta": 0.2, "temperature_max": 55})
    evaluator = Evaluator(default_rules())
    fired = {}
    for t in (0.0, 400.0):
        for event in evaluator.evaluate("inverter:pack1", values, {}, t):
            fired[event.rule.name] = event
    assert {"bms_protection", "bms_cell_spread", "bms_temperature"} <= set(fired)
    assert "Cell undervoltage" in fired["bms_protection"].message


def test_a_bms_is_not_an_inverter(client, web_paths, scan) -> None:
    # The BMS's file is read first: /api/data must still default to the inverter and list only it.
    reading = jk.decode(JkFirmware(jk_pack()).feed(jk.request())[0])
    write_bms(web_paths.prom_dir, "apack", [reading], time.time())
    scan()
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    scan()
    body = client.get("/api/data").json
    assert body["device"] == "main"
    assert body["devices"] == ["main"]
