"""policy.classify: every command of PI30.md §3-§4 in its class, everything else UNKNOWN."""

from __future__ import annotations

import pytest

from solarmon.inverter.policy import CommandClass, classify, is_setter

QUERY = CommandClass.QUERY
SETTING = CommandClass.SETTING
DANGEROUS = CommandClass.DANGEROUS
UNKNOWN = CommandClass.UNKNOWN


@pytest.mark.parametrize(
    "command",
    ["QPIGS", "QPIGS2", "QPIRI", "QMOD", "QPIWS", "QFLAG", "QID", "QSID", "QVFW", "QVFW2", "QPI",
     "QDI", "QMCHGCR", "QMUCHGCR", "QBOOT", "QOPM", "QET", "QEY2024", "QEM202403", "QED20240315",
     "QLT", "QLY2024", "QLM202403", "QLD20240315"],
)
def test_queries(command: str) -> None:
    assert classify(command) is QUERY
    assert not is_setter(command)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("PF", DANGEROUS),
        ("PBT00", DANGEROUS), ("PBT02", DANGEROUS),
        ("PCVV56.4", DANGEROUS), ("PBFT54.0", DANGEROUS), ("PSDV42.0", DANGEROUS),
        ("PBCV46.0", DANGEROUS), ("PBDV00.0", DANGEROUS), ("PBDV54.0", DANGEROUS),
        ("F50", DANGEROUS), ("F60", DANGEROUS),
        ("POP00", DANGEROUS), ("POP02", DANGEROUS),
        ("PCP00", DANGEROUS), ("PCP03", DANGEROUS),
        ("PEb", DANGEROUS), ("PDb", DANGEROUS), ("PEu", DANGEROUS), ("PDu", DANGEROUS),
        ("PEv", DANGEROUS), ("PDv", DANGEROUS),
        ("PGR00", SETTING), ("PGR01", SETTING),
        ("MCHGC030", SETTING), ("MUCHGC002", SETTING),
        *((f"P{op}{letter}", SETTING) for op in "ED" for letter in "adjklxyz"),
    ],
)
def test_setters(command: str, expected: CommandClass) -> None:
    assert classify(command) is expected
    assert is_setter(command)


@pytest.mark.parametrize(
    "command",
    ["", "qpigs", "QPIGS ", "QPIGS3", "QEY24", "QED2024031", "QEYabcd", "POP2", "POP002", "POPab",
     "PBCV48", "PBCV048.0", "PBCV48.00", "F5", "F500", "MCHGC30", "MUCHGC03000", "PEq", "PE",
     "PEab", "PEA", "PF1", "PSAVE", "POPLG01", "PPCP010", "POPM13", "DAT20240101000000", "BTA-01",
     "Q1", "QPGS", "QPGS10", "PBATCD111", "MNCHGC120"],
)
def test_everything_else_is_unknown(command: str) -> None:
    assert classify(command) is UNKNOWN
    assert not is_setter(command)


def test_class_values_are_the_daemon_protocol_strings() -> None:
    assert [c.value for c in CommandClass] == ["query", "setting", "dangerous", "unknown"]
