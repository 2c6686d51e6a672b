"""The field catalog: every decoded field has one entry, wire names map back, the two rules hold."""

from __future__ import annotations

import pytest

from solarmon.inverter import catalog, tables
from solarmon.inverter.catalog import (
    CATALOG,
    DERIVED_KEYS,
    Kind,
    by_wire,
    classify_alarms,
    derive,
    info,
    of_field,
)
from solarmon.inverter.codec import decode
from solarmon.inverter.readings import Field, Reading
from tests.inverter.samples import FULL, QPIGS_17, QPIRI_24V

# Replies that bring the keys made from a position (extras, unknown bits and letters).
ODD = {
    "QPIRI": FULL["QPIRI"] + " 1 77",
    "QPIWS": "1" * 36,
    "QFLAG": "EacDbq",
    "QPIGS": QPIGS_17,
    "QPIRI_24V": QPIRI_24V,
}


@pytest.fixture
def readings(reply) -> list[Reading]:
    """Every command's fullest reply, the odd ones and a setter's ACK and an unknown query."""
    out = [decode(command, reply(payload)) for command, payload in FULL.items()]
    out += [decode(command.split("_")[0], reply(payload)) for command, payload in ODD.items()]
    out.append(decode("PBT01", reply("ACK")))
    out.append(decode("QXYZ", reply("whatever 1")))
    return out


def test_every_decoded_field_is_in_the_catalog_with_its_unit(readings: list[Reading]) -> None:
    seen = 0
    for reading in readings:
        for field in reading.fields:
            entry = info(field.key)
            assert entry is not None, f"{reading.command}: {field.key} not in the catalog"
            assert entry.unit == field.unit, field
            assert entry.name == field.name, field
            seen += 1
    assert seen > 150


def test_by_wire_round_trips_every_name_and_command(readings: list[Reading]) -> None:
    for reading in readings:
        for field in reading.fields:
            entry = by_wire(field.name, reading.command)
            assert entry is not None, (reading.command, field.name)
            assert entry.key == field.key, (reading.command, field.name)


def test_keys_are_unique_and_entries_complete() -> None:
    keys = [entry.key for entry in CATALOG.values()]
    assert len(keys) == len(set(keys))
    assert list(CATALOG) == keys
    for key, entry in CATALOG.items():
        assert entry.label, key
        assert entry.precision >= 0, key
        assert isinstance(entry.kind, Kind)
    # (name, command) is unambiguous too: the reader maps series back through it.
    wires = [(entry.name, entry.command) for entry in CATALOG.values()]
    assert len(wires) == len(set(wires))


def test_kinds_follow_the_command_and_the_setters() -> None:
    assert info("battery_voltage").kind is Kind.MEASUREMENT
    assert info("rated_battery_voltage").kind is Kind.RATING
    assert info("battery_bulk_charge_voltage").kind is Kind.SETTING  # PCVV changes it
    assert info("battery_type").kind is Kind.SETTING  # PBT
    assert info("rated_ac_output_frequency").kind is Kind.SETTING  # F50 / F60
    assert info("default_battery_type").kind is Kind.DEFAULT
    assert info("max_discharging_current").kind is Kind.RATING  # no setter
    assert info("machine_type").kind is Kind.ENUM
    assert info("device_mode").kind is Kind.ENUM
    assert info("device_mode").choices["B"] == "Battery"
    assert info("is_load_on").kind is Kind.STATUS
    assert info("buzzer").kind is Kind.SETTING
    assert info("serial_number").kind is Kind.TEXT
    assert info("pv_energy_day").kind is Kind.ENERGY
    assert info("pv_energy_day").unit == "Wh"
    assert info("bus_over").kind is Kind.FAULT
    assert not info("bus_over").fault_when_a1
    assert info("overload").kind is Kind.FAULT
    assert info("overload").fault_when_a1
    assert info("line_fail").kind is Kind.WARNING
    assert info("warning_bit_33").kind is Kind.WARNING
    assert info("no_such_key") is None


def test_home_assistant_classes() -> None:
    assert (info("battery_capacity").ha_device_class, info("battery_capacity").ha_state_class) == (
        "battery", "measurement")
    assert info("pv_energy_total").ha_state_class == "total_increasing"
    assert info("ac_output_active_power").ha_device_class == "power"
    assert info("bus_over").ha_device_class == "problem"
    assert info("battery_type").ha_device_class == "enum"
    assert info("max_charging_current_options").ha_state_class is None  # a text list of amperes


def test_by_wire_for_shared_names_and_dated_commands() -> None:
    assert by_wire("battery_voltage", "QPIGS").key == "battery_voltage"
    assert by_wire("battery_voltage", "QPIRI").key == "rated_battery_voltage"
    assert by_wire("battery_type", "QDI").key == "default_battery_type"
    assert by_wire("pv_generated_energy_for_day", "QED20240315").key == "pv_energy_day"
    assert by_wire("output_mode", "QOPM").key == "output_mode"
    assert by_wire("serial_number", "QSID").key == "serial_number"
    assert by_wire("battery_voltage", "QMOD") is None
    assert by_wire("qpiri_extra_28", "QPIGS") is None


def test_derived_keys_are_catalog_entries() -> None:
    for key in DERIVED_KEYS:
        assert info(key).kind is Kind.DERIVED
        assert info(key).unit == "W"


# --- classify_alarms: the one fault rule --------------------------------------------------------

def test_conditional_bits_are_warnings_without_a1() -> None:
    faults, warnings = classify_alarms({"overload": True, "fan_locked": 1, "line_fail": True,
                                        "inverter_fault": False, "battery_voltage": 52.0})
    assert faults == []
    assert warnings == ["line_fail", "fan_locked", "overload"]  # in bit order (a5, a10, a16)


def test_conditional_bits_are_faults_with_a1() -> None:
    faults, warnings = classify_alarms({"overload": 1.0, "over_temperature": "1", "inverter_fault": "1",
                                        "pv_loss": True})
    assert faults == ["inverter_fault", "over_temperature", "overload"]
    assert warnings == ["pv_loss"]


def test_plain_faults_and_unset_bits() -> None:
    faults, warnings = classify_alarms({"bus_over": True, "battery_short": 0, "eeprom_fault": "0",
                                        "warning_bit_34": 1, "faults_active": 3, "buzzer": True})
    assert faults == ["bus_over"]
    assert warnings == ["warning_bit_34"]


def test_classify_matches_the_codec(reply) -> None:
    # Bits a1 (inverter fault), a5 (line fail), a10 (fan locked), a12 (battery low), a16 (overload).
    bits = ["0"] * 32
    for position in (1, 5, 10, 12, 16):
        bits[position] = "1"
    reading = decode("QPIWS", reply("".join(bits)))
    assert classify_alarms(reading.as_dict()) == (list(reading.faults), list(reading.warnings))
    assert reading.faults == ("inverter_fault", "fan_locked", "overload")


# --- derive ----------------------------------------------------------------------------------

def test_derive_sums_both_trackers() -> None:
    out = derive({"pv_input_power": 800, "pv2_charging_power": 775})
    assert out == {"pv_power_total": 1575.0}


def test_derive_second_tracker_alone_counts() -> None:
    assert derive({"pv2_charging_power": 775})["pv_power_total"] == 775.0


def test_derive_fallback_pv_uses_scc_volts_times_battery_amps() -> None:
    values = {"pv_input_current_for_battery": 10.0, "battery_voltage_from_scc": 52.5,
              "pv_input_voltage": 300.0, "battery_voltage": 51.0}
    assert derive(values)["pv_power_total"] == pytest.approx(525.0)


def test_derive_battery_power_signs() -> None:
    charging = derive({"battery_voltage": 50.0, "battery_charging_current": 10,
                       "battery_discharge_current": 0})
    discharging = derive({"battery_voltage": 50.0, "battery_charging_current": 0,
                          "battery_discharge_current": 4})
    assert charging["battery_power"] == 500.0
    assert discharging["battery_power"] == -200.0


def test_derive_grid_from_the_balance() -> None:
    values = {"ac_input_voltage": 230.0, "ac_output_active_power": 1000, "pv_input_power": 300,
              "battery_voltage": 50.0, "battery_charging_current": 4, "battery_discharge_current": 0}
    out = derive(values)
    assert out == {"pv_power_total": 300.0, "battery_power": 200.0, "load_power": 1000.0,
                   "grid_power": 900.0}


def test_derive_grid_zero_without_grid_and_clamped() -> None:
    off_grid = {"ac_input_voltage": 0.0, "ac_output_active_power": 1000}
    battery_mode = {"ac_input_voltage": 230.0, "ac_output_active_power": 1000, "device_mode": "Battery"}
    surplus = {"ac_input_voltage": 230.0, "ac_output_active_power": 100, "pv_input_power": 900}
    assert derive(off_grid)["grid_power"] == 0.0
    assert derive(battery_mode)["grid_power"] == 0.0
    assert derive(surplus)["grid_power"] == 0.0


def test_derive_returns_only_what_inputs_allow() -> None:
    assert derive({}) == {}
    assert derive({"battery_voltage": 50.0}) == {}
    assert derive({"ac_output_active_power": 500}) == {"load_power": 500.0}  # no AC input: no grid
    assert derive({"pv_input_power": float("nan"), "battery_voltage": True}) == {}
    assert set(derive({"pv_input_power": 1})) <= set(DERIVED_KEYS)


def test_catalog_is_built_from_the_tables() -> None:
    for spec in tables.QPIRI:
        assert info(spec.key).name == spec.name
    assert {"battery_type", "max_charging_current", "max_ac_charging_current"} <= catalog.SETTING_KEYS


def test_of_field_describes_a_field_the_catalog_lacks() -> None:
    known = of_field(Field("battery_voltage", "battery_voltage", 52.1, "V"), "QPIGS")
    assert known is info("battery_voltage")
    new = of_field(Field("new_thing", "new_thing", 1.5, "A", "from a new firmware"), "QPIGS")
    assert (new.key, new.unit, new.kind, new.command, new.help) == (
        "new_thing", "A", Kind.MEASUREMENT, "QPIGS", "from a new firmware")
    assert of_field(Field("new_text", "new_text", "x"), "QNEW").kind is Kind.TEXT


@pytest.mark.parametrize(("key", "label"), [
    ("pv_input_power", "PV input power"),
    ("battery_voltage_from_scc", "Battery voltage from SCC"),
    ("is_load_on", "Load on"),
    ("max_charging_time_for_cv_stage_min", "Max charging time for CV stage (min)"),
    ("rated_ac_output_frequency", "Rated AC output frequency"),
])
def test_labels(key: str, label: str) -> None:
    assert info(key).label == label
