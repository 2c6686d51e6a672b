"""The simulated inverter's settings (what QPIRI and QFLAG report) and the setter commands that change them.

Validation is not done here: :func:`solarmon.inverter.setters.validate_setting` is the one source
of truth for what a setter may carry, so the simulator NAKs exactly what the codec rejects. This
module only parses an already-valid command and applies it, and NAKs what it cannot apply
(e.g. a charging current that is not in the profile's QMCHGCR list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace

from solarmon.inverter import unit_settings
from solarmon.inverter.unit_settings import UnitSetting
from solarmon.simulator.profiles import Profile

# Setter prefixes, longest first so PBCV is not taken for a shorter one.
_FLOAT_SETTERS = {
    "PBCV": "recharge_v",
    "PBDV": "redischarge_v",
    "PSDV": "cutoff_v",
    "PCVV": "bulk_v",
    "PBFT": "float_v",
}
_INT_SETTERS = {
    "POP": "output_priority",
    "PCP": "charger_priority",
    "PGR": "input_range",
    "PBT": "battery_type",
}
_SETTER_RE = re.compile(
    r"^(PBCV|PBDV|PSDV|PCVV|PBFT|POP|PPCP|PCP|PGR|PBT|MUCHGC|MNCHGC|MCHGC|PE|PD|PF|F)(.*)$")


@dataclass(slots=True)
class Settings:
    """Everything a setter can change; names follow QPIRI's order."""

    output_voltage: float
    output_frequency: int
    recharge_v: float
    cutoff_v: float
    bulk_v: float
    float_v: float
    battery_type: int
    max_ac_charge_a: int
    max_charge_a: int
    input_range: int
    output_priority: int
    charger_priority: int
    output_mode: int
    redischarge_v: float
    pv_ok: int
    pv_balance: int
    max_cv_minutes: int
    operation_logic: int
    max_discharge_a: int
    flags: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def factory(cls, profile: Profile) -> Settings:
        """The profile's factory defaults (what ``PF`` restores and QDI reports)."""
        values = {f.name: profile.defaults[f.name] for f in fields(cls) if f.name != "flags"}
        enabled = str(profile.defaults["flags"])
        flags = {letter: letter in enabled for letter in profile.flag_letters}
        return cls(**values, flags=flags)

    @classmethod
    def for_site(cls, profile: Profile) -> Settings:
        """The settings the simulated owner chose: the factory defaults with the profile's site changes."""
        settings = cls.factory(profile)
        for name, value in profile.site.items():
            setattr(settings, name, value)
        return settings

    def copy(self) -> Settings:
        """An independent copy (the flags dict is not shared)."""
        return replace(self, flags=dict(self.flags))


def is_setter(command: str) -> bool:
    """True when ``command`` has the shape of a PI30 setting command (PI30.md §4)."""
    match = _SETTER_RE.match(command)
    if match is None:
        return False
    prefix, rest = match.groups()
    if prefix == "PF":
        return rest == ""
    if prefix in ("PE", "PD"):
        return rest.isalpha() and rest.islower()
    if prefix == "F":
        return rest.isdigit()
    return rest != ""


def apply_setter(settings: Settings, profile: Profile, command: str) -> str | None:
    """Apply an already-validated setter to ``settings``; None on success, else why it was NAKed."""
    match = _SETTER_RE.match(command)
    if match is None:
        return f"{command!r} is not a setting command"
    prefix, rest = match.groups()
    try:
        return _apply(settings, profile, prefix, rest)
    except ValueError as exc:
        return f"{command!r}: {exc}"


def _apply(settings: Settings, profile: Profile, prefix: str, rest: str) -> str | None:
    if prefix in _FLOAT_SETTERS:
        setattr(settings, _FLOAT_SETTERS[prefix], float(rest))
    elif prefix in _INT_SETTERS:
        setattr(settings, _INT_SETTERS[prefix], int(rest))
    elif prefix == "F":
        settings.output_frequency = int(rest)
    elif prefix in ("MCHGC", "MNCHGC", "MUCHGC", "PPCP"):
        found = unit_settings.parse(prefix + rest)
        if found is None:
            return f"{prefix}{rest}: not <unit><value>"
        if found.unit != 0:
            return f"no unit {found.unit}: a single unit is unit 0"
        return apply_unit_setting(settings, profile, found)
    elif prefix in ("PE", "PD"):
        unknown = [letter for letter in rest if letter not in settings.flags]
        if unknown:
            return f"flag(s) {''.join(unknown)!r} unknown to this firmware"
        for letter in rest:
            settings.flags[letter] = prefix == "PE"
    elif prefix == "PF":
        factory = Settings.factory(profile)
        for f in fields(Settings):
            setattr(settings, f.name, getattr(factory, f.name))
    return None


def apply_unit_setting(settings: Settings, profile: Profile, setting: UnitSetting) -> str | None:
    """Apply a per-unit setting (charging currents, charger priority) to one unit's ``settings``."""
    if setting.family == "MCHGC":
        if setting.value not in profile.charge_currents:
            return f"{setting.value} A is not in QMCHGCR {profile.charge_currents}"
        settings.max_charge_a = setting.value
    elif setting.family == "MUCHGC":
        if setting.value not in profile.utility_charge_currents:
            return f"{setting.value} A is not in QMUCHGCR {profile.utility_charge_currents}"
        settings.max_ac_charge_a = setting.value
    else:
        settings.charger_priority = setting.value
    return None
