"""Which commands may be sent, and how carefully: query, setting, dangerous or unknown.

Every command of PI30.md §3 and §4 is listed here by its exact wire syntax; anything else is
UNKNOWN, which callers treat as "do not send" (an undocumented command may be a setter). The
dangerous ones (PI30.md §4) change battery limits or what powers the loads: PF, PBT, PCVV, PBFT,
PSDV, PBCV, PBDV, F, POP, PCP and PE/PD of the protective flags b, u and v.

Syntax only: ``classify("PBCV99.9")`` is DANGEROUS because it is a well-formed PBCV; whether
99.9 V is allowed is :func:`solarmon.inverter.setters.validate_setting`'s question.
"""

from __future__ import annotations

import enum
import re

from solarmon.inverter.unit_settings import UNIT_FAMILIES
from solarmon.inverter.unit_settings import family_of as unit_family_of


class CommandClass(enum.Enum):
    """How a command is treated by the daemon and the web app."""

    QUERY = "query"
    SETTING = "setting"
    DANGEROUS = "dangerous"
    UNKNOWN = "unknown"


# QFLAG letters whose PE/PD switch protective behaviour (overload bypass, auto-restarts).
DANGEROUS_FLAGS = frozenset("buv")
# QFLAG letters a PE/PD may name (PI30.md §3).
FLAG_LETTERS = frozenset("abdjkluvxyz")

_QUERIES = (
    "QPIGS", "QPIGS2", "QPIRI", "QMOD", "QPIWS", "QFLAG", "QID", "QSID", "QVFW", "QVFW2", "QPI",
    "QDI", "QMCHGCR", "QMUCHGCR", "QBOOT", "QOPM", "QET", "QLT", "QMN",
    r"Q[EL]Y\d{4}", r"Q[EL]M\d{6}", r"Q[EL]D\d{8}", r"QPGS\d",
)
_VOLTAGE = r"\d\d\.\d"
_SETTERS: tuple[tuple[str, CommandClass], ...] = (
    (r"POP0\d", CommandClass.DANGEROUS),
    (r"PCP0\d", CommandClass.DANGEROUS),
    (r"PGR0\d", CommandClass.SETTING),
    (r"PBT\d\d", CommandClass.DANGEROUS),
    (r"PBCV" + _VOLTAGE, CommandClass.DANGEROUS),
    (r"PBDV" + _VOLTAGE, CommandClass.DANGEROUS),
    (r"PSDV" + _VOLTAGE, CommandClass.DANGEROUS),
    (r"PCVV" + _VOLTAGE, CommandClass.DANGEROUS),
    (r"PBFT" + _VOLTAGE, CommandClass.DANGEROUS),
    (r"F\d\d", CommandClass.DANGEROUS),
    (r"MCHGC\d{3}", CommandClass.SETTING),  # MCHGC<unit><nn> (unit_settings.py)
    (r"MNCHGC\d{4}", CommandClass.SETTING),  # MNCHGC<unit><nnn>: 100 A and more
    (r"MUCHGC\d{3,4}", CommandClass.SETTING),  # MUCHGC<unit><nn> / <unit><nnn>
    (r"PPCP\d0\d", CommandClass.DANGEROUS),  # PPCP<unit><nn>: one unit's charger priority
    (r"PF", CommandClass.DANGEROUS),
)
_QUERY_RE = re.compile("|".join(f"(?:{q})" for q in _QUERIES))
_SETTER_RES = tuple((re.compile(pattern), cls) for pattern, cls in _SETTERS)
_FLAG_RE = re.compile(r"P[ED]([a-z])")


def classify(command: str) -> CommandClass:
    """The class of the wire command ``command`` (exact syntax, case-sensitive)."""
    if _QUERY_RE.fullmatch(command):
        return CommandClass.QUERY
    flag = _FLAG_RE.fullmatch(command)
    if flag:
        letter = flag.group(1)
        if letter in DANGEROUS_FLAGS:
            return CommandClass.DANGEROUS
        return CommandClass.SETTING if letter in FLAG_LETTERS else CommandClass.UNKNOWN
    for pattern, cls in _SETTER_RES:
        if pattern.fullmatch(command):
            return cls
    return CommandClass.UNKNOWN


def is_setter(command: str) -> bool:
    """True for a well-formed setting command (SETTING or DANGEROUS)."""
    return classify(command) in (CommandClass.SETTING, CommandClass.DANGEROUS)


def family_allows(family: str, command: str) -> bool:
    """True when the ``allowed_settings`` entry ``family`` (``POP``, ``PE``, ``PEa``, ``F``, ``PF``)
    covers the wire command ``command``: the daemon's check, and the settings page's list."""
    if family in ("PE", "PD") or (len(family) == 3 and family[:2] in ("PE", "PD")):
        return command.startswith(family) and len(command) == 3
    if family == "PF":
        return command == "PF"
    if family == "F":
        return re.fullmatch(r"F\d{2}", command) is not None
    # A per-unit command (MNCHGC1120, PPCP101) belongs to its setting's family (MCHGC, PCP).
    if family in UNIT_FAMILIES and unit_family_of(command) == family:
        return True
    return command.startswith(family) and command[len(family):][:1].isdigit()
