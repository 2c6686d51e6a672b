"""The simulated BMSs: cells that drift apart, a balancer that pulls them together, protections on
demand, and the JK and Daly firmware answering on a pty with frames our codecs accept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import serial

from solarmon.bms import daly, jk
from solarmon.bms.errors import FrameChecksum
from solarmon.simulator.bms_firmware import DalyFirmware, JkFirmware
from solarmon.simulator.bms_model import BmsPack
from solarmon.simulator.runner import BmsSimulatorProcess


def _spread_after_charging(balancer: bool) -> float:
    pack = BmsPack(cells=16, soc=0.80, seed=3, balancer_enabled=balancer, cell_overvoltage_v=9.9)
    pack.held_current_a = 40.0
    for _ in range(60):  # one hour at 40 A: 80 % to about 94 %, where the cells' curve gets steep
        pack.step(60.0)
    volts = pack.cell_voltages
    return max(volts) - min(volts)


def test_cells_drift_apart_and_the_balancer_pulls_them_together() -> None:
    start = BmsPack(cells=16, soc=0.80, seed=3).cell_voltages
    drifted = _spread_after_charging(balancer=False)
    balanced = _spread_after_charging(balancer=True)
    assert drifted > (max(start) - min(start)) + 0.02  # charged to the steep end: the cells part
    assert balanced < drifted


def test_balancer_shows_in_both_firmwares() -> None:
    pack = BmsPack(cells=8, soc=0.9, seed=3, balance_trigger_v=0.001, cell_overvoltage_v=9.9)
    pack.held_current_a = 20.0
    pack.step(600.0)
    assert pack.balancing
    assert jk.decode(JkFirmware(pack).feed(jk.request())[0]).get("balancer_active") is True
    values = daly.decode(DalyFirmware(pack).feed(daly.request(0x97))[0], 0x97, cells=8).as_dict()
    assert values["balancer_active"] is True
    assert sum(bool(values[f"cell_balancing_0{n}"]) for n in range(1, 9)) == 2


def test_protection_trip_on_demand() -> None:
    pack = BmsPack(cells=4, seed=1)
    pack.trip("cell_overvoltage")
    values = jk.decode(JkFirmware(pack).feed(jk.request())[0]).as_dict()
    assert values["cell_overvoltage"] is True
    assert values["charge_mosfet"] is False
    assert values["protections_active"] == 1
    failures = daly.decode(DalyFirmware(pack).feed(daly.request(0x98))[0], 0x98).as_dict()
    assert failures["daly_cell_voltage_high_l2"] is True
    pack.clear()
    assert jk.decode(JkFirmware(pack).feed(jk.request())[0]).get("charge_mosfet") is True
    with pytest.raises(ValueError, match="unknown protection"):
        pack.trip("nonsense")


def test_a_cell_past_its_limit_trips_by_itself() -> None:
    pack = BmsPack(cells=4, soc=0.97, seed=2)
    pack.held_current_a = 50.0
    for _ in range(120):
        pack.step(60.0)
    assert "cell_overvoltage" in pack.tripped
    assert pack.current_a == 0.0  # the charge MOSFET is off


def _exchange(port: serial.Serial, request: bytes, wait_s: float = 0.5) -> bytes:
    port.reset_input_buffer()
    port.write(request)
    deadline = time.monotonic() + wait_s
    data = b""
    while time.monotonic() < deadline:
        data += port.read(4096)
    return data


@pytest.mark.parametrize("bms_type", ["jkbms", "dalybms"])
def test_firmware_on_a_pty(tmp_path: Path, bms_type: str) -> None:
    with BmsSimulatorProcess(tmp_path / "bms", bms_type=bms_type, cells=16, seed=5) as sim, \
            serial.Serial(str(tmp_path / "bms"), 115200, timeout=0.05) as port:
        sim.control({"op": "trip", "protection": "cell_undervoltage"})
        if bms_type == "jkbms":
            values = jk.decode(_exchange(port, jk.request())).as_dict()
            assert values["cell_count"] == 16
            assert values["cell_undervoltage"] is True
            assert values["discharge_mosfet"] is False
        else:
            cells = daly.decode(_exchange(port, daly.request(0x95)), 0x95, cells=16).as_dict()
            assert cells["cell_count"] == 16
            failures = daly.decode(_exchange(port, daly.request(0x98)), 0x98).as_dict()
            assert failures["daly_cell_voltage_low_l2"] is True
        sim.control({"op": "corrupt", "kind": "crc"})
        question = jk.request() if bms_type == "jkbms" else daly.request(0x90)
        damaged = _exchange(port, question)
        with pytest.raises(FrameChecksum):
            jk.decode(damaged) if bms_type == "jkbms" else daly.decode(damaged, 0x90)
        state = sim.control({"op": "snapshot"})["state"]
        assert state["tripped"] == ["cell_undervoltage"]
