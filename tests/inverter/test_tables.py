"""The field tables and the typed readings agree; keys are unambiguous across commands."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict

import pytest

from solarmon.inverter.codec import decode
from solarmon.inverter.readings import Reading, attribute_name
from tests.inverter.samples import FULL

# Keys two commands share because they mean the same thing.
SHARED = {"output_mode": {"QPIRI", "QOPM"}, "serial_number": {"QID", "QSID"}}
UNITS = {"V", "A", "W", "VA", "Hz", "%", "°C", "Wh", ""}
# Readings with one typed attribute per field (the others summarise: text, lists, bits, totals).
PER_FIELD = {"QPIGS", "QPIGS2", "QPIRI", "QDI", "QMOD", "QFLAG", "QBOOT", "QOPM"}
# Typed attributes that are not fields (derived or metadata).
NOT_FIELDS = {"code", "faults", "warnings", "bits", "text", "options_a", "energy_wh", "source", "period"}


@pytest.fixture
def readings(reply) -> dict[str, Reading]:
    return {command: decode(command, reply(payload)) for command, payload in FULL.items()}


def test_keys_are_unambiguous_across_commands(readings: dict[str, Reading]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for command, reading in readings.items():
        keys = [f.key for f in reading.fields]
        assert len(keys) == len(set(keys)), command
        # Names (mppsolar's, used in the .prom files with a cmd label) are unique per command too.
        names = [f.name for f in reading.fields]
        assert len(names) == len(set(names)), command
        for key in keys:
            owners[key].add(command)
    for key, commands in owners.items():
        if len(commands) > 1:
            assert SHARED.get(key) == commands, f"{key} is used by {sorted(commands)}"


@pytest.mark.parametrize("command", sorted(FULL))
def test_every_typed_attribute_is_filled_by_the_fullest_reply(readings: dict[str, Reading],
                                                              command: str) -> None:
    reading = readings[command]
    attributes = {f.name for f in dataclasses.fields(reading)} - {f.name for f in dataclasses.fields(Reading)}
    for attribute in attributes - NOT_FIELDS:
        assert getattr(reading, attribute) is not None, f"{command}.{attribute} not filled"
    if command in PER_FIELD:
        unmapped = {f.key for f in reading.fields if attribute_name(f.key, f.unit) not in attributes}
        assert not unmapped


@pytest.mark.parametrize("command", sorted(FULL))
def test_units_and_names_follow_the_contract(readings: dict[str, Reading], command: str) -> None:
    for field in readings[command].fields:
        assert field.unit in UNITS, field
        assert re.fullmatch(r"[a-z0-9_]+", field.name), field
        assert re.fullmatch(r"[a-z0-9_]+", field.key), field
        assert isinstance(field.value, float | int | str | bool), field
