"""PI18 commands: which may be sent and how carefully, and the check of a setting's value.

The same verdicts as PI30's :mod:`solarmon.inverter.policy` (query, setting, dangerous, unknown;
anything not listed is UNKNOWN and is never sent) and the same refusal
(:class:`SettingRejected`, naming the setting, the value and what is allowed) as
:func:`solarmon.inverter.setters.validate_setting`. Dangerous (confirm needed): output and
charger source priority, battery type, every battery voltage, and the grid-tie switch (PEI/PDI).

Voltage ranges are PROTOCOLS-PI18.md §4's for 48 V units; for a unit of another class they scale
with its rated battery voltage (PIRI), and without PIRI a voltage setting is refused rather than
guessed. MCHGC / MUCHGC take only a value from the unit's MCHGCR / MUCHGCR list, and a unit
number below the PIRI parallel maximum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from solarmon.inverter import tables_pi18 as tables
from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.policy import CommandClass

_QUERY = re.compile(r"(?:PI|ID|VFW|GS|PIRI|MOD|FWS|FLAG|ET|MCHGCR|MUCHGCR|EY\d{4}|EM\d{6}|ED\d{8})")
_SETTERS: tuple[tuple[re.Pattern[str], CommandClass], ...] = tuple(
    (re.compile(pattern), cls) for pattern, cls in (
        (r"POP[01]", CommandClass.DANGEROUS),
        (r"PSP[01]", CommandClass.SETTING),
        (r"PEI|PDI", CommandClass.DANGEROUS),
        (r"PCP\d,[012]", CommandClass.DANGEROUS),
        (r"MCHGC\d,\d{3}", CommandClass.SETTING),
        (r"MUCHGC\d,\d{3}", CommandClass.SETTING),
        (r"PBT[012]", CommandClass.DANGEROUS),
        (r"MCHGV\d{3},\d{3}", CommandClass.DANGEROUS),
        (r"PSDV\d{3}", CommandClass.DANGEROUS),
        (r"BUCD\d{3},\d{3}", CommandClass.DANGEROUS),
    ))
# 48 V ranges in tenths of a volt (PROTOCOLS-PI18.md §4).
_CHARGE_TENTHS = (480, 584)
_CUTOFF_TENTHS = (400, 480)
_STOP_DISCHARGE_TENTHS = (440, 510)
_STOP_CHARGE_TENTHS = (480, 580)
_CURRENT_LISTS = {"MCHGC": "max_charging_current_options", "MUCHGC": "max_utility_charging_current_options"}


def classify(command: str) -> CommandClass:
    """The class of the PI18 command ``command`` (without its ``^P005`` header; exact syntax)."""
    if _QUERY.fullmatch(command):
        return CommandClass.QUERY
    for pattern, cls in _SETTERS:
        if pattern.fullmatch(command):
            return cls
    return CommandClass.UNKNOWN


def is_setter(command: str) -> bool:
    """True for a well-formed PI18 setting command (SETTING or DANGEROUS)."""
    return classify(command) in (CommandClass.SETTING, CommandClass.DANGEROUS)


def _rated(ratings: Mapping[str, Any] | None, key: str) -> Any:
    if ratings is None:
        return None
    if hasattr(ratings, "get") and not isinstance(ratings, Mapping):
        return ratings.get(key)  # a Reading
    return ratings.get(key)


def _scale(ratings: Mapping[str, Any] | None, what: str) -> float:
    rated = _rated(ratings, "rated_battery_voltage")
    if not isinstance(rated, int | float) or round(rated) not in (12, 24, 48):
        raise SettingRejected(f"{what}: the unit's battery class is unknown (read PIRI first); "
                              "a voltage is not sent without it")
    return round(rated) / 48


def _in_range(what: str, tenths: int, bounds: tuple[int, int], scale: float) -> None:
    low, high = round(bounds[0] * scale), round(bounds[1] * scale)
    if not low <= tenths <= high:
        raise SettingRejected(f"{what}: {tenths / 10:.1f} V is outside {low / 10:.1f}-{high / 10:.1f} V")


def _current(prefix: str, unit: int, amps: int, ratings: Mapping[str, Any] | None,
             currents: Mapping[str, Iterable[int]] | None) -> None:
    units = _rated(ratings, "max_parallel_units")
    if isinstance(units, int) and units > 0 and unit >= max(units, 1):
        raise SettingRejected(f"{prefix}: unit {unit} is not below the parallel maximum {units}")
    allowed = None if currents is None else currents.get(_CURRENT_LISTS[prefix])
    if isinstance(allowed, str):
        allowed = [int(a) for a in allowed.split()]
    if allowed is None:
        raise SettingRejected(f"{prefix}: the unit's allowed currents are unknown (read "
                              f"{prefix}R first)")
    if amps not in set(allowed):
        raise SettingRejected(f"{prefix}: {amps} A is not one of {sorted(set(allowed))} A")


def validate_setting(command: str, ratings: Mapping[str, Any] | None = None,
                     currents: Mapping[str, Iterable[int]] | None = None) -> str:
    """Check a PI18 setting such as "MCHGV552,540" and return it; raise SettingRejected if not allowed.

    ``ratings``: PIRI's values (``as_dict()``); ``currents``: ``{"max_charging_current_options":
    [10, 20...], "max_utility_charging_current_options": [...]}`` (MCHGCR / MUCHGCR).
    """
    text = command.strip()
    verdict = classify(text)
    if verdict is CommandClass.QUERY:
        raise SettingRejected(f"{text!r} is a query, not a setting")
    if verdict is CommandClass.UNKNOWN:
        raise SettingRejected(f"{text!r} is not a known PI18 setting command")
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if text.startswith("MCHGV"):
        scale = _scale(ratings, "bulk/float voltage (MCHGV)")
        bulk, floating = numbers
        _in_range("bulk voltage (MCHGV)", bulk, _CHARGE_TENTHS, scale)
        _in_range("float voltage (MCHGV)", floating, _CHARGE_TENTHS, scale)
        if floating > bulk:
            raise SettingRejected(f"MCHGV: float {floating / 10:.1f} V is above bulk {bulk / 10:.1f} V")
    elif text.startswith("PSDV"):
        _in_range("cut-off voltage (PSDV)", numbers[0], _CUTOFF_TENTHS, _scale(ratings, "PSDV"))
    elif text.startswith("BUCD"):
        scale = _scale(ratings, "BUCD")
        stop_discharge, stop_charge = numbers
        _in_range("stop-discharge voltage (BUCD)", stop_discharge, _STOP_DISCHARGE_TENTHS, scale)
        if stop_charge != 0:
            _in_range("stop-charge voltage (BUCD)", stop_charge, _STOP_CHARGE_TENTHS, scale)
            if stop_charge <= stop_discharge:
                raise SettingRejected("BUCD: the stop-charge voltage must be above the stop-discharge "
                                      "voltage")
    elif text.startswith(("MCHGC", "MUCHGC")):
        prefix = "MUCHGC" if text.startswith("MUCHGC") else "MCHGC"
        _current(prefix, numbers[0], numbers[1], ratings, currents)
    elif text.startswith("PBT") and numbers[0] not in tables.BATTERY_TYPES:  # pragma: no cover - regex
        raise SettingRejected(f"PBT: {numbers[0]} is not a battery type")
    return text
