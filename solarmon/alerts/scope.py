"""What the rules see of a source: a parallel / three-phase system's shared battery once, not per unit.

A system (docs/SYSTEMS.md) is a device of its own, carrying the system's values, and one device per
unit. The units share one battery: each unit's ``battery_voltage`` and ``battery_capacity`` are its
reading of the same bank. So a rule on the battery (``battery_low``, ``battery_near_cutoff``, a
user's rule on those keys) sees the system's value (``system_battery_voltage``... under the
single-unit key: :data:`solarmon.inverter.system.SHARED_BATTERY`) on the system's device, and nothing
on its units: one alert per battery. While the system withholds its values (a unit missing) the key
is absent and the rule waits, as for any missing value. Every other value stays the unit's own, so
the unit-level rules (fault bits, Fault mode, a unit's data age) still watch each unit, and
``system_unit_missing`` the system.

No threads, no I/O; which source is a unit of a system is the caller's to say (the web app knows
its systems: solarmon/web/systems.py), so this library imports nothing of the web app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from solarmon.inverter.system import SHARED_BATTERY, SYSTEM_KEY


def rule_values(values: Mapping[str, Any], units: Mapping[str, str], *,
                unit_of_system: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, units) of one source as the rules read them.

    On a system's own device (it carries ``system_units_expected``) each shared battery key holds the
    system's value, or is absent while the system withholds it; on a unit of a system
    (``unit_of_system``) the shared battery keys are left out; any other source is unchanged."""
    seen = dict(values)
    seen_units = dict(units)
    if SYSTEM_KEY in values:
        for key, system_key in SHARED_BATTERY.items():
            seen.pop(key, None)
            seen_units.pop(key, None)
            if system_key in values:
                seen[key] = values[system_key]
                if system_key in units:
                    seen_units[key] = units[system_key]
    elif unit_of_system:
        for key in SHARED_BATTERY:
            seen.pop(key, None)
    return seen, seen_units
