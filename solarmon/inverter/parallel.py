"""QPGSn, the parallel / three-phase query of PI30 (docs/PROTOCOLS-QPGS.md): its table and reading.

``QPGS<n>`` asks the unit on the cable about unit ``n`` of its parallel bus. The reply is one
unit's picture: identity (serial), work mode, fault code, grid / output / battery / PV values, the
unit's own share and the system totals as the unit computes them, status bits, the output mode
(single, parallel, phase L1/L2/L3 of a three-phase system) and the unit's charging settings.

Keys are the catalog's: a value that QPIGS / QPIRI / QMOD / QID also report keeps their key
(``ac_input_voltage``, ``output_mode``, ``device_mode``, ``serial_number``...), so each unit reads
like a single inverter; ``Field.name`` stays mppsolar's QPGS name (``grid_voltage``) for the
``.prom`` series. Only what QPGS alone says gets a new key (``fault_code``, ``total_...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from solarmon.inverter.readings import Reading
from solarmon.inverter.tables import (
    CHARGER_SOURCE_PRIORITIES,
    DEVICE_MODES,
    OUTPUT_MODES,
    Bit,
    FieldSpec,
)

COMMAND = "QPGS"
COMMAND_RE = re.compile(r"QPGS(\d)")
MAX_UNITS = 9  # QPGS0..QPGS8: up to three units per phase, three phases
MIN_FIELDS = 27  # 29 on MAX units (the PV2 tail)

INSTANCE_VALID: Mapping[int, str] = MappingProxyType({0: "Not valid", 1: "valid"})
FAULT_CODES: Mapping[str, str] = MappingProxyType({
    "00": "No fault", "01": "Fan is locked", "02": "Over temperature",
    "03": "Battery voltage is too high", "04": "Battery voltage is too low",
    "05": "Output short circuited or Over temperature", "06": "Output voltage is too high",
    "07": "Over load time out", "08": "Bus voltage is too high", "09": "Bus soft start failed",
    "11": "Main relay failed", "51": "Over current inverter", "52": "Bus soft start failed",
    "53": "Inverter soft start failed", "54": "Self-test failed",
    "55": "Over DC voltage on output of inverter", "56": "Battery connection is open",
    "57": "Current sensor failed", "58": "Output voltage is too low", "60": "Inverter negative power",
    "71": "Parallel version different", "72": "Output circuit failed",
    "80": "CAN communication failed", "81": "Parallel host line lost",
    "82": "Parallel synchronized signal lost", "83": "Parallel battery voltage detect different",
    "84": "Parallel Line voltage or frequency detect different",
    "85": "Parallel Line input current unbalanced", "86": "Parallel output setting different",
})
NO_FAULT = "00"
# Output mode code -> phase of a three-phase system.
PHASES: Mapping[int, str] = MappingProxyType({2: "L1", 3: "L2", 4: "L3"})

STATUS_BITS = (  # field 19, left to right
    Bit("is_scc_ok", "is_scc_ok", "the solar charge controller is working"),
    Bit("is_ac_charging_on", "is_ac_charging"),
    Bit("is_scc_charging_on", "is_scc_charging"),
    Bit("is_battery_over_voltage", "is_battery_over_voltage"),
    Bit("is_battery_under_voltage", "is_battery_under_voltage"),
    Bit("is_line_lost", "is_line_lost", "the unit has no grid input"),
    Bit("is_load_on", "is_load_on"),
    Bit("is_configuration_changed", "is_configuration_changed"),
)

QPGS = (
    FieldSpec("parallel_instance_valid", "parallel_instance_number", "option", choices=INSTANCE_VALID,
              help="the unit answers as a member of the parallel bus"),
    FieldSpec("serial_number", "serial_number", "text", help="serial number"),
    FieldSpec("device_mode", "work_mode", "keyed", choices=DEVICE_MODES, help="operating mode"),
    FieldSpec("fault_code", "fault_code", "keyed", choices=FAULT_CODES,
              help="the unit's fault code (PROTOCOLS-QPGS.md §3)"),
    FieldSpec("ac_input_voltage", "grid_voltage", "float", "V", "grid voltage"),
    FieldSpec("ac_input_frequency", "grid_frequency", "float", "Hz", "grid frequency"),
    FieldSpec("ac_output_voltage", "ac_output_voltage", "float", "V"),
    FieldSpec("ac_output_frequency", "ac_output_frequency", "float", "Hz"),
    FieldSpec("ac_output_apparent_power", "ac_output_apparent_power", "int", "VA"),
    FieldSpec("ac_output_active_power", "ac_output_active_power", "int", "W"),
    FieldSpec("ac_output_load", "load_percentage", "int", "%", "max of W% and VA% of the rating"),
    FieldSpec("battery_voltage", "battery_voltage", "float", "V"),
    FieldSpec("battery_charging_current", "battery_charging_current", "int", "A"),
    FieldSpec("battery_capacity", "battery_capacity", "int", "%"),
    FieldSpec("pv_input_voltage", "pv_input_voltage", "float", "V"),
    FieldSpec("total_charging_current", "total_charging_current", "int", "A",
              "battery charging current of all units, as the unit reports it"),
    FieldSpec("total_ac_output_apparent_power", "total_ac_output_apparent_power", "int", "VA",
              "output apparent power of all units, as the unit reports it"),
    FieldSpec("total_ac_output_active_power", "total_output_active_power", "int", "W",
              "output active power of all units, as the unit reports it"),
    FieldSpec("total_ac_output_load", "total_ac_output_percentage", "int", "%",
              "output load of all units, as the unit reports it"),
    FieldSpec("parallel_status", "inverter_status", "flags", bits=STATUS_BITS),
    FieldSpec("output_mode", "output_mode", "option", choices=OUTPUT_MODES),
    FieldSpec("charger_source_priority", "charger_source_priority", "option",
              choices=CHARGER_SOURCE_PRIORITIES),
    FieldSpec("max_charging_current", "max_charger_current", "int", "A"),
    FieldSpec("max_charging_current_range", "max_charger_range", "int", "A",
              "the largest max charging current the unit allows"),
    FieldSpec("max_ac_charging_current", "max_ac_charger_current", "int", "A"),
    FieldSpec("pv_input_current", "pv_input_current", "float", "A", "PV current on the panel side"),
    FieldSpec("battery_discharge_current", "battery_discharge_current", "int", "A"),
    FieldSpec("pv2_input_voltage", "pv2_input_voltage", "float", "V", "MAX units"),
    FieldSpec("pv2_input_current", "pv2_input_current", "float", "A", "MAX units"),
)


def unit_of(command: str) -> int | None:
    """The unit number ``n`` of ``QPGS<n>``, or None for another command."""
    match = COMMAND_RE.fullmatch(command)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ParallelStatus(Reading):
    """QPGSn: one unit of a parallel or three-phase system. MAX-only tail fields are ``None``.

    ``unit`` is n of the command; ``fault_number`` the two-digit fault code as sent;
    ``output_mode_code`` the output mode's number (0 single, 1 parallel, 2-4 phase L1-L3).
    """

    parallel_instance_valid: str
    serial_number: str
    device_mode: str
    fault_code: str
    ac_input_voltage_v: float
    ac_input_frequency_hz: float
    ac_output_voltage_v: float
    ac_output_frequency_hz: float
    ac_output_apparent_power_va: int
    ac_output_active_power_w: int
    ac_output_load_pct: int
    battery_voltage_v: float
    battery_charging_current_a: int
    battery_capacity_pct: int
    pv_input_voltage_v: float
    total_charging_current_a: int
    total_ac_output_apparent_power_va: int
    total_ac_output_active_power_w: int
    total_ac_output_load_pct: int
    is_scc_ok: bool
    is_ac_charging_on: bool
    is_scc_charging_on: bool
    is_battery_over_voltage: bool
    is_battery_under_voltage: bool
    is_line_lost: bool
    is_load_on: bool
    is_configuration_changed: bool
    output_mode: str
    charger_source_priority: str
    max_charging_current_a: int
    max_charging_current_range_a: int
    max_ac_charging_current_a: int
    pv_input_current_a: float
    battery_discharge_current_a: int
    pv2_input_voltage_v: float | None = None
    pv2_input_current_a: float | None = None
    unit: int = 0
    fault_number: str = NO_FAULT
    output_mode_code: int = 0

    @property
    def valid(self) -> bool:
        """True when the unit answered as a member of the bus (instance valid)."""
        return self.parallel_instance_valid == INSTANCE_VALID[1]

    @property
    def faulted(self) -> bool:
        """True when the unit reports a fault code or fault mode."""
        return self.fault_number != NO_FAULT or self.device_mode == DEVICE_MODES["F"]

    @property
    def phase(self) -> str | None:
        """"L1", "L2" or "L3" for a unit of a three-phase system, else None."""
        return PHASES.get(self.output_mode_code)

    @property
    def pv_power_w(self) -> float:
        """PV power of both trackers: volts x amps on the panel side (QPGS has no power field)."""
        first = self.pv_input_voltage_v * self.pv_input_current_a
        second = (self.pv2_input_voltage_v or 0.0) * (self.pv2_input_current_a or 0.0)
        return first + second
