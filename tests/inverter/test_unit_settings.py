"""Settings addressed to one unit of a parallel system (PROTOCOLS-QPGS.md §4): the unit digit of
MCHGC / MNCHGC / MUCHGC / PPCP, the three-digit MNCHGC from 100 A, and what the policy makes of them."""

from __future__ import annotations

import pytest

from solarmon.inverter import setters, unit_settings
from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.policy import CommandClass, classify, family_allows

CURRENTS = {"MCHGC": (10, 20, 60, 100, 120), "MUCHGC": (2, 10, 30, 100)}


@pytest.mark.parametrize(
    ("family", "unit", "value", "wire"),
    [
        ("MCHGC", 0, 40, "MCHGC040"),  # a single unit is unit 0: the old form, unchanged
        ("MCHGC", 1, 60, "MCHGC160"),
        ("MCHGC", 0, 120, "MNCHGC0120"),  # 100 A and more: MNCHGC, three digits
        ("MCHGC", 2, 100, "MNCHGC2100"),
        ("MUCHGC", 1, 30, "MUCHGC130"),
        ("MUCHGC", 1, 2, "MUCHGC102"),
        ("MUCHGC", 0, 100, "MUCHGC0100"),
        ("PCP", 2, 3, "PPCP203"),
    ],
)
def test_build_and_parse(family: str, unit: int, value: int, wire: str) -> None:
    assert unit_settings.build(family, unit, value) == wire
    assert unit_settings.parse(wire) == unit_settings.UnitSetting(family, unit, value)


def test_plain_pcp_is_not_addressed() -> None:
    assert unit_settings.parse("PCP01") == unit_settings.UnitSetting("PCP", 0, 1)  # the value, for expansion
    assert unit_settings.addressed("PCP01") is None  # but it carries no unit: the unit on the cable
    assert unit_settings.addressed("PPCP001") == unit_settings.UnitSetting("PCP", 0, 1)


def test_a_current_from_100_a_is_sent_as_mnchgc() -> None:
    assert setters.validate_setting("MNCHGC0120", currents=CURRENTS) == "MNCHGC0120"
    assert setters.current_command("MCHGC", 120) == "MNCHGC0120"
    choices = {c["label"]: c["command"] for e in setters.describe_settings(None, CURRENTS)
               if e["prefix"] == "MCHGC" for c in e["choices"]}
    # MCHGC120 would be unit 1 at 20 A on parallel firmware.
    assert choices["120 A"] == "MNCHGC0120"
    assert choices["60 A"] == "MCHGC060"


def test_unit_digit_and_value_are_checked() -> None:
    assert setters.validate_setting("MCHGC160", currents=CURRENTS) == "MCHGC160"  # unit 1, 60 A
    assert setters.validate_setting("PPCP102") == "PPCP102"
    assert setters.validate_setting("MUCHGC0030", currents=CURRENTS) == "MUCHGC030"
    with pytest.raises(SettingRejected, match="not one the unit allows"):
        setters.validate_setting("MCHGC130", currents=CURRENTS)  # unit 1, 30 A: off the list
    with pytest.raises(SettingRejected, match="unit digit"):
        setters.validate_setting("MNCHGC060", currents=CURRENTS)
    with pytest.raises(SettingRejected, match="not one of"):
        setters.validate_setting("PPCP107")


def test_policy_knows_the_per_unit_setters() -> None:
    assert classify("MNCHGC1120") is CommandClass.SETTING
    assert classify("MUCHGC1100") is CommandClass.SETTING
    assert classify("PPCP101") is CommandClass.DANGEROUS
    assert classify("POPM13") is CommandClass.UNKNOWN  # output mode is not offered
    assert family_allows("MCHGC", "MNCHGC1120")
    assert family_allows("PCP", "PPCP101")
    assert not family_allows("MUCHGC", "MNCHGC1120")
    assert not family_allows("POP", "PPCP101")
