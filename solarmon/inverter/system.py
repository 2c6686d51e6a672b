"""System totals of a parallel / three-phase PI30 system, from its units' QPGSn readings.

One rule, here only: a system value is computed over the units that answered this cycle, and it is
given only when every expected unit answered (``system_totals_complete``). A unit that dropped out
makes every system value absent, never smaller or skewed: a missing unit is counted
(``system_units_answering`` below ``system_units_expected``) and shown, never hidden in a wrong
value. A faulted unit answers and counts with what it carries (nothing). Three-phase systems add
each phase's load, grid and output voltage, and the imbalance between phases.

What each system value is (docs/SYSTEMS.md, "The system's values"):

- powers and currents are sums over the units (PV, load, battery currents, PV current);
- the grid import is the sum of the units' own estimates: the catalog's rule for one unit
  (:func:`solarmon.inverter.catalog.derive`, ``grid_power``) applied to each unit, never re-derived
  downstream (the web app maps ``system_grid_power`` onto the power flow);
- the battery power is the shared battery's voltage (below) x the summed currents, + charging;
- the battery is shared: one voltage and one state of charge, the mean of the units' readings of
  the same bank (each unit measures it; the mean evens out their sensor offsets);
- the grid and the output are one supply of a parallel system: its voltage and frequency are the
  units' mean; a three-phase system has one voltage per phase (``phase_l1_ac_input_voltage``...,
  the mean of that phase's units), never a mean over phases, and one frequency;
- a mean is over the units without a fault (:func:`_on_bus`): a faulted unit's output is off and
  its readings are suspect (faults 83/84: "battery / line voltage detect different"), so it would
  skew the shared value; a group of faulted units only (a phase whose unit faulted) gives what they
  read;
- PV arrays are the units' own: the PV voltage is the highest of the units' (the array nearest its
  unit's PV voltage limit), the PV current the sum;
- the load in % is the total load over the total rating of the units carrying it: the larger of
  active power / (units x rated W) and apparent power / (units x rated VA), as a unit computes its
  own ``ac_output_load`` (a faulted unit carries nothing and adds no capacity);
  the rating is the host's QPIRI (a parallel bus takes identical models only), and without it this
  one value is absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from solarmon.inverter import catalog
from solarmon.inverter.frame import CrcState
from solarmon.inverter.parallel import ParallelStatus
from solarmon.inverter.readings import Field, Reading
from solarmon.inverter.tables import OUTPUT_MODES
from solarmon.inverter.tables_system import COMMAND, SYSTEM

_SPECS = {spec.key: spec for spec in SYSTEM}

SYSTEM_KEY = "system_units_expected"  # on a system's own device, and only there
# The shared battery: a single unit's key -> the system's value that stands for it. Each unit's
# battery voltage and state of charge are its reading of the one bank the units share (a copy, not
# its own battery), so whatever watches the battery (the alert rules, the tiles, /battery) reads the
# system's value under the unit's key, once per system.
SHARED_BATTERY: Mapping[str, str] = MappingProxyType({
    "battery_voltage": "system_battery_voltage",
    "battery_capacity": "system_battery_capacity",
})

# The grid of a parallel system: its units hang on one grid, so each unit's AC input voltage and
# frequency are its reading of that one supply, and whatever watches the grid (``grid_lost``) reads
# the system's value, once. Not so on a three-phase (or split-phase) system: each phase is a supply of
# its own that can drop alone, so there each unit keeps its own reading of its phase.
SHARED_GRID: Mapping[str, str] = MappingProxyType({
    "ac_input_voltage": "system_ac_input_voltage",
    "ac_input_frequency": "system_ac_input_frequency",
})
# A unit's output mode (QPGSn / QPIRI text) that puts it on a phase of its own: 2-7, every mode but
# single (0) and parallel (1).
PHASE_MODES = frozenset(text for code, text in OUTPUT_MODES.items() if code >= 2)

PHASES = ("L1", "L2", "L3")


def one_grid(values: Mapping[str, object]) -> bool:
    """Whether a system's device, or a unit's, is on the one grid of a parallel system (the
    :data:`SHARED_GRID` values are then the system's), not on a phase of its own.

    A unit says it by its output mode (:data:`PHASE_MODES`: a phase); the system's own device by its
    values: a three-phase system's carry one grid voltage per phase (``phase_l1_ac_input_voltage``...)
    instead of ``system_ac_input_voltage``. While a system withholds its values neither is there, and
    nothing of the grid is the system's to give."""
    if SYSTEM_KEY in values:
        return not any(f"phase_{phase.lower()}_ac_input_voltage" in values for phase in PHASES)
    return values.get("output_mode") not in PHASE_MODES


def _field(key: str, value: float | int | bool) -> Field:
    spec = _SPECS[key]
    return Field(spec.key, spec.name, value, spec.unit, spec.help)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _on_bus(units: Sequence[ParallelStatus]) -> list[ParallelStatus]:
    """The units whose readings make a shared value: those without a fault, or all when every one
    of them faulted (then what they read is all there is, e.g. a dead phase's 0 V)."""
    return [r for r in units if not r.faulted] or list(units)


def _grid_power(units: Sequence[ParallelStatus]) -> float | None:
    """Grid import of the system: each unit's own estimate (the catalog's one rule for a unit,
    :func:`catalog.derive`: its load + battery - PV, 0 without grid) added up; None when a unit's
    readings do not allow one."""
    grids = [catalog.derive(unit.as_dict()).get("grid_power") for unit in units]
    if any(grid is None for grid in grids):
        return None
    return round(sum(grid for grid in grids if grid is not None), 1)


def _load_percent(units: Sequence[ParallelStatus], rating: Reading | None) -> int | None:
    """Total load in % of the carrying units' rating (the larger of W% and VA%), or None without a
    rating."""
    carrying = len(_on_bus(units))
    rated_w = rating.get("rated_ac_output_active_power") if rating is not None else None
    rated_va = rating.get("rated_ac_output_apparent_power") if rating is not None else None
    shares = [100.0 * sum(load) / (carrying * rated)
              for rated, load in ((rated_w, [r.ac_output_active_power_w for r in units]),
                                  (rated_va, [r.ac_output_apparent_power_va for r in units]))
              if isinstance(rated, int | float) and not isinstance(rated, bool) and rated > 0]
    return round(max(shares)) if shares else None


def _supply(units: Sequence[ParallelStatus]) -> list[Field]:
    """Grid and output: one voltage for a parallel system, one per phase for a three-phase one."""
    bus = _on_bus(units)
    fields = [
        _field("system_ac_input_frequency", round(_mean([r.ac_input_frequency_hz for r in bus]), 2)),
        _field("system_ac_output_frequency", round(_mean([r.ac_output_frequency_hz for r in bus]), 2)),
    ]
    by_phase = {phase: [r for r in units if r.phase == phase] for phase in PHASES}
    if not any(by_phase.values()):
        fields += [
            _field("system_ac_input_voltage", round(_mean([r.ac_input_voltage_v for r in bus]), 1)),
            _field("system_ac_output_voltage", round(_mean([r.ac_output_voltage_v for r in bus]), 1)),
        ]
    elif all(by_phase.values()):
        for phase, members in by_phase.items():
            feeding = _on_bus(members)
            fields += [
                _field(f"phase_{phase.lower()}_ac_input_voltage",
                       round(_mean([r.ac_input_voltage_v for r in feeding]), 1)),
                _field(f"phase_{phase.lower()}_ac_output_voltage",
                       round(_mean([r.ac_output_voltage_v for r in feeding]), 1)),
            ]
    return fields


def _phase_loads(units: Sequence[ParallelStatus]) -> list[Field]:
    """Each phase's load and the imbalance, when all three phases have units."""
    phases = {phase: sum(r.ac_output_active_power_w for r in units if r.phase == phase)
              for phase in PHASES if any(r.phase == phase for r in units)}
    if len(phases) != 3:
        return []
    fields = [_field(f"phase_{phase.lower()}_load_power", watts) for phase, watts in phases.items()]
    mean = sum(phases.values()) / 3
    spread = max(phases.values()) - min(phases.values())
    fields.append(_field("phase_load_imbalance", round(100.0 * spread / mean, 1) if mean else 0.0))
    return fields


def totals(units: Mapping[int, ParallelStatus | None], rating: Reading | None = None) -> Reading:
    """The system reading of ``units`` (unit number -> this cycle's reading, None when it failed).

    ``rating`` is the host's QPIRI reading (its rated output power gives the system's load in %).
    """
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
        bus = _on_bus(answering)
        volts = _mean([r.battery_voltage_v for r in bus])
        fields += [
            _field("system_pv_power", round(sum(r.pv_power_w for r in answering), 1)),
            _field("system_load_power", sum(r.ac_output_active_power_w for r in answering)),
            _field("system_load_apparent_power", sum(r.ac_output_apparent_power_va for r in answering)),
            _field("system_battery_current", charge - discharge),
            _field("system_charge_power", round(volts * charge, 1)),
            _field("system_discharge_power", round(volts * discharge, 1)),
            _field("system_battery_charging_current", charge),
            _field("system_battery_discharge_current", discharge),
            _field("system_battery_power", round(volts * (charge - discharge), 1)),
            _field("system_battery_voltage", round(volts, 2)),
            _field("system_battery_capacity", round(_mean([r.battery_capacity_pct for r in bus]))),
            _field("system_pv_input_voltage", max(r.pv_input_voltage_v for r in answering)),
            _field("system_pv_input_current", round(sum(r.pv_input_current_a for r in answering), 1)),
        ]
        grid = _grid_power(answering)
        if grid is not None:
            fields.append(_field("system_grid_power", grid))
        load = _load_percent(answering, rating)
        if load is not None:
            fields.append(_field("system_ac_output_load", load))
        fields += _supply(answering)
        fields += _phase_loads(answering)
    return Reading(command=COMMAND, fields=tuple(fields), crc=CrcState.OK, payload="")
