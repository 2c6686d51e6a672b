"""Proof of fidelity: mppsolar's own CLI talks to the simulator, on serial and on hidraw, and reads
exactly the values the simulator's truth log says it sent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solarmon.simulator.truth import exchanges

pytestmark = [pytest.mark.oracle, pytest.mark.timeout(120)]
MPP_SOLAR = Path(sys.executable).parent / "mpp-solar"


def _mpp_solar(port: Path, porttype: str, command: str) -> dict:
    result = subprocess.run(
        [str(MPP_SOLAR), "-p", str(port), "--porttype", porttype, "-c", command, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"mpp-solar printed no JSON: {result.stdout[-800:]} {result.stderr[-800:]}"
    return json.loads(lines[-1])


def _sent(sim, command: str) -> dict:
    seen = exchanges(sim.truth(), command)
    assert seen, f"the simulator never saw {command}"
    return seen[-1]["values"]


def _compare(decoded: dict, sent: dict) -> int:
    compared = 0
    for name, value in decoded.items():
        if name.startswith("_") or name not in sent:
            continue
        truth = sent[name]
        if isinstance(truth, bool):
            assert int(value) == int(truth), name
        elif isinstance(truth, int | float) and isinstance(value, int | float):
            assert value == pytest.approx(truth), name
        else:
            continue
        compared += 1
    return compared


@pytest.mark.parametrize(("transport", "porttype"), [("pty", "serial"), ("hidraw", "hidraw")])
def test_mppsolar_reads_the_simulators_qpigs(simulator, transport, porttype):
    sim = simulator(transport, seed=21, baud=2400)
    decoded = _mpp_solar(sim.port, porttype, "QPIGS")
    sent = _sent(sim, "QPIGS")
    assert _compare(decoded, sent) >= 25  # every numeric and status field of the 21-field reply
    assert decoded["battery_voltage"] == pytest.approx(sent["battery_voltage"])


def test_mppsolar_reads_a_pinned_value_and_the_settings(simulator):
    sim = simulator("pty", seed=22, baud=2400)
    sim.control({"op": "pin", "field": "battery_voltage", "value": 49.87})
    assert _mpp_solar(sim.port, "serial", "QPIGS")["battery_voltage"] == pytest.approx(49.87)
    sim.control({"op": "pin", "field": "pv_input_power", "value": 1234})
    assert _mpp_solar(sim.port, "serial", "QPIGS")["pv_input_power"] == 1234
    decoded = _mpp_solar(sim.port, "serial", "QPIRI")
    assert _compare(decoded, _sent(sim, "QPIRI")) >= 12
    assert decoded["output_source_priority"] == "SBU first"
