"""Field tables of the PI30 replies (PI30.md §3): position, key, mppsolar name, kind, unit, codes.

Data only; :mod:`solarmon.inverter.codec` interprets it. ``key`` is this project's name, unique
across commands (QPIRI's nameplate values are ``rated_...``, QDI's are ``default_...``); ``name``
is the name mppsolar 0.16.56 gives the same value in its Prometheus output, so dashboards built on
mppsolar keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Bit:
    """One named boolean inside a bit-string field."""

    key: str
    name: str
    help: str = ""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one space-separated token of a reply is decoded.

    ``kind``: float, int, option (integer code -> name), keyed (text code -> name), bool (``1`` is
    True unless ``true_code`` says otherwise), flags (a run of 0/1, one :class:`Bit` each).
    """

    key: str
    name: str
    kind: str
    unit: str = ""
    help: str = ""
    choices: Mapping[int, str] | Mapping[str, str] | None = None
    bits: tuple[Bit, ...] = ()
    true_code: str = "1"


def _codes(*names: str) -> Mapping[int, str]:
    return MappingProxyType(dict(enumerate(names)))


BATTERY_TYPES = _codes("AGM", "Flooded", "User", "Pylontech", "Shinheung", "WECO", "Soltaro", "TBD",
                       "LIb-protocol compatible", "3rd party Lithium")
INPUT_VOLTAGE_RANGES = _codes("Appliance", "UPS")
OUTPUT_SOURCE_PRIORITIES = _codes("Utility first", "Solar first", "SBU first")
CHARGER_SOURCE_PRIORITIES = _codes("Utility first", "Solar first", "Solar + Utility",
                                   "Only solar charging permitted")
MACHINE_TYPES: Mapping[str, str] = MappingProxyType({
    "00": "Grid tie", "01": "Off Grid", "10": "Hybrid",
    "11": "Off Grid with 2 trackers", "20": "Off Grid with 3 trackers",
})
TOPOLOGIES = _codes("transformerless", "transformer")
OUTPUT_MODES = _codes("single machine output", "parallel output", "Phase 1 of 3 Phase output",
                      "Phase 2 of 3 Phase output", "Phase 3 of 3 Phase output",
                      "Phase 1 of 2 phase output", "Phase 2 of 2 phase output (120°)",
                      "Phase 2 of 2 phase output (180°)")
PV_OK_CONDITIONS = _codes(
    "As long as one unit of inverters has connect PV, parallel system will consider PV OK",
    "Only All of inverters have connect PV, parallel system will consider PV OK",
)
PV_POWER_BALANCES = _codes(
    "PV input max current will be the max charged current",
    "PV input max power will be the sum of the max charged power and loads power",
)
OPERATION_LOGICS = _codes("Automatic mode", "On-line mode", "ECO mode")
DEVICE_MODES: Mapping[str, str] = MappingProxyType({
    "P": "Power on", "S": "Standby", "L": "Line", "B": "Battery", "F": "Fault",
    "H": "Power saving", "D": "Shutdown", "C": "Charge", "Y": "Bypass", "E": "ECO",
})
FEED_TO_GRID = _codes("Disabled", "Enabled")
COUNTRIES: Mapping[str, str] = MappingProxyType({"00": "India", "01": "Germany", "02": "South America"})

STATUS_BITS = (  # QPIGS field 16, b7..b0 left to right
    Bit("is_sbu_priority_version_added", "is_sbu_priority_version_added"),
    Bit("is_configuration_changed", "is_configuration_changed"),
    Bit("is_scc_firmware_updated", "is_scc_firmware_updated"),
    Bit("is_load_on", "is_load_on"),
    Bit("is_battery_voltage_to_steady_while_charging", "is_battery_voltage_to_steady_while_charging"),
    Bit("is_charging_on", "is_charging_on"),
    Bit("is_scc_charging_on", "is_scc_charging_on", "the solar charge controller is charging"),
    Bit("is_ac_charging_on", "is_ac_charging_on", "the grid charger is charging"),
)
STATUS2_BITS = (  # QPIGS field 20, b10 b9 b8
    Bit("is_charging_to_float", "is_charging_to_float"),
    Bit("is_switched_on", "is_switched_on"),
    Bit("is_reserved_b8", "is_reserved", "reserved (dustproof kit installed on Axpert V)"),
)

QPIGS = (
    FieldSpec("ac_input_voltage", "ac_input_voltage", "float", "V", "grid voltage"),
    FieldSpec("ac_input_frequency", "ac_input_frequency", "float", "Hz", "grid frequency"),
    FieldSpec("ac_output_voltage", "ac_output_voltage", "float", "V"),
    FieldSpec("ac_output_frequency", "ac_output_frequency", "float", "Hz"),
    FieldSpec("ac_output_apparent_power", "ac_output_apparent_power", "int", "VA"),
    FieldSpec("ac_output_active_power", "ac_output_active_power", "int", "W"),
    FieldSpec("ac_output_load", "ac_output_load", "int", "%", "max of W% and VA% of the rating"),
    FieldSpec("bus_voltage", "bus_voltage", "int", "V", "DC bus voltage"),
    FieldSpec("battery_voltage", "battery_voltage", "float", "V"),
    FieldSpec("battery_charging_current", "battery_charging_current", "int", "A"),
    FieldSpec("battery_capacity", "battery_capacity", "int", "%"),
    FieldSpec("inverter_heat_sink_temperature", "inverter_heat_sink_temperature", "int", "°C",
              "a raw NTC value on some 1-3 kVA units"),
    FieldSpec("pv_input_current_for_battery", "pv_input_current_for_battery", "float", "A"),
    FieldSpec("pv_input_voltage", "pv_input_voltage", "float", "V"),
    FieldSpec("battery_voltage_from_scc", "battery_voltage_from_scc", "float", "V",
              "battery voltage seen by the solar charge controller"),
    FieldSpec("battery_discharge_current", "battery_discharge_current", "int", "A"),
    FieldSpec("device_status", "device_status", "flags", bits=STATUS_BITS),
    FieldSpec("battery_voltage_offset_for_fans_on", "rsv1", "int", "",
              "battery voltage offset for fan-on, in 10 mV"),
    FieldSpec("eeprom_version", "rsv2", "int"),
    FieldSpec("pv_input_power", "pv_input_power", "int", "W", "PV charging power"),
    FieldSpec("device_status2", "device_status2", "flags", bits=STATUS2_BITS),
    FieldSpec("feed_to_grid_status", "solar_feed_to_grid", "option", choices=FEED_TO_GRID,
              help="MAX / VM IV only"),
    FieldSpec("country_code", "country", "keyed", choices=COUNTRIES, help="MAX / VM IV only"),
    FieldSpec("feed_to_grid_power", "solar_feed_to_grid_power", "int", "W", "MAX / VM IV only"),
)
QPIGS_FIELD_COUNTS = (17, 21)  # the least a reply has; anything from 21 up is accepted

QPIGS2 = (
    FieldSpec("pv2_input_current", "pv2_input_current", "float", "A"),
    FieldSpec("pv2_input_voltage", "pv2_input_voltage", "float", "V"),
    FieldSpec("pv2_charging_power", "pv2_charging_power", "int", "W"),
)

QPIRI = (
    FieldSpec("rated_ac_input_voltage", "ac_input_voltage", "float", "V", "grid rating voltage"),
    FieldSpec("rated_ac_input_current", "ac_input_current", "float", "A", "grid rating current"),
    FieldSpec("rated_ac_output_voltage", "ac_output_voltage", "float", "V", "output rating voltage"),
    FieldSpec("rated_ac_output_frequency", "ac_output_frequency", "float", "Hz",
              "output frequency setting"),
    FieldSpec("rated_ac_output_current", "ac_output_current", "float", "A"),
    FieldSpec("rated_ac_output_apparent_power", "ac_output_apparent_power", "int", "VA"),
    FieldSpec("rated_ac_output_active_power", "ac_output_active_power", "int", "W"),
    FieldSpec("rated_battery_voltage", "battery_voltage", "float", "V", "battery voltage class"),
    FieldSpec("battery_recharge_voltage", "battery_recharge_voltage", "float", "V"),
    FieldSpec("battery_under_voltage", "battery_under_voltage", "float", "V", "cut-off voltage"),
    FieldSpec("battery_bulk_charge_voltage", "battery_bulk_charge_voltage", "float", "V",
              "bulk (CV) charge voltage"),
    FieldSpec("battery_float_charge_voltage", "battery_float_charge_voltage", "float", "V"),
    FieldSpec("battery_type", "battery_type", "option", choices=BATTERY_TYPES),
    FieldSpec("max_ac_charging_current", "max_ac_charging_current", "int", "A"),
    FieldSpec("max_charging_current", "max_charging_current", "int", "A"),
    FieldSpec("input_voltage_range", "input_voltage_range", "option", choices=INPUT_VOLTAGE_RANGES),
    FieldSpec("output_source_priority", "output_source_priority", "option",
              choices=OUTPUT_SOURCE_PRIORITIES),
    FieldSpec("charger_source_priority", "charger_source_priority", "option",
              choices=CHARGER_SOURCE_PRIORITIES),
    FieldSpec("max_parallel_units", "max_parallel_units", "int", help="absent when the unit says '-'"),
    FieldSpec("machine_type", "machine_type", "keyed", choices=MACHINE_TYPES),
    FieldSpec("topology", "topology", "option", choices=TOPOLOGIES),
    FieldSpec("output_mode", "output_mode", "option", choices=OUTPUT_MODES),
    FieldSpec("battery_redischarge_voltage", "battery_redischarge_voltage", "float", "V"),
    FieldSpec("pv_ok_condition", "pv_ok_condition", "option", choices=PV_OK_CONDITIONS),
    FieldSpec("pv_power_balance", "pv_power_balance", "option", choices=PV_POWER_BALANCES),
    FieldSpec("max_charging_time_for_cv_stage_min", "max_charging_time_for_cv_stage", "int",
              help="minutes (MAX 48 V units)"),
    FieldSpec("operation_logic", "operation_logic", "option", choices=OPERATION_LOGICS),
    FieldSpec("max_discharging_current", "max_discharging_current", "int", "A"),
)
QPIRI_MIN_FIELDS = 25

_QDI_SWITCHES = (
    ("default_buzzer", "buzzer", "0"),  # mppsolar reads 0 as enabled for the buzzer only
    ("default_power_saving", "power_saving", "1"),
    ("default_overload_restart", "overload_restart", "1"),
    ("default_over_temperature_restart", "over_temperature_restart", "1"),
    ("default_lcd_backlight", "lcd_backlight", "1"),
    ("default_primary_source_interrupt_alarm", "primary_source_interrupt_alarm", "1"),
    ("default_record_fault_code", "record_fault_code", "1"),
    ("default_overload_bypass", "overload_bypass", "1"),
    ("default_lcd_reset_to_default", "lcd_reset_to_default", "1"),
)
QDI = (
    FieldSpec("default_ac_output_voltage", "ac_output_voltage", "float", "V"),
    FieldSpec("default_ac_output_frequency", "ac_output_frequency", "float", "Hz"),
    FieldSpec("default_max_ac_charging_current", "max_ac_charging_current", "int", "A"),
    FieldSpec("default_battery_under_voltage", "battery_under_voltage", "float", "V"),
    FieldSpec("default_battery_float_charge_voltage", "battery_float_charge_voltage", "float", "V"),
    FieldSpec("default_battery_bulk_charge_voltage", "battery_bulk_charge_voltage", "float", "V"),
    FieldSpec("default_battery_recharge_voltage", "battery_recharge_voltage", "float", "V"),
    FieldSpec("default_max_charging_current", "max_charging_current", "int", "A"),
    FieldSpec("default_input_voltage_range", "input_voltage_range", "option",
              choices=INPUT_VOLTAGE_RANGES),
    FieldSpec("default_output_source_priority", "output_source_priority", "option",
              choices=OUTPUT_SOURCE_PRIORITIES),
    FieldSpec("default_charger_source_priority", "charger_source_priority", "option",
              choices=CHARGER_SOURCE_PRIORITIES),
    FieldSpec("default_battery_type", "battery_type", "option", choices=BATTERY_TYPES),
    *(FieldSpec(key, name, "bool", true_code=true_code, help="True when enabled")
      for key, name, true_code in _QDI_SWITCHES),
    FieldSpec("default_output_mode", "output_mode", "option", choices=OUTPUT_MODES),
    FieldSpec("default_battery_redischarge_voltage", "battery_redischarge_voltage", "float", "V"),
    FieldSpec("default_pv_ok_condition", "pv_ok_condition", "option", choices=PV_OK_CONDITIONS),
    FieldSpec("default_pv_power_balance", "pv_power_balance", "option", choices=PV_POWER_BALANCES),
    FieldSpec("default_max_charging_time_for_cv_stage_min", "max_charging_time_at_cv", "int",
              help="minutes (MAX units)"),
    FieldSpec("default_max_discharging_current", "max_discharging_current", "int", "A"),
)
QDI_MIN_FIELDS = 25

# QPIWS bit a<N> -> Bit; mppsolar 0.16.56's names (lower-cased) where it has one.
WARNING_BITS: tuple[Bit, ...] = (
    Bit("pv_loss", "pv_loss_warning", "a0: reserved; PV loss on MAX units"),
    Bit("inverter_fault", "inverter_fault", "a1: makes a9, a10, a11 and a16 faults"),
    Bit("bus_over", "bus_over_fault", "a2: fault"),
    Bit("bus_under", "bus_under_fault", "a3: fault"),
    Bit("bus_soft_fail", "bus_soft_fail_fault", "a4: fault"),
    Bit("line_fail", "line_fail_warning", "a5: warning"),
    Bit("opv_short", "opv_short_warning", "a6: warning"),
    Bit("inverter_voltage_too_low", "inverter_voltage_too_low_fault", "a7: fault"),
    Bit("inverter_voltage_too_high", "inverter_voltage_too_high_fault", "a8: fault"),
    Bit("over_temperature", "over_temperature_fault", "a9: fault if a1 is set, else warning"),
    Bit("fan_locked", "fan_locked_fault", "a10: fault if a1 is set, else warning"),
    Bit("battery_voltage_high", "battery_voltage_too_high_fault",
        "a11: fault if a1 is set, else warning"),
    Bit("battery_low_alarm", "battery_low_alarm_warning", "a12: warning"),
    Bit("reserved_a13", "reserved", "a13: reserved"),
    Bit("battery_under_shutdown", "battery_under_shutdown_warning", "a14: warning"),
    Bit("battery_derating", "battery_derating_warning", "a15: reserved; battery derating on MAX"),
    Bit("overload", "overload_fault", "a16: fault if a1 is set, else warning"),
    Bit("eeprom_fault", "eeprom_fault", "a17: fault"),
    Bit("inverter_over_current", "inverter_over_current_fault", "a18: fault"),
    Bit("inverter_soft_fail", "inverter_soft_fail_fault", "a19: fault"),
    Bit("self_test_fail", "self_test_fail_fault", "a20: fault"),
    Bit("op_dc_voltage_over", "op_dc_voltage_over_fault", "a21: fault"),
    Bit("battery_open", "battery_open_fault", "a22: fault"),
    Bit("current_sensor_fail", "current_sensor_fail_fault", "a23: fault"),
    Bit("battery_short", "battery_short_fault", "a24: fault"),
    Bit("power_limit", "power_limit_warning", "a25: warning"),
    Bit("pv_voltage_high", "pv_voltage_high_warning", "a26: warning"),
    Bit("mppt_overload_fault", "mppt_overload_fault", "a27: fault"),
    Bit("mppt_overload_warning", "mppt_overload_warning", "a28: warning"),
    Bit("battery_too_low_to_charge", "battery_too_low_to_charge_warning", "a29: warning"),
    Bit("reserved_a30", "reserved_a30", "a30: reserved"),
    Bit("battery_weak", "battery_weak", "a31: reserved; battery weak on MAX"),
)
WARNING_MIN_BITS = 32
# Bits whose class depends on a1, and bits that are always faults; the rest are warnings. The rule
# that applies them is catalog.classify_alarms (the only one).
CONDITIONAL_FAULT_BITS = frozenset({"over_temperature", "fan_locked", "battery_voltage_high", "overload"})
FAULT_BITS = frozenset({
    "inverter_fault", "bus_over", "bus_under", "bus_soft_fail", "inverter_voltage_too_low",
    "inverter_voltage_too_high", "eeprom_fault", "inverter_over_current", "inverter_soft_fail",
    "self_test_fail", "op_dc_voltage_over", "battery_open", "current_sensor_fail", "battery_short",
    "mppt_overload_fault",
})
RESERVED_BITS = frozenset({"reserved_a13", "reserved_a30"})

# QFLAG letter -> Bit (True = enabled). mppsolar's names.
FLAG_LETTERS: Mapping[str, Bit] = MappingProxyType({
    "a": Bit("buzzer", "buzzer"),
    "b": Bit("overload_bypass", "overload_bypass", "dangerous to change"),
    "d": Bit("solar_feed_to_grid", "solar_feed_to_grid", "MAX units"),
    "j": Bit("power_saving", "power_saving"),
    "k": Bit("lcd_reset_to_default", "lcd_reset_to_default", "LCD back to the default page after 1 min"),
    "l": Bit("data_log_popup", "data_log_popup", "data-log pop-up (2015 firmware)"),
    "u": Bit("overload_restart", "overload_restart", "dangerous to change"),
    "v": Bit("over_temperature_restart", "over_temperature_restart", "dangerous to change"),
    "x": Bit("lcd_backlight", "lcd_backlight"),
    "y": Bit("primary_source_interrupt_alarm", "primary_source_interrupt_alarm"),
    "z": Bit("record_fault_code", "record_fault_code"),
})

# Energy counters: command prefix -> (source, period digits, key, mppsolar name)
ENERGY: Mapping[str, tuple[str, int, str, str]] = MappingProxyType({
    "QET": ("pv", 0, "pv_energy_total", "total_pv_generated_energy"),
    "QEY": ("pv", 4, "pv_energy_year", "pv_generated_energy_for_year"),
    "QEM": ("pv", 6, "pv_energy_month", "pv_generated_energy_for_month"),
    "QED": ("pv", 8, "pv_energy_day", "pv_generated_energy_for_day"),
    "QLT": ("load", 0, "load_energy_total", "total_output_load_energy"),
    "QLY": ("load", 4, "load_energy_year", "output_load_energy_for_year"),
    "QLM": ("load", 6, "load_energy_month", "output_load_energy_for_month"),
    "QLD": ("load", 8, "load_energy_day", "output_load_energy_for_day"),
})

# Text replies: command -> (key, mppsolar name, help). QSID is QID for units with longer serials.
TEXT_COMMANDS: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "QPI": ("protocol_id", "protocol_id", "protocol ID, PI30 for this family"),
    "QID": ("serial_number", "serial_number", "serial number"),
    "QSID": ("serial_number", "serial_number", "long serial number"),
    "QVFW": ("main_cpu_firmware_version", "main_cpu_firmware_version", ""),
    "QVFW2": ("secondary_cpu_firmware_version", "secondary_cpu_firmware_version",
              "all zeros until the charge controller has reported"),
    "QMN": ("model_name", "model_name", "model name (MAX and newer firmware; others NAK)"),
})
# Lists of allowed currents (A): command -> (key, mppsolar name, the setter they allow values of).
CURRENT_LISTS: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "QMCHGCR": ("max_charging_current_options", "max_charging_current", "MCHGC"),
    "QMUCHGCR": ("max_utility_charging_current_options", "max_utility_charging_current", "MUCHGC"),
})
ENERGY_UNIT = "Wh"
