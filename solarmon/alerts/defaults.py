"""The built-in alert rules: what a household on batteries wants to hear about out of the box.

Written as the same mappings a user writes in web.yaml and parsed by the same parser, so a
default is validated exactly like a user's rule. `alerts.defaults` in web.yaml turns them off
(`false`), one off (`battery_low: false`) or changes keys of one (`battery_low: {below: 30}`); a
user rule with the same name replaces the default.

Value keys are the daemon's metric names as the web app reads them (docs/INTERFACES.md):
`battery_under_voltage` is QPIRI's cut-off, `faults_active` the number of QPIWS bits that are
faults, `device_mode` QMOD's mode name; the source `forecast` is the battery outlook
(solarmon/forecast/service.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from solarmon.alerts.rules import FIRE_KINDS, AlertConfigError, Rule, parse_rules

STALE_AFTER_S = 600  # no fresh inverter reading for 10 minutes: the monitor has lost the inverter

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "battery_low", "metric": "battery_capacity", "below": 20, "for_s": 60, "hysteresis": 10,
     "severity": "warning", "message": "Battery low: {value}{unit} on {device}"},
    {"name": "battery_near_cutoff", "metric": "battery_voltage",
     "below": "battery_under_voltage + 1.5", "for_s": 30, "hysteresis": 1.0, "severity": "critical",
     "message": "Battery at {value}{unit} on {device}, near the cut-off ({threshold} V): the "
                "inverter will switch the load off soon"},
    {"name": "inverter_fault_bits", "metric": "faults_active", "above": 0, "severity": "critical",
     "message": "Inverter {device} reports {value} fault(s): {faults}"},
    {"name": "inverter_mode_fault", "metric": "device_mode", "equals": "Fault", "severity": "critical",
     "message": "Inverter {device} is in Fault mode"},
    # Off-grid houses never see the grid: only a grid that was there can be lost (arm_on_clear).
    {"name": "grid_lost", "metric": "ac_input_voltage", "below": 90, "for_s": 10,
     "clear": {"above": 180, "for_s": 30}, "arm_on_clear": True, "severity": "warning",
     "message": "Grid lost on {device} (input {value}{unit})"},
    {"name": "inverter_data_stale", "metric": "data_age_s", "above": STALE_AFTER_S,
     "severity": "critical",
     "message": "No fresh reading from inverter {device} for {value} s: is the daemon running?"},
    # Predictive (solarmon/forecast/service.py): the battery outlook reaches the cut-off before the
    # sun is back. The forecast part sets the value only in the evening, while there is time to act.
    {"name": "battery_cutoff_before_sunrise", "metric": "cutoff_before_sunrise", "source": "forecast",
     "above": 0.5, "severity": "warning",
     "message": "The battery is projected to reach the low-voltage cut-off before sunrise: use less "
                "tonight or charge it (see /forecast)"},
    # A parallel / three-phase system (docs/SYSTEMS.md): a unit off the bus; its system totals are
    # withdrawn meanwhile. A faulted unit fires inverter_mode_fault on its own device.
    {"name": "system_unit_missing", "metric": "system_units_answering", "below": "system_units_expected",
     "for_s": 30, "severity": "critical",
     "message": "System {device}: only {value} of {threshold} units answering (system totals withheld)"},
    {"name": "heat_sink_hot", "metric": "inverter_heat_sink_temperature", "above": 75, "for_s": 60,
     "hysteresis": 5, "severity": "warning", "message": "Inverter {device} heat sink at {value}{unit}"},
    # A BMS (type = jkbms|dalybms; docs/BMS.md): its values carry the BMS catalog's keys. The cell
    # limits suit LiFePO4 (3.65 V full, 2.5 V empty): change them for other chemistries.
    {"name": "bms_cell_high", "metric": "cell_voltage_max", "above": 3.60, "for_s": 10, "hysteresis": 0.05,
     "severity": "warning", "message": "Battery {device}: a cell at {value}{unit}, over {threshold} V"},
    {"name": "bms_cell_low", "metric": "cell_voltage_min", "below": 2.90, "for_s": 30, "hysteresis": 0.1,
     "severity": "critical", "message": "Battery {device}: a cell at {value}{unit}, under {threshold} V"},
    {"name": "bms_cell_spread", "metric": "cell_voltage_delta", "above": 0.10, "for_s": 300,
     "hysteresis": 0.03, "severity": "warning",
     "message": "Battery {device}: cells {value}{unit} apart (over {threshold} V): the balancer lags"},
    {"name": "bms_temperature", "metric": "temperature_max", "above": 50, "for_s": 60, "hysteresis": 5,
     "severity": "warning", "message": "Battery {device} at {value}{unit}"},
    {"name": "bms_protection", "metric": "protections_active", "above": 0, "severity": "critical",
     "message": "Battery {device}: the BMS reports {value} protection(s): {faults}"},
)


def default_rules(overrides: Any = True, *, where: str = "alerts.defaults") -> list[Rule]:
    """The built-in rules after `overrides` (True: all as shipped; False: none; a mapping per name)."""
    if overrides is True or overrides is None:
        overrides = {}
    if overrides is False:
        return []
    if not isinstance(overrides, Mapping):
        raise AlertConfigError(f"{where}: must be true, false or a mapping of default rule names")
    known = {item["name"] for item in DEFAULT_RULES}
    unknown = sorted(set(map(str, overrides)) - known)
    if unknown:
        raise AlertConfigError(f"{where}: no built-in rule named {', '.join(unknown)} "
                               f"(built-in: {', '.join(sorted(known))})")
    items = []
    for item in DEFAULT_RULES:
        change = overrides.get(item["name"], True)
        if change is False:
            continue
        merged = copy.deepcopy(item)
        if isinstance(change, Mapping):
            if "name" in change:
                raise AlertConfigError(f"{where}.{item['name']}: a built-in rule cannot be renamed")
            # A new condition replaces the shipped one rather than adding a second.
            if any(k in change for k in FIRE_KINDS):
                for kind in FIRE_KINDS:
                    merged.pop(kind, None)
            if "clear" in change:
                merged.pop("hysteresis", None)
            if "hysteresis" in change:
                merged.pop("clear", None)
            merged.update(change)
        elif change is not True:
            raise AlertConfigError(f"{where}.{item['name']}: must be true, false or a mapping of keys")
        items.append(merged)
    return parse_rules(items, where=where, builtin=True)
