"""Reply shapes per profile, the codec reading them back, NAKs, setters changing QPIRI / QFLAG, seeds."""

from __future__ import annotations

import re

import pytest

from solarmon.inverter import codec
from solarmon.inverter.frame import crc_bytes, decode_reply, encode_reply
from solarmon.simulator.inverter import parse_request
from solarmon.simulator.profiles import PROFILES, get_profile
from tests.simulator.conftest import MIDNIGHT, ask

PROFILE_NAMES = sorted(PROFILES)


@pytest.mark.parametrize(
    ("profile", "qpigs", "qpiri", "qpiws", "qdi"),
    [
        ("axpert-5k", 21, 25, 32, 25),
        ("hs-3k", 17, 25, 32, 25),
        ("max-8k", 24, 28, 36, 26),
    ],
)
def test_field_counts_follow_the_profile(make_inverter, profile, qpigs, qpiri, qpiws, qdi):
    inverter = make_inverter(profile)
    assert len(ask(inverter, "QPIGS").payload.split(" ")) == qpigs
    assert len(ask(inverter, "QPIRI").payload.split(" ")) == qpiri
    assert re.fullmatch(rf"[01]{{{qpiws}}}", ask(inverter, "QPIWS").payload)
    assert len(ask(inverter, "QDI").payload.split(" ")) == qdi


@pytest.mark.parametrize(
    ("command", "pattern"),
    [
        ("QPI", r"PI30"),
        ("QID", r"\d{14}"),
        ("QVFW", r"VERFW:\d{5}\.\d{2}"),
        ("QVFW2", r"VERFW2:\d{5}\.\d{2}"),
        ("QMOD", r"[PSLBFHD]"),
        ("QFLAG", r"E[a-z]*D[a-z]*"),
        ("QMCHGCR", r"\d{3}( \d{3})+"),
        ("QMUCHGCR", r"\d{3}( \d{3})+"),
        ("QBOOT", r"[01]"),
        ("QOPM", r"\d{2}"),
    ],
)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_simple_queries_have_the_documented_shape(make_inverter, profile, command, pattern):
    assert re.fullmatch(pattern, ask(make_inverter(profile), command).payload)


ALL_QUERIES = ["QPIGS", "QPIRI", "QMOD", "QPIWS", "QFLAG", "QID", "QVFW", "QVFW2", "QPI", "QDI"]
ALL_QUERIES += ["QMCHGCR", "QMUCHGCR", "QBOOT", "QOPM"]
MAX_ONLY = [
    "QPIGS2",
    "QET",
    "QEY2026",
    "QEM202606",
    "QED20260621",
    "QLT",
    "QLY2026",
    "QLM202606",
    "QLD20260621",
]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_codec_reads_every_reply(make_inverter, profile):
    inverter = make_inverter(profile)
    queries = ALL_QUERIES + (MAX_ONLY if get_profile(profile).energy_counters else [])
    for command in queries:
        reading = codec.decode(command, ask(inverter, command))
        assert reading.fields, command


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_qpigs_values_decode_to_what_the_model_meant(make_inverter, profile):
    inverter = make_inverter(profile)
    answer = inverter.respond("QPIGS")
    reading = codec.decode("QPIGS", decode_reply(encode_reply(answer.reply.payload)))
    compared = 0
    for field in reading.fields:
        sent = answer.reply.values.get(field.name)
        numeric = isinstance(field.value, int | float) and not isinstance(field.value, bool)
        if isinstance(sent, int | float) and numeric:
            assert field.value == pytest.approx(sent), field.name
            compared += 1
    assert compared >= 14


@pytest.mark.parametrize("profile", ["axpert-5k", "hs-3k"])
@pytest.mark.parametrize("command", MAX_ONLY)
def test_plain_units_nak_the_max_only_queries(make_inverter, profile, command):
    assert ask(make_inverter(profile), command).is_nak


@pytest.mark.parametrize(
    "command", ["QXYZ", "QPIGS3", "QED2026", "QEDabcdefgh", "QED20261341", "qpigs", "HELLO"]
)
def test_unknown_or_malformed_commands_are_naked(make_inverter, command):
    assert ask(make_inverter("max-8k"), command).is_nak


def test_a_request_failing_its_crc_is_naked_and_one_without_crc_is_answered(make_inverter):
    inverter = make_inverter()
    body = b"QPIGS"
    good_crc = crc_bytes(body)
    bad = body + bytes((good_crc[0] ^ 0x10, good_crc[1])) + b"\r"
    assert inverter.handle(bad) == encode_reply("NAK")
    assert parse_request(b"QPIGS\r") == "QPIGS"
    assert len(codec.decode("QPIGS", ask(inverter, "QPIGS")).fields) > 20
    assert parse_request(b"\xff\xfe\r") is None


def _qpiri(inverter) -> dict:
    return inverter.respond("QPIRI").reply.values


@pytest.mark.parametrize(
    ("profile", "command", "key", "expected"),
    [
        ("axpert-5k", "POP01", "output_source_priority", 1),
        ("axpert-5k", "PCP03", "charger_source_priority", 3),
        ("axpert-5k", "PGR01", "input_voltage_range", 1),
        ("axpert-5k", "PBT01", "battery_type", 1),
        ("axpert-5k", "PBCV48.0", "battery_recharge_voltage", 48.0),
        ("axpert-5k", "PBDV00.0", "battery_redischarge_voltage", 0.0),
        ("axpert-5k", "PSDV44.0", "battery_under_voltage", 44.0),
        ("axpert-5k", "PCVV57.2", "battery_bulk_charge_voltage", 57.2),
        ("axpert-5k", "PBFT55.0", "battery_float_charge_voltage", 55.0),
        ("axpert-5k", "F60", "ac_output_frequency", 60.0),
        ("axpert-5k", "MCHGC040", "max_charging_current", 40),
        ("axpert-5k", "MUCHGC010", "max_ac_charging_current", 10),
        ("hs-3k", "PBCV23.5", "battery_recharge_voltage", 23.5),
        ("hs-3k", "MCHGC050", "max_charging_current", 50),
        ("max-8k", "MNCHGC0150", "max_charging_current", 150),
        ("max-8k", "PBCV47", "battery_recharge_voltage", 47.0),
    ],
)
def test_setters_ack_and_show_in_qpiri(make_inverter, profile, command, key, expected):
    inverter = make_inverter(profile)
    assert _qpiri(inverter)[key] != expected
    assert ask(inverter, command).is_ack
    assert _qpiri(inverter)[key] == expected


@pytest.mark.parametrize(
    ("profile", "command"),
    [
        ("axpert-5k", "PBCV52.0"),  # above the 48 V range
        ("axpert-5k", "PBCV23.5"),  # a 24 V value on a 48 V unit
        ("hs-3k", "PBCV48.0"),  # a 48 V value on a 24 V unit
        ("axpert-5k", "PBFT58.0"),  # float above bulk
        ("axpert-5k", "MCHGC045"),  # not in QMCHGCR
        ("hs-3k", "MCHGC100"),  # not in this unit's QMCHGCR
        ("axpert-5k", "POP05"),
        ("axpert-5k", "F55"),
        ("axpert-5k", "MCHGC140"),  # unit 1 (40 A): a single unit is unit 0
        ("axpert-5k", "PEq"),  # no such flag
        ("axpert-5k", "PEd"),  # a MAX-only flag this firmware does not know
        ("axpert-5k", "PF1"),
    ],
)
def test_invalid_settings_are_naked_and_change_nothing(make_inverter, profile, command):
    inverter = make_inverter(profile)
    before = (_qpiri(inverter), ask(inverter, "QFLAG").payload)
    assert ask(inverter, command).is_nak
    assert (_qpiri(inverter), ask(inverter, "QFLAG").payload) == before


def test_flags_follow_pe_and_pd(make_inverter):
    inverter = make_inverter()
    assert ask(inverter, "QFLAG").payload == "EakxyzDbjuv"
    assert ask(inverter, "PEb").is_ack
    assert ask(inverter, "PDa").is_ack
    flags = ask(inverter, "QFLAG").payload
    enabled, disabled = flags[1:].split("D")
    assert "b" in enabled
    assert "a" in disabled


def test_factory_reset_restores_the_qdi_defaults(make_inverter):
    inverter = make_inverter()
    assert ask(inverter, "POP01").is_ack
    assert ask(inverter, "PBCV48.0").is_ack
    assert ask(inverter, "PEb").is_ack
    assert ask(inverter, "PF").is_ack
    qpiri, qdi = _qpiri(inverter), inverter.respond("QDI").reply.values
    for key in (
        "output_source_priority",
        "charger_source_priority",
        "battery_recharge_voltage",
        "battery_type",
    ):
        assert qpiri[key] == qdi[key], key
    assert "b" in ask(inverter, "QFLAG").payload.split("D")[1]


def test_configuration_changed_bit_is_set_by_a_setting_and_cleared_by_qpiri(make_inverter):
    inverter = make_inverter()
    assert inverter.respond("QPIGS").reply.values["is_configuration_changed"] is False
    assert ask(inverter, "POP01").is_ack
    assert inverter.respond("QPIGS").reply.values["is_configuration_changed"] is True
    inverter.respond("QPIRI")
    assert inverter.respond("QPIGS").reply.values["is_configuration_changed"] is False


def _day_of_qpigs(inverter) -> list[str]:
    payloads = []
    for _ in range(48):
        inverter.clock.jump(1800)
        payloads.append(ask(inverter, "QPIGS").payload)
    return payloads


def test_the_same_seed_gives_the_same_day_and_another_seed_another(make_inverter):
    first = _day_of_qpigs(make_inverter(seed=7, start=MIDNIGHT))
    again = _day_of_qpigs(make_inverter(seed=7, start=MIDNIGHT))
    other = _day_of_qpigs(make_inverter(seed=8, start=MIDNIGHT))
    assert first == again
    assert first != other
    assert (
        make_inverter(seed=7).serial == make_inverter(seed=7).serial != make_inverter(seed=8).serial
    )


def test_reading_the_same_instant_twice_gives_the_same_values(make_inverter):
    inverter = make_inverter()
    first = [ask(inverter, command).payload for command in ("QPIGS", "QPIWS", "QMOD")]
    assert [ask(inverter, command).payload for command in ("QPIGS", "QPIWS", "QMOD")] == first
    inverter.clock.jump(30)
    assert ask(inverter, "QPIGS").payload != first[0]
