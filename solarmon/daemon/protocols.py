"""What the daemon does per protocol (PI30, PI18), and ``protocol = auto``: asking a unit what it speaks.

A :class:`ProtocolSpec` names the commands of a cycle (live values, mode, warnings), the slow ones
(ratings, flags), how a command is classified and a setting checked: the worker and the control
actions read it instead of hard-coding PI30. :func:`detect` asks a fresh unit, queries only:
PI30's ``QPI`` first (a PI18 unit ignores or refuses a ``Q`` frame), then PI18's ``^P005PI``; a
PI30 unit is then asked ``QPIRI`` (28 fields: a MAX) and ``QPGS0`` (a valid answer: a parallel
system). Nothing is set until a protocol is known, so a wrong guess cannot send a setting; the
result is logged and written next to the section's .prom file as ``mpp-solar-<section>.detected.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solarmon.inverter import policy, setters
from solarmon.inverter.errors import InverterError
from solarmon.inverter.parallel import ParallelStatus
from solarmon.inverter.pi18 import policy as pi18_policy
from solarmon.inverter.policy import CommandClass
from solarmon.inverter.readings import CurrentOptions, Reading

LOG = logging.getLogger(__name__)


def _pi18_validate(command: str, ratings: Reading | None, currents: Iterable[Reading] | None) -> str:
    lists: dict[str, Any] = {}
    for reading in currents or ():
        if isinstance(reading, CurrentOptions):
            lists.update({field.key: list(reading.options_a) for field in reading.fields})
    return pi18_policy.validate_setting(command, ratings.as_dict() if ratings is not None else None, lists)


@dataclass(frozen=True)
class ProtocolSpec:
    """The commands and rules of one protocol, as the worker and the control actions use them."""

    name: str
    live: str  # the default live-values query (config's QPIGS maps to it)
    every_cycle: tuple[str, ...]
    slow: tuple[str, ...]  # ratings first, then flags
    classify: Callable[[str], CommandClass]
    validate: Callable[[str, Reading | None, Any], str]
    current_lists: Mapping[str, str] = field(default_factory=dict)  # setter prefix -> its list query
    identity: tuple[str, ...] = ()  # serial, firmware, model: read at start and every settings_interval

    @property
    def ratings(self) -> str:
        """The ratings query (QPIRI / PIRI)."""
        return self.slow[0]


PI30 = ProtocolSpec("pi30", "QPIGS", ("QMOD", "QPIWS"), ("QPIRI", "QFLAG"), policy.classify,
                    lambda command, ratings, currents: setters.validate_setting(
                        command, ratings=ratings, currents=currents),
                    {"MCHGC": "QMCHGCR", "MUCHGC": "QMUCHGCR"}, ("QID", "QVFW", "QMN"))
PI18 = ProtocolSpec("pi18", "GS", ("MOD", "FWS"), ("PIRI", "FLAG"), pi18_policy.classify, _pi18_validate,
                    {"MCHGC": "MCHGCR", "MUCHGC": "MUCHGCR"}, ("ID", "VFW"))
SPECS = {"pi30": PI30, "pi30max": PI30, "pi18": PI18}


def spec_for(protocol: str) -> ProtocolSpec | None:
    """The spec of a configured protocol; None for ``auto`` (not known yet)."""
    return SPECS.get(protocol)


def is_query(command: str) -> bool:
    """True for a query of either protocol (what a section's ``command`` may list)."""
    return CommandClass.QUERY in (policy.classify(command), pi18_policy.classify(command))


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found."""

    protocol: str | None  # pi30, pi18, or None (nothing answered)
    protocol_id: str = ""
    max_unit: bool = False  # PI30 with a 28-field QPIRI
    parallel: bool = False  # QPGS0 answered as a valid member of a parallel system
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"protocol": self.protocol, "protocol_id": self.protocol_id, "max_unit": self.max_unit,
                "parallel": self.parallel, "notes": list(self.notes)}


def detect(pi30: Callable[[str], Reading], pi18: Callable[[str], Reading]) -> Detection:
    """Ask a unit what it speaks, with queries only (``pi30`` / ``pi18`` send one query each way)."""
    notes = []
    try:
        answer = pi30("QPI").get("protocol_id")
    except InverterError as exc:
        notes.append(f"QPI: {exc.kind}")
        answer = None
    if isinstance(answer, str) and answer.startswith("PI3"):
        max_unit = parallel = False
        try:
            max_unit = len(pi30("QPIRI").payload.split()) >= 28
        except InverterError as exc:
            notes.append(f"QPIRI: {exc.kind}")
        try:
            reading = pi30("QPGS0")
            parallel = isinstance(reading, ParallelStatus) and reading.valid
        except InverterError as exc:
            notes.append(f"QPGS0: {exc.kind}")
        return Detection("pi30", answer, max_unit, parallel, tuple(notes))
    try:
        answer = pi18("PI").get("protocol_id")
    except InverterError as exc:
        notes.append(f"^P005PI: {exc.kind}")
        answer = None
    if answer == "PI18":
        return Detection("pi18", answer, notes=tuple(notes))
    return Detection(None, str(answer or ""), notes=tuple(notes))


def write_detection(path: Path, section: str, found: Detection) -> None:
    """Log ``found`` and write it to ``path`` (JSON)."""
    LOG.info("[%s] protocol = auto: %s", section, json.dumps(found.as_dict()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"section": section, **found.as_dict()}, indent=2) + "\n", encoding="utf-8")
