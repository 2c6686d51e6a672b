"""mppsolar 0.16.56 as an oracle: the same frames, decoded by its pi30 / pi30max protocols.

Every value mppsolar reports must equal ours under the same (Prometheus) name, except the
differences listed in DIFFERENCES, REJECTED and CRASHES below, each with the reason; each listed
difference is asserted to still be one, so the lists cannot rot when mppsolar or we change.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from solarmon.inverter.codec import decode
from solarmon.inverter.errors import CommandRefused
from solarmon.inverter.frame import FrameError, decode_reply, encode_reply
from tests.inverter import samples

pytestmark = pytest.mark.oracle

QPIGS_CRC_00 = samples.QPIGS_21.replace("00856", "00566")  # raw CRC 0x0066: a 0x00 high byte
QPIRI_ODD = samples.QPIRI_24V.replace(" 0 2 1 - 01 ", " 0 3 4 - 11 ")  # priorities 3/4, type 11

# id -> (protocol, command, payload)
CASES: dict[str, tuple[str, str, str]] = {
    "qpigs-21": ("pi30", "QPIGS", samples.QPIGS_21),
    "qpigs-17": ("pi30", "QPIGS", samples.QPIGS_17),
    "qpigs-24-pi30": ("pi30", "QPIGS", samples.QPIGS_24),
    "qpigs-24-pi30max": ("pi30max", "QPIGS", samples.QPIGS_24),
    "qpigs-5-digit": ("pi30", "QPIGS", samples.QPIGS_21.replace("0161 0119", "10161 08119")),
    "qpigs-decimal-current": ("pi30", "QPIGS", samples.QPIGS_21.replace("57.50 012", "57.50 012.5")),
    "qpigs-crc-00": ("pi30", "QPIGS", QPIGS_CRC_00),
    "qpigs2": ("pi30max", "QPIGS2", samples.QPIGS2),
    "qpiri-25": ("pi30", "QPIRI", samples.QPIRI_25),
    "qpiri-28-pi30": ("pi30", "QPIRI", samples.QPIRI_28),
    "qpiri-28-pi30max": ("pi30max", "QPIRI", samples.QPIRI_28.replace(" 2 010 030 ", " 8 010 030 ")),
    "qpiri-odd-codes": ("pi30", "QPIRI", QPIRI_ODD),
    "qdi": ("pi30", "QDI", samples.QDI),
    **{f"qmod-{letter}": ("pi30", "QMOD", letter) for letter in "PSLBFHY"},
    "qmod-C-pi30max": ("pi30max", "QMOD", "C"),
    "qmod-D-pi30max": ("pi30max", "QMOD", "D"),
    "qpiws-32": ("pi30", "QPIWS", samples.QPIWS_32),
    "qpiws-a15": ("pi30", "QPIWS", "0" * 15 + "1" + "0" * 16),
    "qpiws-36": ("pi30", "QPIWS", samples.QPIWS_32 + "1111"),
    "qflag": ("pi30", "QFLAG", samples.QFLAG),
    "qflag-unknown-letter": ("pi30", "QFLAG", "EaqDbjuvz"),
    "qid": ("pi30", "QID", "92932004102443"),
    "qpi": ("pi30", "QPI", "PI30"),
    "qvfw": ("pi30", "QVFW", "VERFW:00072.70"),
    "qvfw2": ("pi30", "QVFW2", "VERFW2:00000.00"),
    "qmchgcr": ("pi30", "QMCHGCR", samples.QMCHGCR),
    "qboot": ("pi30", "QBOOT", "1"),
    "qopm": ("pi30", "QOPM", "02"),
    "qet": ("pi30max", "QET", "00123456"),
    "qey": ("pi30max", "QEY2024", "00012345"),
    "qed": ("pi30max", "QED20240315", "00001234"),
    "qlt": ("pi30max", "QLT", "00234567"),
    "qlm": ("pi30max", "QLM202403", "00023456"),
    "qpgs-parallel": ("pi30", "QPGS1", samples.PARALLEL),
    "qpgs-split-phase": ("pi30", "QPGS0", samples.SPLIT),
    "qpgs-l3-fault": ("pi30", "QPGS2", samples.PHASE_L3_FAULT),
    "qpgs-max-pi30max": ("pi30max", "QPGS0", samples.MAX_PV2),
}

# (case, mppsolar name) -> (our key, why mppsolar's value is wrong or differs). Each one is
# asserted to still differ from ours.
DIFFERENCES: dict[tuple[str, str], tuple[str | None, str]] = {
    ("qpigs-24-pi30", "unknown_value_in_response_22"): (
        "feed_to_grid_status", "pi30 knows 21 fields: MAX field 21 becomes the repr \"b'1'\""),
    ("qpigs-24-pi30", "unknown_value_in_response_23"): ("country_code", "same, field 22"),
    ("qpigs-24-pi30", "unknown_value_in_response_24"): ("feed_to_grid_power", "same, field 23"),
    ("qpigs-24-pi30max", "country"): (
        "country_code", "pi30max looks the code up by its hex bytes: 'Invalid key: 3031'"),
    ("qpigs-decimal-current", "battery_charging_current"): (
        "battery_charging_current", "int('012.5') fails and mppsolar silently reports 0"),
    ("qpiri-28-pi30", "unknown_value_in_response_27"): (
        "max_discharging_current", "pi30 knows 27 QPIRI fields: field 28 becomes the repr \"b'070'\""),
    ("qpiri-28-pi30max", "battery_type"): (
        "battery_type", "pi30max's list lacks 'TBD' (7), so codes 7-9 are off by one: 8 -> 3rd party"),
    ("qpiri-28-pi30max", "output_source_priority"): (
        "output_source_priority", "naming only: pi30max says 'Solar Battery Utility', pi30 'SBU first'"),
    ("qpiri-odd-codes", "output_source_priority"): (
        "output_source_priority", "an undocumented code becomes 'Invalid option: 3'"),
    ("qpiri-odd-codes", "charger_source_priority"): (
        "charger_source_priority", "an undocumented code becomes 'Invalid option: 4'"),
    ("qpiri-odd-codes", "machine_type"): (
        "machine_type", "11 (off-grid, 2 trackers) is missing: 'Invalid key: 11'"),
    ("qpiri-odd-codes", "max_parallel_units"): (
        "max_parallel_units", "'-' (no parallel support) becomes 0 units; we leave the field out"),
    ("qdi", "unknown_value_in_response_25"): (
        "default_max_charging_time_for_cv_stage_min", "pi30 leaves QDI field 26 unnamed, as a string"),
    ("qmod-C-pi30max", "device_mode"): ("device_mode", "C (charge) is missing: 'Invalid key: C'"),
    ("qpiws-a15", "reserved"): (
        "reserved_a13", "a13 and a15 are both named 'Reserved': a15 overwrites a13"),
    ("qpgs-split-phase", "output_mode"): (
        "output_mode", "pi30's QPGS list names code 7 (split phase, 180°) 'Unknown Output Mode'"),
    ("qpgs-split-phase", "unknown_flags?"): (
        "pv2_input_current", "pi30 leaves MAX field 28 (PV2 current) unnamed, as the string '00'"),
    ("qmchgcr", "max_charging_current"): (
        "max_charging_current_options", "only the first value is named; the rest are unknown_value_N"),
}
# Names mppsolar reports that we do not carry as fields, and why.
MPPSOLAR_ONLY = {
    "year": "the date of QEY/QEM/QED is the command's argument (Energy.period)",
    "month": "same",
    "day": "same",
    **{f"unknown_value_in_response_{n}": "QMCHGCR's list items (we keep the list as one value)"
       for n in range(1, 12)},
}
# Cases mppsolar does not decode at all: case -> (what happens, why).
REJECTED = {
    "qpigs-crc-00": "real firmware sends a CRC byte 0x00; mppsolar only accepts its bumped 0x01",
}
CRASHES = {
    **{f"qmod-{letter}": "pi30 has no D/C/E in its QMOD table: KeyError" for letter in "DCE"},
}
CASES.update({f"qmod-{letter}": ("pi30", "QMOD", letter) for letter in "DCE"})
# pi30max names that differ from pi30's for the same QPIGS field.
MAX_ALIASES = {
    "pv1_input_current": "pv_input_current_for_battery",
    "pv1_input_voltage": "pv_input_voltage",
    "battery_voltage_offset_for_fans_on": "rsv1",
    "eeprom_version": "rsv2",
    "pv1_charging_power": "pv_input_power",
    "is_dustproof_installed": "is_reserved",
}
# pi30max names that differ from pi30's for the same QPGS field.
QPGS_MAX_ALIASES = {"pv1_input_voltage": "pv_input_voltage", "pv1_input_current": "pv_input_current"}
# pi30 names of the QPGS MAX tail (pi30max names them pv2_...).
QPGS_PI30_ALIASES = {"unknown_float": "pv2_input_voltage"}
# Values we word as QMOD does (one vocabulary for device_mode) where mppsolar's QPGS adds "Mode":
# mppsolar name -> {our value: mppsolar's value}.
WORDING = {
    "work_mode": {"Power on": "Power On Mode", "Standby": "Standby Mode", "Line": "Line Mode",
                  "Battery": "Battery Mode", "Fault": "Fault Mode", "Power saving": "Power Saving Mode",
                  "Shutdown": "Shutdown Mode", "Bypass": "Bypass"},
    # QPIRI's texts (ours) vs QPGS's in mppsolar: "output" dropped, "Phase" in lower case.
    "output_mode": {"single machine output": "single machine",
                    **{f"Phase {n} of 3 Phase output": f"Phase {n} of 3 phase output" for n in (1, 2, 3)}},
}
# mppsolar units that are wrong: (mppsolar name, its unit, ours); pi30 gives QPGS unknown_float none.
WRONG_UNITS = {("rsv1", "A", ""), ("rsv2", "A", ""), ("pv2_input_voltage", "", "V")}
UNITS = {"V", "A", "W", "VA", "Hz", "%", "°C", "Wh"}


def _prom_name(name: str) -> str:
    # mppsolar's prom output: spaces and "/" to "_", "-" removed, lower case.
    return name.replace(" ", "_").replace("/", "_").replace("-", "").lower()


@pytest.fixture
def protocols() -> Iterator[dict[str, Callable[[], Any]]]:
    """Fresh pi30 / pi30max instances: pi30max mutates pi30's module-level command table."""
    logging.disable(logging.CRITICAL)

    def fresh(name: str) -> Any:
        base = importlib.reload(importlib.import_module("mppsolar.protocols.pi30"))
        if name == "pi30":
            return base.pi30()
        return importlib.reload(importlib.import_module("mppsolar.protocols.pi30max")).pi30max()

    yield {"pi30": lambda: fresh("pi30"), "pi30max": lambda: fresh("pi30max")}
    logging.disable(logging.NOTSET)


def _mppsolar(protocols: dict[str, Callable[[], Any]], case: str) -> dict[str, tuple[Any, str]]:
    protocol, command, payload = CASES[case]
    raw = protocols[protocol]().decode(encode_reply(payload), command)
    for meta in ("_command", "_command_description", "raw_response"):
        raw.pop(meta, None)
    mpp = {_prom_name(name): (value[0], value[1]) for name, value in raw.items()}
    if protocol == "pi30max":
        aliases = QPGS_MAX_ALIASES if command.startswith("QPGS") else MAX_ALIASES
        mpp = {aliases.get(name, name): value for name, value in mpp.items()}
    elif command.startswith("QPGS"):
        mpp = {QPGS_PI30_ALIASES.get(name, name): value for name, value in mpp.items()}
    return mpp


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, bool):
        truth = {1: True, 0: False, "1": True, "0": False, "enabled": True, "disabled": False,
                 "Yes": True, "No": False}
        return truth.get(theirs, object()) is ours
    if isinstance(ours, int | float) and isinstance(theirs, int | float) and not isinstance(theirs, bool):
        return abs(ours - theirs) < 1e-9
    return ours == theirs


def _ours(case: str) -> dict[str, Any]:
    _protocol, command, payload = CASES[case]
    reading = decode(command, decode_reply(encode_reply(payload)))
    return {f.name: f for f in reading.fields}


@pytest.mark.parametrize("case", sorted(set(CASES) - set(REJECTED) - set(CRASHES)))
def test_same_values_as_mppsolar(protocols, case: str) -> None:
    theirs = _mppsolar(protocols, case)
    assert "validity_check" not in theirs
    command = CASES[case][1]
    ours = _ours(case)
    keys = {f.key: f for f in ours.values()}
    compared = 0
    for name, (value, unit) in theirs.items():
        if (case, name) in DIFFERENCES:
            our_key, reason = DIFFERENCES[(case, name)]
            ours_value = keys[our_key].value if our_key in keys else None
            assert not _same(ours_value, value), f"fixed in mppsolar? {reason}"
            compared += 1
            continue
        if name not in ours:
            assert name in MPPSOLAR_ONLY, f"{case}: mppsolar reports {name}={value!r}, we do not"
            continue
        field = ours[name]
        wording = WORDING.get(name, {}) if command.startswith("QPGS") else {}
        mine = wording.get(field.value, field.value)
        assert _same(mine, value), f"{case}: {name} ours {field.value!r}, mppsolar {value!r}"
        if unit in UNITS or field.unit:
            assert (name, unit, field.unit) in WRONG_UNITS or unit == field.unit, (name, unit, field.unit)
        compared += 1
    assert compared, f"{case}: nothing compared"


def test_every_listed_difference_belongs_to_a_case() -> None:
    for case, _name in DIFFERENCES:
        assert case in CASES
    for case in (*REJECTED, *CRASHES):
        assert case in CASES


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_mppsolar_still_rejects_what_real_units_send(protocols, case: str) -> None:
    theirs = _mppsolar(protocols, case)
    assert "validity_check" in theirs, REJECTED[case]
    assert _ours(case)  # we decode it


@pytest.mark.parametrize("case", sorted(CRASHES))
def test_mppsolar_still_crashes(protocols, case: str) -> None:
    with pytest.raises(KeyError):
        _mppsolar(protocols, case)
    assert _ours(case)["device_mode"].value in ("Shutdown", "Charge", "ECO")


def test_mppsolar_drops_qpiws_bits_past_32(protocols) -> None:
    theirs = _mppsolar(protocols, "qpiws-36")
    ours = _ours("qpiws-36")
    assert [name for name in ours if name.startswith("warning_bit_")] == [
        "warning_bit_32", "warning_bit_33", "warning_bit_34", "warning_bit_35"]
    assert not any(name.startswith("warning_bit") for name in theirs)
    assert len([name for name in theirs if name != "validity_check"]) < 32


@pytest.mark.parametrize("command", ["QPIGS", "POP02", "QET"])
def test_both_refuse_a_nak(protocols, command: str) -> None:
    theirs = protocols["pi30"]().decode(encode_reply("NAK"), command)
    assert theirs["validity check"][0] == "Error: NAK"
    with pytest.raises(CommandRefused):
        decode(command, decode_reply(encode_reply("NAK")))


def _captures() -> list[tuple[str, bytes]]:
    module = importlib.import_module("mppsolar.protocols.pi30")
    return [(command, raw) for command, spec in sorted(module.QUERY_COMMANDS.items())
            for raw in spec.get("test_responses", []) if isinstance(raw, bytes) and raw]


# mppsolar's own sample replies that are not valid frames, and why.
BAD_CAPTURES = {
    b"(Sd9\r": "its CRC is not the CRC of '(S' (mppsolar rejects it as well)",
    b"QPGS0?\xda\r": "the request echoed back, not a reply",
}


@pytest.mark.parametrize(("command", "raw"), _captures(), ids=lambda v: v if isinstance(v, str) else "")
def test_mppsolar_sample_replies_decode(command: str, raw: bytes) -> None:
    # Byte-exact replies with their real CRC bytes, shipped with mppsolar 0.16.56.
    if raw in BAD_CAPTURES:
        with pytest.raises(FrameError):
            decode_reply(raw, command=command)
        return
    reading = decode(command, decode_reply(raw, command=command))
    assert reading.fields
