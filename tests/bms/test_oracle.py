"""mppsolar 0.16.56 as an oracle for the BMS codecs: its jkserial / daly decoders on the frames our
simulator sends must give our values, field by field, where it decodes them.

mppsolar's names differ per protocol, so :data:`JK_NAMES` / :data:`DALY_NAMES` map each of its
names to our key. Its fields that are not values (raw strings, "TODO" flags) or that it reads
differently on purpose are listed in :data:`NOT_COMPARED` with the reason.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from solarmon.bms import daly, jk
from solarmon.simulator.bms_firmware import DalyFirmware, JkFirmware
from solarmon.simulator.bms_model import BmsPack

pytestmark = pytest.mark.oracle

JK_NAMES = {
    **{f"Voltage_Cell{n:02d}": f"cell_voltage_{n:02d}" for n in range(1, 17)},
    "Cells_connected": "cell_count", "MOS_Temp": "mos_temperature", "Battery_T1": "temperature_1",
    "Battery_T2": "temperature_2", "Battery_Voltage": "pack_voltage", "Battery_Current": "pack_current",
    "Percent_Remain": "soc", "Cycle_Count": "cycle_count", "Total_capacity": "total_cycle_capacity",
    "Balancer Active": "balancer_enabled", "Capacity Setting": "capacity_setting",
    "Charge Enabled": "charge_enabled", "Discharge Enabled": "discharge_enabled",
}
DALY_NAMES = {
    "Battery Bank Voltage": "pack_voltage", "Current": "pack_current", "SOC": "soc",
    "Maximum Cell Voltage": "cell_voltage_max", "Minimum Cell Voltage": "cell_voltage_min",
    "Maximum Cell Temperature": "temperature_max", "Minimum Cell Temperature": "temperature_min",
    "Residual Capacity": "remaining_capacity", "Number of Cells": "cell_count",
    "Number of Temperature Sensors": "temperature_sensor_count", "Charge/Discharge Cycles": "cycle_count",
    **{f"Cell {n:02d} Voltage": f"cell_voltage_{n:02d}" for n in range(1, 17)},
    **{f"Cell {n:02d} Temperature": f"temperature_{n}" for n in range(1, 3)},
}
NOT_COMPARED = {
    "raw_response": "the frame itself",
    "Battery Warning Message": "a hex string in mppsolar; ours are the named bits (tests/bms/test_jk.py)",
    "Battery status information": "a hex string in mppsolar; ours are the named bits",
    "acquistion": "the acquisition voltage: not a catalog field",
    "Maximum Cell Number": "0x91/0x92 share the name in mppsolar's output; ours are cell_max_index etc.",
    "Minimum Cell Number": "as above",
    "Charge Status": "mppsolar names 0x93 state 1 'charged'; ours 'Charging' (PROTOCOLS-DALY.md §3)",
    "Charging MOS Tube Status": "a hex string in mppsolar; ours charge_mosfet",
    "Discharging MOS Tube Status": "a hex string in mppsolar; ours discharge_mosfet",
    "BMS Life": "a heartbeat counter, not a catalog field",
    "Charger Status": "text in mppsolar; ours charger_connected",
    "Load Status": "text in mppsolar; ours load_connected",
    "Flags (TODO)": "undecoded in mppsolar",
    "Reserved": "undecoded",
}


def _pack() -> BmsPack:
    pack = BmsPack(cells=16, seed=7, cell_overvoltage_v=9.9)
    pack.held_current_a = -23.4
    pack.step(300.0)
    return pack


def _theirs(protocol: str, command: str, frame: bytes) -> dict[str, Any]:
    module = importlib.import_module(f"mppsolar.protocols.{protocol}")
    decoder = getattr(module, protocol)()
    decoder.get_full_command(command)
    decoded = decoder.decode(frame, command)
    return {name: item[0] for name, item in decoded.items() if not name.startswith("_")}


def _compare(theirs: dict[str, Any], ours: dict[str, Any], names: dict[str, str], extra_ok: set[str]) -> int:
    compared = 0
    for name, value in theirs.items():
        if name in NOT_COMPARED or name in extra_ok:
            continue
        assert name in names, f"mppsolar's {name!r} is neither mapped nor listed in NOT_COMPARED"
        key = names[name]
        assert key in ours, f"{name} -> {key}: we do not decode it"
        assert ours[key] == pytest.approx(value, abs=1e-6), f"{name}: {ours[key]} vs {value}"
        compared += 1
    return compared


def test_jk_frame_of_the_simulator() -> None:
    frame = JkFirmware(_pack()).feed(jk.request())[0]
    ours = jk.decode(frame).as_dict()
    theirs = _theirs("jkserial", "getBalancerData", frame)
    assert _compare(theirs, ours, JK_NAMES, set()) == len(JK_NAMES)


DALY = [("SOC", 0x90), ("cellMinMaxVoltages", 0x91), ("cellMinMaxTemps", 0x92), ("mosStatus", 0x93),
        ("status", 0x94), ("cellVoltages", 0x95), ("cellTemperatures", 0x96)]


@pytest.mark.parametrize(("command", "data_id"), DALY)
def test_daly_frames_of_the_simulator(command: str, data_id: int) -> None:
    pack = _pack()
    frame = DalyFirmware(pack).feed(daly.request(data_id))[0]
    ours = daly.decode(frame, data_id, cells=16, sensors=pack.temperature_sensors).as_dict()
    theirs = _theirs("daly", command, frame)
    # mppsolar decodes the zero padding past the pack's cells and sensors as cells / sensors too.
    padding = {name for name in theirs if name.startswith("Cell ") and name not in DALY_NAMES}
    assert all(theirs[name] in (0.0, -40) for name in padding)
    assert _compare(theirs, ours, DALY_NAMES, padding) > 0
