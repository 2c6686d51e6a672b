"""Parallel and three-phase systems as the pages see them: the ``system`` block of /api/data.

The daemon writes a system section (``parallel = auto|N``) as the section's own device, carrying
the system values (``system_units_expected``..., the totals only while every unit answered, and
per-phase loads for three-phase), and each unit as its own device ``<section>-unit<n>``
(solarmon/daemon/units.py). This module puts them together once, here, so the browser renders a
declared shape and never re-derives a rule:

- which devices are the units of which system (:func:`units_of`, by the daemon's label rule);
- per unit: up or not answering (its file's ``up``), phase L1/L2/L3 or parallel (its output mode
  code, solarmon/inverter/parallel.py ``PHASES``), work mode, fault, load %, load power, its battery
  charge and discharge current;
- the system's power flow (PV, load, battery, grid): the daemon's system values, mapped, never
  re-derived here (the grid import too: solarmon/inverter/system.py adds up each unit's
  catalog.derive estimate), only while ``system_totals_complete``: a total over fewer units would
  be wrong, so with a unit missing ``flow`` is empty and ``missing`` names it;
- the dashboard's tiles (battery, solar, load, grid): the daemon's system values
  (solarmon/inverter/system.py computes them, once) under the single-unit keys the tiles read, each
  null while withheld; three-phase voltages per phase; and the tiles no system can fill
  (``unreported``: QPIGS-only values that QPGSn does not carry); and which system value each flow
  and tile key shows (``keys``), for the history a page charts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from solarmon.inverter import system
from solarmon.inverter.parallel import PHASES
from solarmon.inverter.tables import OUTPUT_MODES
from solarmon.web.state import SourceSnapshot, inverter_source

UNIT_RE = re.compile(r"^(?P<system>.+)-unit(?P<number>[0-9])$")
SYSTEM_KEY = system.SYSTEM_KEY  # present on a system's own device, and only there
# Output mode text -> phase (the catalog's enum text, the code's phase in parallel.PHASES).
PHASE_OF_MODE = {OUTPUT_MODES[code]: phase for code, phase in PHASES.items()}
PHASE_KEYS = {"L1": "phase_l1_load_power", "L2": "phase_l2_load_power", "L3": "phase_l3_load_power"}
NO_FAULT = "No fault"
# The power flow of a system: flow key (the single-unit derived key) -> the daemon's system value
# (solarmon/inverter/system.py computes each once, the grid import from catalog.derive per unit).
FLOW_KEYS = {"pv_power_total": "system_pv_power", "load_power": "system_load_power",
             "battery_power": "system_battery_power", "grid_power": "system_grid_power"}
# The dashboard's tiles of a system: tile key (the single-unit key it reads) -> the daemon's system
# value (solarmon/inverter/system.py). battery_capacity is the SoC bar's.
TILE_KEYS = {**system.SHARED_BATTERY,
             "battery_charging_current": "system_battery_charging_current",
             "battery_discharge_current": "system_battery_discharge_current",
             "pv_input_voltage": "system_pv_input_voltage",
             "pv_input_current_for_battery": "system_pv_input_current",
             "ac_output_active_power": "system_load_power",
             "ac_output_apparent_power": "system_load_apparent_power",
             "ac_output_load": "system_ac_output_load",
             "ac_output_voltage": "system_ac_output_voltage",
             "ac_output_frequency": "system_ac_output_frequency",
             "ac_input_voltage": "system_ac_input_voltage",
             "ac_input_frequency": "system_ac_input_frequency"}
# A three-phase system's voltages: one per phase (``phase_l1_<tile>``...), never a mean over phases.
PHASE_TILES = ("ac_output_voltage", "ac_input_voltage")
# The single-unit tiles no system can fill: QPIGS values of one unit that QPGSn does not carry
# (a system's units are read by QPGSn only; the host's own would not be the system's).
UNREPORTED = ("inverter_heat_sink_temperature", "bus_voltage", "battery_voltage_from_scc")


def units_of(devices: Iterable[str]) -> dict[str, list[str]]:
    """System device -> its unit devices (``<system>-unit<n>``, by unit number) among ``devices``.

    Only systems that are themselves in ``devices`` count: a section merely named ``x-unit1`` with
    no ``x`` beside it is an ordinary inverter."""
    names = list(devices)
    found: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        match = UNIT_RE.match(name)
        if match and match["system"] in names:
            found.setdefault(match["system"], []).append((int(match["number"]), name))
    return {system: [name for _n, name in sorted(units)] for system, units in found.items()}


def _number(values: Mapping[str, Any], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _unit(device: str, snap: SourceSnapshot | None) -> dict[str, Any]:
    """One unit of the strip: up, phase, mode, fault, load."""
    values = snap.values if snap is not None else {}
    up = snap is not None and snap.health.ok and snap.fresh and bool(values)
    mode = values.get("output_mode")
    fault = values.get("fault_code")
    return {
        "device": device,
        "source": inverter_source(device),
        "number": int(UNIT_RE.match(device)["number"]),  # type: ignore[index]
        "up": up,
        "phase": PHASE_OF_MODE.get(str(mode)) if mode is not None else None,
        "output_mode": mode,
        "mode": values.get("device_mode"),
        "fault": fault if fault not in (None, NO_FAULT) else None,
        "load_percent": _number(values, "ac_output_load"),
        "load_power": _number(values, "load_power"),
        "pv_power": _number(values, "pv_power_total"),
        "battery_power": _number(values, "battery_power"),
        # Its own charger's share of the shared battery's current (the /battery page's unit list).
        "battery_charging_current": _number(values, "battery_charging_current"),
        "battery_discharge_current": _number(values, "battery_discharge_current"),
        "error": None if up else (snap.health.error if snap is not None and snap.health.error
                                  else "not answering"),
    }


def _tiles(values: Mapping[str, Any], complete: bool, three_phase: bool) -> dict[str, Any]:
    """Every system tile: a number, {"L1": .., "L2": .., "L3": ..} for a three-phase voltage, or None
    while withheld (a unit missing, or no rating yet for the load %)."""
    tiles: dict[str, Any] = {}
    for tile, key in TILE_KEYS.items():
        value: Any = _number(values, key) if complete else None
        if three_phase and tile in PHASE_TILES:
            phases = {phase: _number(values, f"phase_{phase.lower()}_{tile}")
                      for phase in PHASE_KEYS}
            value = phases if complete and None not in phases.values() else None
        tiles[tile] = value
    return tiles


def history_keys(three_phase: bool) -> dict[str, str]:
    """Flow and tile key -> the system value it shows, the key of the system's history (a page's
    charts of a system ask /api/historical for these); a three-phase voltage has none (per phase)."""
    return {**FLOW_KEYS, **{tile: key for tile, key in TILE_KEYS.items()
                            if not (three_phase and tile in PHASE_TILES)}}


def describe(device: str, snap: SourceSnapshot, units: list[str],
             snapshots: Mapping[str, SourceSnapshot]) -> dict[str, Any] | None:
    """The ``system`` block of the system device ``device`` (None when it is not a system).

    ``flow`` holds the power-flow values (the keys the single-unit flow uses: ``pv_power_total``,
    ``load_power``, ``battery_power``, ``grid_power``: the daemon's system values of
    :data:`FLOW_KEYS`) only while every unit answered. ``tiles`` has every tile key of
    :data:`TILE_KEYS`, each None while withheld."""
    values = snap.values
    if SYSTEM_KEY not in values:
        return None
    strip = [_unit(unit, snapshots.get(inverter_source(unit))) for unit in units]
    complete = bool(values.get("system_totals_complete")) and all(u["up"] for u in strip)
    flow = {key: value for key, system_key in FLOW_KEYS.items()
            if complete and (value := _number(values, system_key)) is not None}
    phases = {phase: watts for phase, key in PHASE_KEYS.items()
              if (watts := _number(values, key)) is not None}
    three_phase = any(u["phase"] for u in strip)
    return {
        "layout": "three-phase" if three_phase else "parallel",
        "units": strip,
        "expected": int(_number(values, "system_units_expected") or 0),
        "answering": int(_number(values, "system_units_answering") or 0),
        "faulted": int(_number(values, "system_units_faulted") or 0),
        "totals_complete": complete,
        "missing": [u["device"] for u in strip if not u["up"]],
        "flow": flow,
        "tiles": _tiles(values, complete, three_phase),
        "unreported": list(UNREPORTED),
        "keys": history_keys(three_phase),
        "phases": phases if complete and len(phases) == 3 else {},
        "imbalance_percent": _number(values, "phase_load_imbalance") if complete else None,
    }


def member_of(device: str, systems: Mapping[str, list[str]]) -> str | None:
    """The system ``device`` is a unit of, or None."""
    return next((system for system, units in systems.items() if device in units), None)
