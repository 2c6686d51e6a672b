"""QPGSn (docs/PROTOCOLS-QPGS.md): one typed reading per unit, catalog keys, shapes, policy."""

from __future__ import annotations

import pytest

from solarmon.inverter import catalog, policy
from solarmon.inverter.catalog import Kind, by_wire, derive, info
from solarmon.inverter.codec import decode
from solarmon.inverter.errors import CommandRefused, DecodeError
from solarmon.inverter.parallel import ParallelStatus
from solarmon.inverter.shapes import base_command, reply_fits
from tests.inverter.samples import MAX_PV2, PARALLEL, PHASE_L3_FAULT, SPLIT


def test_a_unit_of_a_parallel_system(reply) -> None:
    reading = decode("QPGS1", reply(PARALLEL))
    assert isinstance(reading, ParallelStatus)
    assert reading.unit == 1
    assert reading.valid
    assert not reading.faulted
    assert reading.serial_number == "92931701100510"
    assert reading.device_mode == "Battery"
    assert reading.fault_code == "No fault"
    assert reading.ac_output_voltage_v == 230.6
    assert reading.ac_output_active_power_w == 141
    assert reading.ac_output_load_pct == 5
    assert reading.battery_voltage_v == 51.4
    assert reading.battery_capacity_pct == 100
    assert reading.pv_input_voltage_v == 83.3
    assert reading.total_charging_current_a == 2
    assert reading.total_ac_output_active_power_w == 312
    assert reading.total_ac_output_apparent_power_va == 574
    assert reading.total_ac_output_load_pct == 3
    assert reading.is_scc_ok
    assert not reading.is_ac_charging_on
    assert reading.is_scc_charging_on
    assert reading.is_line_lost
    assert reading.is_load_on
    assert not reading.is_configuration_changed
    assert reading.output_mode == "parallel output"
    assert reading.phase is None
    assert reading.charger_source_priority == "Solar + Utility"
    assert (reading.max_charging_current_a, reading.max_charging_current_range_a) == (60, 120)
    assert reading.max_ac_charging_current_a == 10
    assert reading.pv_input_current_a == 4
    assert reading.battery_discharge_current_a == 0
    assert reading.pv2_input_voltage_v is None
    assert reading.pv_power_w == pytest.approx(83.3 * 4)


def test_split_phase_and_max_tails(reply) -> None:
    split = decode("QPGS0", reply(SPLIT))
    assert split.output_mode == "Phase 2 of 2 phase output (180°)"
    assert split.output_mode_code == 7
    assert split.pv2_input_voltage_v == 0.0
    assert split.pv2_input_current_a == 0
    pv2 = decode("QPGS0", reply(MAX_PV2))
    assert not pv2.valid
    assert pv2.output_mode == "single machine output"
    assert pv2.pv_power_w == pytest.approx(349.8 * 2 + 275.3 * 2)


def test_a_faulted_unit_of_phase_l3(reply) -> None:
    reading = decode("QPGS2", reply(PHASE_L3_FAULT))
    assert reading.faulted
    assert reading.fault_number == "81"
    assert reading.fault_code == "Parallel host line lost"
    assert reading.device_mode == "Fault"
    assert reading.phase == "L3"
    assert reading.unit == 2


def test_an_undocumented_fault_code_keeps_its_number(reply) -> None:
    reading = decode("QPGS0", reply(PARALLEL.replace(" B 00 ", " B 13 ")))
    assert reading.fault_code == "unknown (13)"
    assert reading.faulted


def test_short_or_malformed_replies_give_no_values(reply) -> None:
    with pytest.raises(DecodeError):
        decode("QPGS0", reply(" ".join(PARALLEL.split()[:26])))
    with pytest.raises(DecodeError):
        decode("QPGS0", reply(PARALLEL.replace("10100110", "1010011x")))
    with pytest.raises(CommandRefused):
        decode("QPGS5", reply("NAK"))


def test_every_field_has_a_catalog_entry_and_its_wire_name_maps_back(reply) -> None:
    for payload in (PARALLEL, MAX_PV2):
        reading = decode("QPGS3", reply(payload))
        for field in reading.fields:
            entry = info(field.key)
            assert entry is not None, field.key
            assert entry.unit == field.unit, field
            assert by_wire(field.name, "QPGS3") == entry, field.name


def test_shared_values_keep_the_single_unit_keys() -> None:
    assert by_wire("grid_voltage", "QPGS0").key == "ac_input_voltage"
    assert by_wire("load_percentage", "QPGS0").key == "ac_output_load"
    assert by_wire("work_mode", "QPGS0").key == "device_mode"
    assert by_wire("is_scc_charging", "QPGS0").key == "is_scc_charging_on"
    assert by_wire("max_charger_current", "QPGS0").key == "max_charging_current"
    assert info("fault_code").kind is Kind.ENUM
    assert info("fault_code").command == "QPGS"
    assert info("total_ac_output_active_power").kind is Kind.MEASUREMENT
    assert info("max_charging_current_range").kind is Kind.RATING
    assert info("is_line_lost").kind is Kind.STATUS
    assert by_wire("grid_voltage", "QPIGS") is None  # the alias is QPGS's only


def test_derive_gives_a_unit_its_pv_power(reply) -> None:
    values = decode("QPGS0", reply(MAX_PV2)).as_dict()
    assert derive(values)["pv_power_total"] == pytest.approx(349.8 * 2 + 275.3 * 2)
    # A single unit's rule is unchanged: QPIGS's PV power wins over volts x amps.
    assert catalog.derive({"pv_input_power": 100, "pv_input_voltage": 300.0, "pv_input_current": 2.0}) == {
        "pv_power_total": 100.0}


def test_shapes_and_policy(reply) -> None:
    assert base_command("QPGS4") == "QPGS"
    assert base_command("QPGS10") == "QPGS10"
    assert reply_fits("QPGS0", reply(PARALLEL))
    assert reply_fits("QPGS0", reply("NAK"))
    assert not reply_fits("QPGS0", reply("B"))
    assert not reply_fits("QPIGS", reply(PARALLEL))
    assert not reply_fits("QPIRI", reply(PARALLEL))
    assert policy.classify("QPGS0") is policy.CommandClass.QUERY
    assert policy.classify("QPGS") is policy.CommandClass.UNKNOWN
