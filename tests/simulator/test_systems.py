"""Parallel / three-phase PI30 systems (``--units``, ``--layout``) and the PI18 firmware (``--protocol``).

In process on a manual clock: the units' shares add up to the system, a faulted unit carries
nothing and its partners take its share, a dropped unit is NAKed, the phases of a three-phase
system carry their own loads. As subprocesses on a pty and on FUSE hidraw: a client reads every
unit and the PI18 unit with the project's codecs, and the control socket faults and drops units.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime

import pytest

from solarmon.inverter.codec import decode_raw
from solarmon.inverter.errors import CommandRefused
from solarmon.inverter.frame import encode_request
from solarmon.inverter.parallel import ParallelStatus
from solarmon.inverter.pi18 import codec as pi18_codec
from solarmon.inverter.pi18.frame import encode_request as pi18_request
from solarmon.simulator.clock import ManualClock
from solarmon.simulator.parallel import ParallelSystem, check_layout
from solarmon.simulator.pi18 import Pi18Inverter
from solarmon.simulator.profiles import get_profile
from solarmon.simulator.runner import SimulatorError
from tests.simulator.clients import HidrawClient, open_serial

NOON = datetime(2026, 6, 21, 12, 0)
EVENING = datetime(2026, 6, 21, 19, 30)


def _system(units: int, layout: str, start: datetime = NOON) -> ParallelSystem:
    clock = ManualClock(start)
    system = ParallelSystem(get_profile("axpert-5k"), 3, clock, units, layout)
    clock.jump(120)
    return system


def _units(system: ParallelSystem) -> list[ParallelStatus]:
    out = []
    for n in range(len(system.units)):
        with contextlib.suppress(CommandRefused):
            out.append(decode_raw(f"QPGS{n}", system.handle(encode_request(f"QPGS{n}"))))
    return out


def test_parallel_units_share_the_load_and_the_battery() -> None:
    system = _system(3, "parallel", EVENING)
    units = _units(system)
    assert len(units) == 3
    assert len({u.serial_number for u in units}) == 3
    load = system.model.live_values()["ac_output_active_power"]
    total = sum(u.ac_output_active_power_w for u in units)
    assert abs(total - load) <= 3  # rounding of three integers
    assert all(u.total_ac_output_active_power_w == pytest.approx(total, abs=3) for u in units)
    shares = [u.ac_output_active_power_w / total for u in units]
    assert max(shares) - min(shares) < 0.1  # current sharing keeps units within a few percent
    assert len({u.battery_voltage_v for u in units}) == 1  # one bank
    assert {u.output_mode for u in units} == {"parallel output"}
    assert system.model.settings.output_mode == 1


def test_a_faulted_unit_carries_nothing_and_the_others_take_its_share() -> None:
    system = _system(3, "parallel", EVENING)
    system.set_unit(1, fault_code="81")
    units = _units(system)
    assert units[1].faulted
    assert units[1].ac_output_active_power_w == 0
    assert units[1].device_mode == "Fault"
    load = system.model.live_values()["ac_output_active_power"]
    assert abs(units[0].ac_output_active_power_w + units[2].ac_output_active_power_w - load) <= 2


def test_a_dropped_unit_is_not_on_the_bus() -> None:
    system = _system(3, "parallel")
    system.set_unit(2, present=False)
    with pytest.raises(CommandRefused):
        decode_raw("QPGS2", system.handle(encode_request("QPGS2")))
    assert len(_units(system)) == 2
    with pytest.raises(CommandRefused):
        decode_raw("QPGS3", system.handle(encode_request("QPGS3")))  # no fourth unit


def test_three_phase_units_are_on_l1_l2_l3_with_uneven_loads() -> None:
    system = _system(3, "three-phase", EVENING)
    units = _units(system)
    assert [u.phase for u in units] == ["L1", "L2", "L3"]
    loads = [u.ac_output_active_power_w for u in units]
    assert len(set(loads)) == 3
    assert abs(sum(loads) - system.model.live_values()["ac_output_active_power"]) <= 3


def test_six_units_three_phase_share_each_phase() -> None:
    units = _units(_system(6, "three-phase", EVENING))
    assert [u.phase for u in units] == ["L1", "L2", "L3", "L1", "L2", "L3"]
    first, second = units[0].ac_output_active_power_w, units[3].ac_output_active_power_w
    assert abs(first - second) < 0.1 * first + 2


def test_unit_0_answers_qpigs_with_its_own_share() -> None:
    system = _system(3, "parallel", EVENING)
    own = decode_raw("QPIGS", system.handle(encode_request("QPIGS")))
    unit0 = decode_raw("QPGS0", system.handle(encode_request("QPGS0")))
    assert abs(own.ac_output_active_power_w - unit0.ac_output_active_power_w) <= 1
    assert own.ac_output_active_power_w < system.model.live_values()["ac_output_active_power"]


@pytest.mark.parametrize(("units", "layout"), [(0, "parallel"), (10, "parallel"), (2, "three-phase"),
                                               (3, "split")])
def test_impossible_layouts_are_refused(units: int, layout: str) -> None:
    with pytest.raises(ValueError, match="--"):
        check_layout(units, layout)


def test_pi18_firmware_answers_in_pi18_and_applies_checked_settings() -> None:
    clock = ManualClock(NOON)
    unit = Pi18Inverter(get_profile("axpert-5k"), 1, clock)
    clock.jump(60)
    status = pi18_codec.decode_raw("GS", unit.handle(pi18_request("GS")))
    assert status.battery_voltage_v > 40
    assert status.ac_output_active_power_w > 0
    assert pi18_codec.decode_raw("PI", unit.handle(pi18_request("PI"))).text == "PI18"
    setting = unit.handle(pi18_request("MCHGV552,540", setter=True))
    assert pi18_codec.decode_raw("MCHGV552,540", setting).accepted
    ratings = pi18_codec.decode_raw("PIRI", unit.handle(pi18_request("PIRI")))
    assert ratings.battery_bulk_charge_voltage_v == 55.2
    with pytest.raises(CommandRefused):  # out of range: the codec's own rule refuses it
        pi18_codec.decode_raw("PSDV300", unit.handle(pi18_request("PSDV300", setter=True)))
    with pytest.raises(CommandRefused):  # PI30 framing is not understood
        pi18_codec.decode_raw("GS", unit.handle(encode_request("QPIGS")))


# --- as subprocesses, on both transports ------------------------------------------------------

def _exchange(sim, transport: str, frame: bytes) -> bytes:
    if transport == "pty":
        with open_serial(sim.port) as port:
            port.write(frame)
            return port.read_until(b"\r")
    client = HidrawClient(sim.port)
    try:
        for start in range(0, len(frame), 8):
            os.write(client.fd, frame[start:start + 8].ljust(8, b"\x00"))
        data = b"".join(report for _, report in client.read_reports())
    finally:
        client.close()
    return data[: data.find(b"\r") + 1]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_a_three_unit_system_on_the_wire(simulator, transport: str) -> None:
    sim = simulator(transport, baud=0, seed=2, start="2026-06-21T19:00:00",
                    extra_args=("--units", "3", "--layout", "parallel"))
    units = [decode_raw(f"QPGS{n}", _exchange(sim, transport, encode_request(f"QPGS{n}"))) for n in range(3)]
    assert len({u.serial_number for u in units}) == 3
    reply = sim.control({"op": "unit", "unit": 2, "present": False})
    assert reply["ok"]
    assert [u["present"] for u in reply["units"]] == [True, True, False]
    with pytest.raises(CommandRefused):
        decode_raw("QPGS2", _exchange(sim, transport, encode_request("QPGS2")))
    sim.control({"op": "unit", "unit": 1, "fault": "81"})
    assert decode_raw("QPGS1", _exchange(sim, transport, encode_request("QPGS1"))).fault_number == "81"
    with pytest.raises(SimulatorError, match="no unit 7"):
        sim.control({"op": "unit", "unit": 7})


@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_a_pi18_unit_on_the_wire(simulator, transport: str) -> None:
    sim = simulator(transport, baud=0, seed=2, extra_args=("--protocol", "pi18"))
    status = pi18_codec.decode_raw("GS", _exchange(sim, transport, pi18_request("GS")))
    assert status.battery_voltage_v > 40
    ratings = pi18_codec.decode_raw("PIRI", _exchange(sim, transport, pi18_request("PIRI")))
    assert ratings.rated_battery_voltage_v == 48.0
    setting = _exchange(sim, transport, pi18_request("POP1", setter=True))
    assert pi18_codec.decode_raw("POP1", setting).accepted
    ratings = pi18_codec.decode_raw("PIRI", _exchange(sim, transport, pi18_request("PIRI")))
    assert ratings.output_source_priority_pi18 == "Solar-Battery-Utility"
    with pytest.raises(SimulatorError, match="--units"):
        sim.control({"op": "unit", "unit": 0})  # not a --units system


def test_the_host_reports_one_units_nameplate() -> None:
    system = _system(3, "parallel")
    ratings = decode_raw("QPIRI", system.handle(encode_request("QPIRI")))
    assert ratings.rated_ac_output_active_power_w == get_profile("axpert-5k").rated_w
    assert ratings.output_mode == "parallel output"
