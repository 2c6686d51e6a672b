"""Field tables of the PI18 replies (PROTOCOLS-PI18.md §2): key, mppsolar name, kind, unit, codes.

Data only, in the PI30 tables' terms (:class:`~solarmon.inverter.tables.FieldSpec`) plus one kind,
``tenths`` (a whole number of tenths: ``2232`` -> 223.2). A value PI30 also reports keeps PI30's
catalog key (``battery_voltage``, ``pv_input_power``, ``device_mode``...), so a PI18 unit reads
like a PI30 one; a value whose codes mean something else on PI18 gets its own key
(``output_source_priority_pi18``: PI18's 0/1 are not PI30's 0/1/2). ``name`` is the series name
mppsolar 0.16.56's pi18 protocol gives the value in its Prometheus output.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from solarmon.inverter.tables import (
    INPUT_VOLTAGE_RANGES,
    OUTPUT_MODES,
    TOPOLOGIES,
    Bit,
    FieldSpec,
)


def _codes(*names: str) -> Mapping[int, str]:
    return MappingProxyType(dict(enumerate(names)))


BATTERY_TYPES = _codes("AGM", "Flooded", "User", "Pylontech", "TBD", "WECO", "Soltaro",
                       "3rd party Lithium", "LIB", "LIC")
OUTPUT_SOURCE_PRIORITIES = _codes("Solar-Utility-Battery", "Solar-Battery-Utility")
CHARGER_SOURCE_PRIORITIES = _codes("Solar First", "Solar and Utility", "Only Solar")  # mppsolar's words
MACHINE_TYPES = _codes("Off-Grid", "Grid-Tie")
SOLAR_POWER_PRIORITIES = _codes("Battery-Load-Utility + AC Charger", "Load-Battery-Utility")
MPPT_STATES = _codes("abnormal", "normal but not charged", "charging")
DIRECTIONS_BATTERY = _codes("donothing", "charge", "discharge")
DIRECTIONS_DC_AC = _codes("donothing", "AC-DC", "DC-AC")
DIRECTIONS_LINE = _codes("donothing", "input", "output")
# MOD codes in QMOD's words, so device_mode has one vocabulary (05 "hybrid" is line / grid mode).
DEVICE_MODES: Mapping[int, str] = MappingProxyType({
    0: "Power on", 1: "Standby", 2: "Bypass", 3: "Battery", 4: "Fault", 5: "Line",
})

GS = (
    FieldSpec("ac_input_voltage", "grid_voltage", "tenths", "V", "grid voltage"),
    FieldSpec("ac_input_frequency", "grid_frequency", "tenths", "Hz", "grid frequency"),
    FieldSpec("ac_output_voltage", "ac_output_voltage", "tenths", "V"),
    FieldSpec("ac_output_frequency", "ac_output_frequency", "tenths", "Hz"),
    FieldSpec("ac_output_apparent_power", "ac_output_apparent_power", "int", "VA"),
    FieldSpec("ac_output_active_power", "ac_output_active_power", "int", "W"),
    FieldSpec("ac_output_load", "output_load_percent", "int", "%"),
    FieldSpec("battery_voltage", "battery_voltage", "tenths", "V"),
    FieldSpec("battery_voltage_from_scc", "battery_voltage_from_scc", "tenths", "V"),
    FieldSpec("battery_voltage_from_scc2", "battery_voltage_from_scc2", "tenths", "V",
              "battery voltage seen by the second charge controller"),
    FieldSpec("battery_discharge_current", "battery_discharge_current", "int", "A"),
    FieldSpec("battery_charging_current", "battery_charging_current", "int", "A"),
    FieldSpec("battery_capacity", "battery_capacity", "int", "%"),
    FieldSpec("inverter_heat_sink_temperature", "inverter_heat_sink_temperature", "int", "°C"),
    FieldSpec("mppt1_charger_temperature", "mppt1_charger_temperature", "int", "°C"),
    FieldSpec("mppt2_charger_temperature", "mppt2_charger_temperature", "int", "°C"),
    FieldSpec("pv_input_power", "pv1_input_power", "int", "W", "PV1 power"),
    FieldSpec("pv2_charging_power", "pv2_input_power", "int", "W", "PV2 power"),
    FieldSpec("pv_input_voltage", "pv1_input_voltage", "tenths", "V"),
    FieldSpec("pv2_input_voltage", "pv2_input_voltage", "tenths", "V"),
    FieldSpec("is_configuration_changed", "setting_value_configuration_state", "bool"),
    FieldSpec("mppt1_charger_status", "mppt1_charger_status", "option", choices=MPPT_STATES),
    FieldSpec("mppt2_charger_status", "mppt2_charger_status", "option", choices=MPPT_STATES),
    FieldSpec("is_load_on", "load_connection", "bool"),
    FieldSpec("battery_power_direction", "battery_power_direction", "option", choices=DIRECTIONS_BATTERY),
    FieldSpec("dc_ac_power_direction", "dc_ac_power_direction", "option", choices=DIRECTIONS_DC_AC),
    FieldSpec("line_power_direction", "line_power_direction", "option", choices=DIRECTIONS_LINE),
    FieldSpec("local_parallel_id", "local_parallel_id", "int", help="the unit's ID on the parallel bus"),
)
GS_MIN_FIELDS = 28

PIRI = (
    FieldSpec("rated_ac_input_voltage", "ac_input_rated_voltage", "tenths", "V"),
    FieldSpec("rated_ac_input_current", "ac_input_rated_current", "tenths", "A"),
    FieldSpec("rated_ac_output_voltage", "ac_output_rated_voltage", "tenths", "V"),
    FieldSpec("rated_ac_output_frequency", "ac_output_rated_frequency", "tenths", "Hz"),
    FieldSpec("rated_ac_output_current", "ac_output_rated_current", "tenths", "A"),
    FieldSpec("rated_ac_output_apparent_power", "ac_output_rating_apparent_power", "int", "VA"),
    FieldSpec("rated_ac_output_active_power", "ac_output_rating_active_power", "int", "W"),
    FieldSpec("rated_battery_voltage", "battery_rated_voltage", "tenths", "V", "battery voltage class"),
    FieldSpec("battery_recharge_voltage", "battery_recharge_voltage", "tenths", "V"),
    FieldSpec("battery_redischarge_voltage", "battery_redischarge_voltage", "tenths", "V"),
    FieldSpec("battery_under_voltage", "battery_under_voltage", "tenths", "V", "cut-off voltage"),
    FieldSpec("battery_bulk_charge_voltage", "battery_bulk_voltage", "tenths", "V"),
    FieldSpec("battery_float_charge_voltage", "battery_float_voltage", "tenths", "V"),
    FieldSpec("battery_type_pi18", "battery_type", "option", choices=BATTERY_TYPES),
    FieldSpec("max_ac_charging_current", "max_ac_charging_current", "int", "A"),
    FieldSpec("max_charging_current", "max_charging_current", "int", "A"),
    FieldSpec("input_voltage_range", "input_voltage_rang", "option", choices=INPUT_VOLTAGE_RANGES),
    FieldSpec("output_source_priority_pi18", "output_source_priority", "option",
              choices=OUTPUT_SOURCE_PRIORITIES),
    FieldSpec("charger_source_priority_pi18", "charger_source_priority", "option",
              choices=CHARGER_SOURCE_PRIORITIES),
    FieldSpec("max_parallel_units", "parallel_max_num", "int"),
    FieldSpec("machine_type_pi18", "machine_type", "option", choices=MACHINE_TYPES),
    FieldSpec("topology", "topology", "option", choices=TOPOLOGIES),
    FieldSpec("output_mode", "output_model_setting", "option", choices=OUTPUT_MODES),
    FieldSpec("solar_power_priority", "solar_power_priority", "option", choices=SOLAR_POWER_PRIORITIES),
    FieldSpec("mppt_strings", "mppt_strings", "int", help="number of PV trackers"),
)
PIRI_MIN_FIELDS = 25

# FLAG: one 0/1 per flag; keys of the QFLAG letters that mean the same.
FLAG = (
    FieldSpec("buzzer", "buzzer_beep", "bool"),
    FieldSpec("overload_bypass", "overload_bypass_function", "bool"),
    FieldSpec("lcd_reset_to_default", "display_back_to_default_page", "bool"),
    FieldSpec("overload_restart", "overload_restart", "bool"),
    FieldSpec("over_temperature_restart", "over_temperature_restart", "bool"),
    FieldSpec("lcd_backlight", "backlight_on", "bool"),
    FieldSpec("primary_source_interrupt_alarm", "alarm_primary_source_interrupt", "bool"),
    FieldSpec("record_fault_code", "fault_code_record", "bool"),
    FieldSpec("flag_reserved", "reserved", "int", help="reserved (PI18 FLAG field 8)"),
)
FLAG_MIN_FIELDS = 8

# FWS: the fault code, then one 0/1 per warning (QPIWS keys where the warning is the same).
FWS_WARNINGS = (
    Bit("line_fail", "line_fail_warning"),
    Bit("opv_short", "output_circuit_short_warning"),
    Bit("over_temperature", "inverter_over_temperature_warning"),
    Bit("fan_locked", "fan_lock_warning"),
    Bit("battery_voltage_high", "battery_voltage_high_warning"),
    Bit("battery_low_alarm", "battery_low_warning"),
    Bit("battery_under_shutdown", "battery_under_warning"),
    Bit("overload", "overload_warning"),
    Bit("eeprom_fault", "eeprom_fail_warning"),
    Bit("power_limit", "power_limit_warning"),
    Bit("pv_voltage_high", "pv1_voltage_high_warning"),
    Bit("pv2_voltage_high", "pv2_voltage_high_warning", "PV2 input voltage high"),
    Bit("mppt_overload_warning", "mppt1_overload_warning"),
    Bit("mppt2_overload_warning", "mppt2_overload_warning", "MPPT2 overload"),
    Bit("battery_too_low_to_charge", "battery_too_low_to_charge_for_scc1_warning"),
    Bit("battery_too_low_to_charge_scc2", "battery_too_low_to_charge_for_scc2_warning",
        "battery too low for the second charge controller to charge"),
)

# Energy: command -> (period digits, key, mppsolar name); the keys are PI30's QET/QEY/QEM/QED.
ENERGY: Mapping[str, tuple[int, str, str]] = MappingProxyType({
    "ET": (0, "pv_energy_total", "total_pv_generated_energy"),
    "EY": (4, "pv_energy_year", "pv_generated_energy_for_year"),
    "EM": (6, "pv_energy_month", "pv_generated_energy_for_month"),
    "ED": (8, "pv_energy_day", "pv_generated_energy_for_day"),
})
# Current lists: command -> (key, mppsolar name of the first value, setter).
CURRENT_LISTS: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "MCHGCR": ("max_charging_current_options", "max._charging_current_value_1", "MCHGC"),
    "MUCHGCR": ("max_utility_charging_current_options", "max._ac_charging_current_value_1", "MUCHGC"),
})
VFW_NAMES = (
    ("main_cpu_firmware_version", "main_cpu_version"),
    ("secondary_cpu_firmware_version", "slave_1_cpu_version"),
    ("third_cpu_firmware_version", "slave_2_cpu_version"),
)
QUERIES = ("PI", "ID", "VFW", "GS", "PIRI", "MOD", "FWS", "FLAG", "ET", "MCHGCR", "MUCHGCR")
# PIRI fields a PI18 setter changes (kind SETTING in the catalog).
SETTING_KEYS = frozenset({
    "battery_under_voltage", "battery_bulk_charge_voltage", "battery_float_charge_voltage",
    "battery_type_pi18", "max_ac_charging_current", "max_charging_current",
    "output_source_priority_pi18", "charger_source_priority_pi18", "machine_type_pi18",
    "solar_power_priority", "battery_recharge_voltage", "battery_redischarge_voltage",
})
