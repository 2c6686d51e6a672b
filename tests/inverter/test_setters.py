"""validate_setting, the builders it uses and describe_settings against PI30.md §4."""

from __future__ import annotations

import json

import pytest

from solarmon.inverter import setters
from solarmon.inverter.codec import decode
from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.policy import CommandClass, classify
from tests.inverter import samples


def _ratings(battery_v: float, **settings: float) -> dict[str, float]:
    # Only the class: order checks (float <= bulk...) get their own tests.
    return {"rated_battery_voltage": battery_v, **settings}


R48, R24, R12 = _ratings(48.0), _ratings(24.0), _ratings(12.0)


@pytest.mark.parametrize(
    ("command", "canonical"),
    [("POP02", "POP02"), ("pop01", "POP01"), ("PCP03", "PCP03"), ("PGR01", "PGR01"), ("PBT01", "PBT01"),
     ("PBT02", "PBT02")],
)
def test_choice_settings(command: str, canonical: str) -> None:
    assert setters.validate_setting(command) == canonical


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("POP03", "00 Utility first, 01 Solar first, 02 SBU"),
        ("PCP04", "not one of"),
        ("PGR02", "Grid working range"),
        ("PBT03", "Battery type"),
        ("POPSBU", "not a two-digit code"),
    ],
)
def test_choice_settings_reject(command: str, message: str) -> None:
    with pytest.raises(SettingRejected, match=message):
        setters.validate_setting(command)


def test_lithium_types_only_on_max_units(reply) -> None:
    max_unit = decode("QPIRI", reply(samples.QPIRI_28))
    assert setters.validate_setting("PBT03", max_unit) == "PBT03"  # Pylontech
    assert setters.validate_setting("PBT09", max_unit) == "PBT09"
    with pytest.raises(SettingRejected):
        setters.validate_setting("PBT04", max_unit)  # Shinheung: not a PI30MAX type
    with pytest.raises(SettingRejected):
        setters.validate_setting("PBT03", decode("QPIRI", reply(samples.QPIRI_25)))


@pytest.mark.parametrize(
    ("command", "ratings", "canonical"),
    [
        ("PBCV44.0", R48, "PBCV44.0"), ("PBCV51.0", R48, "PBCV51.0"), ("PBCV48", R48, "PBCV48.0"),
        ("PBCV22.0", R24, "PBCV22.0"), ("PBCV25.5", R24, "PBCV25.5"), ("PBCV23.5", R24, "PBCV23.5"),
        ("PBCV11.3", R12, "PBCV11.3"), ("PBCV12.8", R12, "PBCV12.8"),
        ("PBDV00.0", R48, "PBDV00.0"), ("PBDV48.0", R48, "PBDV48.0"), ("PBDV58.0", R48, "PBDV58.0"),
        ("PBDV00.0", R24, "PBDV00.0"), ("PBDV28.5", R24, "PBDV28.5"),
        ("PBDV14.5", R12, "PBDV14.5"), ("PBDV0", R12, "PBDV00.0"),
        ("PSDV40.0", R48, "PSDV40.0"), ("PSDV48.0", R48, "PSDV48.0"), ("PSDV42.3", R48, "PSDV42.3"),
        ("PSDV20.0", R24, "PSDV20.0"), ("PSDV10.5", R12, "PSDV10.5"),
        ("PCVV48.0", R48, "PCVV48.0"), ("PCVV58.4", R48, "PCVV58.4"), ("PCVV29.2", R24, "PCVV29.2"),
        ("PBFT54.0", R48, "PBFT54.0"), ("PBFT14.6", R12, "PBFT14.6"),
        ("pop02", None, "POP02"), (" PCP01 ", None, "PCP01"), ("PGR00", None, "PGR00"),
        ("PBT00", None, "PBT00"), ("F50", None, "F50"), ("F60", None, "F60"),
        ("PEa", None, "PEa"), ("PDz", None, "PDz"), ("PEb", None, "PEb"), ("PF", None, "PF"),
    ],
)
def test_valid_settings(command: str, ratings: dict | None, canonical: str) -> None:
    checked = setters.validate_setting(command, ratings)
    assert checked == canonical
    assert classify(checked) in (CommandClass.SETTING, CommandClass.DANGEROUS)


@pytest.mark.parametrize(
    ("command", "ratings", "message"),
    [
        ("PBCV43.0", R48, "44.0, 45.0"), ("PBCV52.0", R48, "not allowed on a 48 V unit"),
        ("PBCV45.5", R48, "45.5 V"), ("PBCV48.0", R24, "24 V unit"), ("PBCV22.3", R24, "22.3"),
        ("PBCV11.4", R12, "11.0, 11.3"), ("PBCV46.0", R12, "12 V unit"),
        ("PBDV47.0", R48, "48.0"), ("PBDV59.0", R48, "58.0"), ("PBDV24.3", R24, "24"),
        ("PBDV13.1", R12, "12 V"),
        ("PSDV39.9", R48, "40.0-48.0"), ("PSDV48.1", R48, "48.1"), ("PSDV42.0", R24, "24 V"),
        ("PCVV58.5", R48, "48.0-58.4"), ("PBFT47.9", R48, "47.9"), ("PBFT54.0", R24, "24 V"),
        ("PBCV48.0", None, "read QPIRI first"), ("PSDV42.0", {}, "read QPIRI first"),
        ("PBCV48.0", _ratings(36.0), "read QPIRI first"),
        ("PBCVabc", R48, "not a voltage"), ("PBCV4.80", R48, "not a voltage"), ("PBCV", R48, "voltage"),
        ("POP03", None, "not one of"), ("POP2", None, "two-digit"), ("PCP04", None, "not one of"),
        ("PGR02", None, "not one of"), ("PBT03", None, "not one of"),
        ("F55", None, "50 or 60"), ("F5O", None, "50 or 60"),
        ("PEq", None, "not a known flag"), ("PE", None, "not a known flag"), ("PEab", None, "flag"),
        ("PF1", None, "no value"),
        ("MCHGC030", None, "read QMCHGCR first"), ("MUCHGC030", None, "read QMUCHGCR first"),
        ("QPIGS", None, "query"), ("QPIRI", R48, "query"), ("qmod", None, "query"),
        ("XYZ", None, "not a known setting"), ("", None, "not a known setting"),
        ("POPLG01", None, "two-digit"), ("PSAVE", None, "not a known setting"),
    ],
)
def test_rejected_settings_say_why(command: str, ratings: dict | None, message: str) -> None:
    with pytest.raises(SettingRejected, match=message) as caught:
        setters.validate_setting(command, ratings)
    assert caught.value.kind == "rejected"


@pytest.mark.parametrize(
    ("command", "settings", "message"),
    [
        ("PBFT57.0", {"battery_bulk_charge_voltage": 56.4}, "above the bulk voltage 56.4"),
        ("PCVV53.0", {"battery_float_charge_voltage": 54.0}, "below the float voltage 54"),
        ("PBCV44.0", {"battery_under_voltage": 44.0}, "not above the cut-off voltage 44"),
        ("PBCV49.0", {"battery_redischarge_voltage": 49.0}, "not below the re-discharge voltage 49"),
        ("PSDV46.0", {"battery_recharge_voltage": 46.0}, "not below the re-charge voltage 46"),
        ("PBDV48.0", {"battery_recharge_voltage": 48.0}, "not above the re-charge voltage 48"),
    ],
)
def test_settings_that_contradict_the_others_are_rejected(command: str, settings: dict,
                                                          message: str) -> None:
    with pytest.raises(SettingRejected, match=message):
        setters.validate_setting(command, _ratings(48.0, **settings))


def test_order_checks_with_the_reference_ratings(reply) -> None:
    ratings = decode("QPIRI", reply(samples.QPIRI_25))  # bulk 56.4, float 54.0, cut-off 42, recharge 46
    assert setters.validate_setting("PBFT56.4", ratings) == "PBFT56.4"
    assert setters.validate_setting("PCVV54.0", ratings) == "PCVV54.0"
    assert setters.validate_setting("PBDV00.0", ratings) == "PBDV00.0"  # 0 = battery full
    assert setters.validate_setting("PSDV45.9", ratings) == "PSDV45.9"
    assert setters.validate_setting("PBCV44.0", ratings) == "PBCV44.0"
    assert setters.validate_setting("PBCV51.0", ratings) == "PBCV51.0"  # re-discharge is 54.0
    assert setters.validate_setting("PBCV51.0", {**ratings.as_dict(), "battery_redischarge_voltage": 0.0})


@pytest.mark.parametrize(
    "currents",
    [
        {"MCHGC": [10, 20, 30], "MUCHGC": [2, 10, 30]},
        {"QMCHGCR": (10, 20, 30), "QMUCHGCR": (2, 10, 30)},
    ],
    ids=["by-setter", "by-query"],
)
def test_current_settings_take_only_listed_values(currents: dict) -> None:
    assert setters.validate_setting("MCHGC030", currents=currents) == "MCHGC030"
    assert setters.validate_setting("MUCHGC002", currents=currents) == "MUCHGC002"
    assert setters.validate_setting("MCHGC020", currents=currents) == "MCHGC020"
    with pytest.raises(SettingRejected, match="10, 20, 30"):
        setters.validate_setting("MCHGC040", currents=currents)
    with pytest.raises(SettingRejected, match="not one the unit allows"):
        setters.validate_setting("MUCHGC020", currents=currents)
    with pytest.raises(SettingRejected, match="not a current"):
        setters.validate_setting("MCHGC0030", currents=currents)


def test_currents_from_decoded_readings(reply) -> None:
    readings = [decode("QMCHGCR", reply(samples.QMCHGCR)), decode("QMUCHGCR", reply(samples.QMUCHGCR))]
    assert setters.validate_setting("MNCHGC0120", currents=readings) == "MNCHGC0120"
    assert setters.validate_setting("MUCHGC002", currents=readings) == "MUCHGC002"
    with pytest.raises(SettingRejected):
        setters.validate_setting("MCHGC002", currents=readings)
    with pytest.raises(SettingRejected, match="read QMUCHGCR"):
        setters.validate_setting("MUCHGC002", currents=readings[:1])


@pytest.mark.parametrize(
    ("flag", "enabled", "command"),
    [("a", True, "PEa"), ("buzzer", False, "PDa"), ("overload_bypass", True, "PEb"),
     ("record_fault_code", False, "PDz"), ("solar_feed_to_grid", True, "PEd")],
)
def test_flag_builder(flag: str, enabled: bool, command: str) -> None:
    assert setters.flag(flag, enabled) == command


def test_simple_builders() -> None:
    assert setters.output_frequency(60) == "F60"
    assert setters.factory_reset() == "PF"
    with pytest.raises(SettingRejected):
        setters.output_frequency(55)
    with pytest.raises(SettingRejected):
        setters.flag("fan", True)


@pytest.mark.parametrize(
    ("battery_v", "pbcv_values"),
    [(48.0, [44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0]),
     (24.0, [22.0, 22.5, 23.0, 23.5, 24.0, 24.5, 25.0, 25.5]),
     (12.0, [11.0, 11.3, 11.5, 11.8, 12.0, 12.3, 12.5, 12.8])],
)
def test_describe_settings_follows_the_battery_class(battery_v: float, pbcv_values: list[float]) -> None:
    entries = {e["prefix"]: e for e in setters.describe_settings(_ratings(battery_v))}
    pbcv = entries["PBCV"]
    assert [float(c["value"]) for c in pbcv["choices"]] == pbcv_values
    for choice in pbcv["choices"]:
        assert setters.validate_setting(choice["command"], _ratings(battery_v)) == choice["command"]
    psdv = entries["PSDV"]
    assert psdv["kind"] == "range"
    assert psdv["max"] == battery_v
    assert psdv["dangerous"] is True
    assert setters.validate_setting(f"PSDV{psdv['min']:04.1f}", _ratings(battery_v))


def test_describe_settings_is_json_and_complete(reply) -> None:
    ratings = decode("QPIRI", reply(samples.QPIRI_25))
    currents = [decode("QMCHGCR", reply(samples.QMCHGCR))]
    entries = setters.describe_settings(ratings, currents)
    json.dumps(entries)
    prefixes = [e["prefix"] for e in entries]
    for prefix in ("POP", "PCP", "PGR", "PBT", "PBCV", "PBDV", "PSDV", "PCVV", "PBFT", "F", "MCHGC",
                   "MUCHGC", "PF"):
        assert prefix in prefixes
    by_prefix = {e["prefix"]: e for e in entries}
    assert by_prefix["MCHGC"]["available"] is True
    assert [c["command"] for c in by_prefix["MCHGC"]["choices"]][:2] == ["MCHGC010", "MCHGC020"]
    assert by_prefix["MUCHGC"]["available"] is False
    assert "QMUCHGCR" in by_prefix["MUCHGC"]["reason"]
    assert by_prefix["POP"]["current_key"] == "output_source_priority"
    keys = ratings.as_dict()
    for entry in entries:
        if entry["prefix"] not in ("P", "PF"):
            assert entry["current_key"] in keys  # the UI finds the current value in QPIRI
    dangerous = {e["prefix"] for e in entries if e["dangerous"] and e["prefix"] != "P"}
    assert dangerous == {"POP", "PCP", "PBT", "PBCV", "PBDV", "PSDV", "PCVV", "PBFT", "F", "PF"}
    flags = [e for e in entries if e["prefix"] == "P"]
    assert {e["flag"] for e in flags} == set("abdjkluvxyz")
    assert {e["flag"] for e in flags if e["dangerous"]} == set("buv")


def test_describe_settings_without_ratings_marks_voltages_unavailable() -> None:
    entries = {e["prefix"]: e for e in setters.describe_settings()}
    assert entries["PBCV"]["available"] is False
    assert "QPIRI" in entries["PBCV"]["reason"]
    assert entries["POP"]["available"] is True
    assert [c["command"] for c in entries["POP"]["choices"]] == ["POP00", "POP01", "POP02"]
