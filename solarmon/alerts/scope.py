"""What the rules see of a source: what a parallel / three-phase system's units share, once, not per unit.

A system (docs/SYSTEMS.md) is a device of its own, carrying the system's values, and one device per
unit. The units share one battery: each unit's ``battery_voltage`` and ``battery_capacity`` are its
reading of the same bank. The units of a *parallel* system also share one grid: each unit's
``ac_input_voltage`` and ``ac_input_frequency`` are its reading of the same supply. So a rule on what
is shared (``battery_low``, ``battery_near_cutoff``, ``grid_lost``, a user's rule on those keys) sees
the system's value (``system_battery_voltage``, ``system_ac_input_voltage``... under the single-unit
key: :data:`solarmon.inverter.system.SHARED_BATTERY` and :data:`~solarmon.inverter.system.SHARED_GRID`)
on the system's device, and nothing on its units: one alert per battery, one per grid. A three-phase
system's phases are grids of their own (one can drop alone): there each unit keeps its grid values,
and the grid rules watch each unit's phase (:func:`solarmon.inverter.system.one_grid`). While the
system withholds its values (a unit missing) the key is absent and the rule waits, as for any missing
value. Every other value stays the unit's own, so the unit-level rules (fault bits, Fault mode, a
unit's data age) still watch each unit, and ``system_unit_missing`` the system.

No threads, no I/O; which source is a unit of a system is the caller's to say (the web app knows
its systems: solarmon/web/systems.py), so this library imports nothing of the web app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from solarmon.inverter.system import SHARED_BATTERY, SHARED_GRID, SYSTEM_KEY, one_grid


def shared_keys(values: Mapping[str, Any], *, unit_of_system: bool) -> dict[str, str]:
    """The single-unit keys of one source that stand for what its system shares -> the system value
    that gives it: the battery on a system's device or unit, and the grid too on a parallel one; none
    on any other source."""
    if SYSTEM_KEY not in values and not unit_of_system:
        return {}
    return {**SHARED_BATTERY, **(SHARED_GRID if one_grid(values) else {})}


def rule_values(values: Mapping[str, Any], units: Mapping[str, str], *,
                unit_of_system: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, units) of one source as the rules read them.

    On a system's own device (it carries ``system_units_expected``) each shared key
    (:func:`shared_keys`) holds the system's value, or is absent while the system withholds it; on a
    unit of a system (``unit_of_system``) the shared keys are left out; any other source is
    unchanged."""
    seen = dict(values)
    seen_units = dict(units)
    shared = shared_keys(values, unit_of_system=unit_of_system)
    for key in shared:
        seen.pop(key, None)
    if SYSTEM_KEY in values:
        for key, system_key in shared.items():
            seen_units.pop(key, None)
            if system_key in values:
                seen[key] = values[system_key]
                if system_key in units:
                    seen_units[key] = units[system_key]
    return seen, seen_units
