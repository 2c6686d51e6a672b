"""System totals of a parallel / three-phase PI30 system, from its units' QPGSn readings.

One rule, here only: a total is the sum over the units that answered this cycle, and it is given
only when every expected unit answered (``system_totals_complete``). A unit that dropped out makes
the totals absent, never smaller: a missing unit is counted (``system_units_answering`` below
``system_units_expected``) and shown, never hidden in a wrong total. A faulted unit answers and
counts with what it carries (nothing). Three-phase systems add each phase's load and the imbalance
between phases.
"""

from __future__ import annotations

from collections.abc import Mapping

from solarmon.inverter.frame import CrcState
from solarmon.inverter.parallel import ParallelStatus
from solarmon.inverter.readings import Field, Reading
from solarmon.inverter.tables import FieldSpec

COMMAND = "SYSTEM"

SYSTEM = (
    FieldSpec("system_units_expected", "system_units_expected", "int",
              help="units the section polls (parallel = N, or found by parallel = auto)"),
    FieldSpec("system_units_answering", "system_units_answering", "int",
              help="units that answered this cycle"),
    FieldSpec("system_units_faulted", "system_units_faulted", "int",
              help="answering units with a fault code"),
    FieldSpec("system_totals_complete", "system_totals_complete", "bool",
              help="every expected unit answered, so the totals below are given"),
    FieldSpec("system_pv_power", "system_pv_power", "float", "W", "PV power of all units"),
    FieldSpec("system_load_power", "system_load_power", "int", "W", "AC output active power of all units"),
    FieldSpec("system_load_apparent_power", "system_load_apparent_power", "int", "VA",
              "AC output apparent power of all units"),
    FieldSpec("system_battery_current", "system_battery_current", "int", "A",
              "battery current of all units, + charging, - discharging"),
    FieldSpec("system_charge_power", "system_charge_power", "float", "W",
              "battery charging power of all units"),
    FieldSpec("system_discharge_power", "system_discharge_power", "float", "W",
              "battery discharging power of all units"),
    FieldSpec("phase_l1_load_power", "phase_l1_load_power", "int", "W", "load of phase L1 (three-phase)"),
    FieldSpec("phase_l2_load_power", "phase_l2_load_power", "int", "W", "load of phase L2 (three-phase)"),
    FieldSpec("phase_l3_load_power", "phase_l3_load_power", "int", "W", "load of phase L3 (three-phase)"),
    FieldSpec("phase_load_imbalance", "phase_load_imbalance", "float", "%",
              "largest phase load minus smallest, in % of the mean phase load (three-phase)"),
)
_SPECS = {spec.key: spec for spec in SYSTEM}


def _field(key: str, value: float | int | bool) -> Field:
    spec = _SPECS[key]
    return Field(spec.key, spec.name, value, spec.unit, spec.help)


def totals(units: Mapping[int, ParallelStatus | None]) -> Reading:
    """The system reading of ``units`` (unit number -> this cycle's reading, None when it failed)."""
    answering = [reading for reading in units.values() if reading is not None]
    complete = bool(units) and len(answering) == len(units)
    fields = [
        _field("system_units_expected", len(units)),
        _field("system_units_answering", len(answering)),
        _field("system_units_faulted", sum(1 for r in answering if r.faulted)),
        _field("system_totals_complete", complete),
    ]
    if complete:
        charge = sum(r.battery_charging_current_a for r in answering)
        discharge = sum(r.battery_discharge_current_a for r in answering)
        volts = sum(r.battery_voltage_v for r in answering) / len(answering)
        fields += [
            _field("system_pv_power", round(sum(r.pv_power_w for r in answering), 1)),
            _field("system_load_power", sum(r.ac_output_active_power_w for r in answering)),
            _field("system_load_apparent_power", sum(r.ac_output_apparent_power_va for r in answering)),
            _field("system_battery_current", charge - discharge),
            _field("system_charge_power", round(volts * charge, 1)),
            _field("system_discharge_power", round(volts * discharge, 1)),
        ]
        phases = {phase: sum(r.ac_output_active_power_w for r in answering if r.phase == phase)
                  for phase in ("L1", "L2", "L3") if any(r.phase == phase for r in answering)}
        if len(phases) == 3:
            fields += [_field(f"phase_{phase.lower()}_load_power", watts) for phase, watts in phases.items()]
            mean = sum(phases.values()) / 3
            spread = max(phases.values()) - min(phases.values())
            fields.append(_field("phase_load_imbalance", round(100.0 * spread / mean, 1) if mean else 0.0))
    return Reading(command=COMMAND, fields=tuple(fields), crc=CrcState.OK, payload="")
