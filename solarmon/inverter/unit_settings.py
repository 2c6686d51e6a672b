"""PI30 settings addressed to one unit of a parallel system (docs/PROTOCOLS-QPGS.md §4).

Parallel-capable PI30 firmware carries the unit ("parallel machine number", the ``n`` of
``QPGSn``) in the charging-current and charger-priority setters:

- ``MCHGC<u><nn>``: max charging current of unit u, below 100 A (``MCHGC160``: unit 1, 60 A);
- ``MNCHGC<u><nnn>``: the same, three digits, for 100 A and more (``MNCHGC1120``);
- ``MUCHGC<u><nn>`` / ``MUCHGC<u><nnn>``: max utility charging current of unit u;
- ``PPCP<u><nn>``: charger source priority of unit u (``PCP<nn>`` has no unit).

A single unit is unit 0, so ``MCHGC040`` is 40 A there. This module parses and builds these
commands; which values a unit allows is :mod:`solarmon.inverter.setters`' question. Output mode
(``POPM``) is not offered: its public descriptions disagree on whether it carries a unit digit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

MAX_UNIT = 8  # QPGS0..QPGS8
# Setting family (the allowed_settings name and the single-unit prefix) -> catalog key of its value,
# the same key in QPIRI (the unit on the cable) and in QPGSn (every unit).
UNIT_FAMILIES: Mapping[str, str] = MappingProxyType({
    "MCHGC": "max_charging_current",
    "MUCHGC": "max_ac_charging_current",
    "PCP": "charger_source_priority",
})
_PATTERNS = (
    (re.compile(r"MNCHGC(\d)(\d{3})"), "MCHGC"),
    (re.compile(r"MCHGC(\d)(\d{2})"), "MCHGC"),
    (re.compile(r"MUCHGC(\d)(\d{2,3})"), "MUCHGC"),
    (re.compile(r"PPCP(\d)(\d{2})"), "PCP"),
)
_PLAIN_PCP = re.compile(r"PCP(\d{2})")


@dataclass(frozen=True, slots=True)
class UnitSetting:
    """One per-unit setting: its family (MCHGC, MUCHGC, PCP), the unit and the value (A or code)."""

    family: str
    unit: int
    value: int

    @property
    def key(self) -> str:
        """The catalog key holding this setting's value."""
        return UNIT_FAMILIES[self.family]

    def command(self) -> str:
        """The wire command."""
        return build(self.family, self.unit, self.value)

    def for_unit(self, unit: int) -> UnitSetting:
        """The same setting addressed to ``unit``."""
        return UnitSetting(self.family, unit, self.value)


def build(family: str, unit: int, value: int) -> str:
    """The wire command setting ``family`` to ``value`` on ``unit`` (ValueError when it cannot)."""
    if not 0 <= unit <= 9:
        raise ValueError(f"unit {unit!r} is not one digit")
    if family == "PCP":
        if not 0 <= value <= 99:
            raise ValueError(f"charger priority {value!r} is not a two-digit code")
        return f"PPCP{unit}{value:02d}"
    if family not in ("MCHGC", "MUCHGC") or not 0 <= value <= 999:
        raise ValueError(f"{family}: {value!r} cannot be sent")
    if value < 100:
        return f"{family}{unit}{value:02d}"
    return f"MNCHGC{unit}{value:03d}" if family == "MCHGC" else f"MUCHGC{unit}{value:03d}"


def parse(command: str) -> UnitSetting | None:
    """The per-unit setting ``command`` carries, or None for any other command.

    ``PCP<nn>`` (no unit) is read as unit 0's, the unit a single inverter is.
    """
    for pattern, family in _PATTERNS:
        match = pattern.fullmatch(command)
        if match:
            return UnitSetting(family, int(match.group(1)), int(match.group(2)))
    plain = _PLAIN_PCP.fullmatch(command)
    if plain:
        return UnitSetting("PCP", 0, int(plain.group(1)))
    return None


def addressed(command: str) -> UnitSetting | None:
    """The per-unit setting of a command that carries a unit digit (not plain ``PCP<nn>``), else None."""
    return None if _PLAIN_PCP.fullmatch(command) else parse(command)


def family_of(command: str) -> str | None:
    """The allowed_settings family of a per-unit command (MNCHGC0120 -> MCHGC), else None."""
    found = parse(command)
    return found.family if found is not None else None
