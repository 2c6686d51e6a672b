"""The daemon against a simulated 3-unit parallel system and a 3-phase system, on a pty and on hidraw.

Through to the .prom file: every unit is its own device (``<section>-unit<n>``) with its values,
``up`` and field info; the system totals equal the sum of what the units reported; a unit that
drops out is counted (``unit_dropouts_total``, ``system_units_answering``) and shown (``up 0``),
and the totals are withdrawn rather than given short.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solarmon.simulator.runner import SimulatorProcess
from tests.fixtures.simulator import fuse_usable

from .conftest import REPO, wait_until

pytestmark = pytest.mark.timeout(120)


def _by_device(text: str) -> dict[str, dict[str, float | str]]:
    """{inverter label: {series name (cmd-less): value or myStr}} of a daemon file."""
    out: dict[str, dict[str, float | str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            inverter = sample.labels.get("inverter")
            if inverter is None or sample.name == "mpp_solar_field_info":
                continue
            out.setdefault(inverter, {})[sample.name] = sample.labels.get("myStr", sample.value)
    return out


@pytest.fixture
def system(tmp_path: Path, request) -> Iterator:
    """``start(transport, layout, parallel)``: the simulator and the daemon; (.prom path, simulator)."""
    started: list = []

    def start(transport: str, layout: str, parallel: str):
        if transport == "hidraw" and (reason := fuse_usable()) is not None:
            pytest.skip(f"FUSE unavailable: {reason}")
        sim = SimulatorProcess(tmp_path / f"sim-{transport}", transport=transport, baud=0, seed=4,
                               start="2026-06-21T19:00:00",
                               extra_args=("--units", "3", "--layout", layout))
        started.append(sim)
        sim.start()
        conf = tmp_path / "mpp-solar.conf"
        conf.write_text("\n".join([
            "[SETUP]", "pause = 0.3", "control_socket = ctl.sock", "audit_log = audit.jsonl",
            f"[sys]\nport = {sim.port}\nporttype = {'serial' if transport == 'pty' else 'hidraw'}",
            "prom_output_dir = prom", "dev = sim", "command = QPIGS", f"parallel = {parallel}",
        ]) + "\n")
        daemon = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO,
                                  stderr=(tmp_path / "daemon.log").open("w"))
        started.append(daemon)
        return tmp_path / "prom" / "mpp-solar-sys.prom", sim

    yield start
    for item in reversed(started):
        if isinstance(item, subprocess.Popen):
            item.terminate()
            item.wait(10)
        else:
            item.stop()


def _wait_for(prom: Path, predicate, what: str) -> dict[str, dict[str, float | str]]:
    def check():
        if not prom.exists():
            return None
        devices = _by_device(prom.read_text())
        return devices if predicate(devices) else None

    wait_until(check, what=what)
    return _by_device(prom.read_text())


def _complete(devices) -> bool:
    return devices.get("sys", {}).get("mpp_solar_system_totals_complete") == 1.0


@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_parallel_system_units_totals_and_a_dropout(system, transport: str) -> None:
    prom, sim = system(transport, "parallel", "auto")
    devices = _wait_for(prom, _complete, "complete totals")
    units = [devices[f"sys-unit{n}"] for n in range(3)]
    assert all(u["mpp_solar_up"] == 1.0 for u in units)
    assert len({u["mpp_solar_serial_number"] for u in units}) == 3
    total = sum(float(u["mpp_solar_ac_output_active_power"]) for u in units)
    assert devices["sys"]["mpp_solar_system_load_power"] == total
    assert devices["sys"]["mpp_solar_system_units_expected"] == 3.0
    text = prom.read_text()
    assert 'cmd="QPIGS"' not in text  # the units' QPGSn replace the host's own QPIGS
    assert 'inverter="sys-unit1",device="sim",cmd="QPGS1",name="grid_voltage",key="ac_input_voltage"' in text
    assert text.rstrip().endswith("# EOF")

    sim.control({"op": "unit", "unit": 2, "present": False})
    devices = _wait_for(prom, lambda d: d.get("sys-unit2", {}).get("mpp_solar_up") == 0.0, "unit 2 down")
    assert devices["sys"]["mpp_solar_system_units_answering"] == 2.0
    assert devices["sys"]["mpp_solar_system_totals_complete"] == 0.0
    assert "mpp_solar_system_load_power" not in devices["sys"]  # never a short total
    assert devices["sys-unit2"]["mpp_solar_unit_dropouts_total"] >= 1
    assert "mpp_solar_ac_output_active_power" not in devices["sys-unit2"]  # withdrawn, not stale

    sim.control({"op": "unit", "unit": 2, "present": True})
    sim.control({"op": "unit", "unit": 1, "fault": "81"})
    devices = _wait_for(
        prom, lambda d: _complete(d) and d["sys"].get("mpp_solar_system_units_faulted") == 1.0,
        "unit 1 faulted, totals back")
    assert devices["sys-unit1"]["mpp_solar_fault_code"] == "Parallel host line lost"
    assert devices["sys-unit1"]["mpp_solar_ac_output_active_power"] == 0.0


@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_three_phase_system_shows_each_phase(system, transport: str) -> None:
    prom, _sim = system(transport, "three-phase", "3")
    devices = _wait_for(prom, _complete, "complete totals")
    phases = [devices["sys"][f"mpp_solar_phase_l{n}_load_power"] for n in (1, 2, 3)]
    assert sum(phases) == devices["sys"]["mpp_solar_system_load_power"]
    modes = [devices[f"sys-unit{n}"]["mpp_solar_output_mode"] for n in range(3)]
    assert modes == [f"Phase {n} of 3 Phase output" for n in (1, 2, 3)]
    assert devices["sys"]["mpp_solar_phase_load_imbalance"] >= 0
