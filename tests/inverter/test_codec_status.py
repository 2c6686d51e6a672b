"""QPIGS / QPIGS2 decoding: every field count, width and status bit real units send (PI30.md §3, §5)."""

from __future__ import annotations

import pytest

from solarmon.inverter.codec import decode, decode_raw
from solarmon.inverter.errors import CommandRefused, DecodeError
from solarmon.inverter.frame import CrcState, FrameError, encode_reply
from solarmon.inverter.readings import GeneralStatus, GeneralStatus2
from tests.inverter import samples


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("ac_input_voltage_v", 0.0),
        ("ac_input_frequency_hz", 0.0),
        ("ac_output_voltage_v", 230.0),
        ("ac_output_frequency_hz", 49.9),
        ("ac_output_apparent_power_va", 161),
        ("ac_output_active_power_w", 119),
        ("ac_output_load_pct", 3),
        ("bus_voltage_v", 460),
        ("battery_voltage_v", 57.5),
        ("battery_charging_current_a", 12),
        ("battery_capacity_pct", 100),
        ("inverter_heat_sink_temperature_c", 69),
        ("pv_input_current_for_battery_a", 14.0),
        ("pv_input_voltage_v", 103.8),
        ("battery_voltage_from_scc_v", 57.45),
        ("battery_discharge_current_a", 0),
        ("is_sbu_priority_version_added", False),
        ("is_configuration_changed", False),
        ("is_scc_firmware_updated", True),
        ("is_load_on", True),
        ("is_battery_voltage_to_steady_while_charging", False),
        ("is_charging_on", True),
        ("is_scc_charging_on", True),
        ("is_ac_charging_on", False),
        ("battery_voltage_offset_for_fans_on", 0),
        ("eeprom_version", 0),
        ("pv_input_power_w", 856),
        ("is_charging_to_float", False),
        ("is_switched_on", True),
        ("is_reserved_b8", False),
        ("feed_to_grid_status", None),
        ("country_code", None),
        ("feed_to_grid_power_w", None),
    ],
)
def test_reference_qpigs_every_attribute(reply, attribute: str, expected: object) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_21))
    assert isinstance(reading, GeneralStatus)
    value = getattr(reading, attribute)
    assert value == expected
    assert type(value) is type(expected)


def test_fields_and_attributes_agree(reply) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_21))
    assert reading.get("battery_voltage") == reading.battery_voltage_v == 57.5
    assert reading.units()["pv_input_power"] == "W"
    assert [f.key for f in reading.fields][:3] == ["ac_input_voltage", "ac_input_frequency",
                                                    "ac_output_voltage"]
    assert reading.as_dict()["is_load_on"] is True
    assert reading.command == "QPIGS"
    assert reading.payload == samples.QPIGS_21
    assert reading.crc is CrcState.OK


def test_17_field_firmware_leaves_the_tail_empty(reply) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_17))
    assert reading.battery_voltage_v == 52.4
    assert reading.pv_input_current_for_battery_a == 2.3  # "02.3" width
    assert reading.pv_input_power_w is None
    assert reading.is_switched_on is None
    assert len(reading.fields) == 16 + 8


def test_24_field_max_tail_is_named(reply) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_24))
    assert reading.feed_to_grid_status == "Enabled"
    assert reading.country_code == "Germany"
    assert reading.feed_to_grid_power_w == 500
    names = {f.key: f.name for f in reading.fields}
    assert names["feed_to_grid_power"] == "solar_feed_to_grid_power"


def test_fields_past_the_max_tail_are_kept_as_extras(reply) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_24 + " 0042 ab7"))
    assert reading.get("qpigs_extra_24") == 42
    assert reading.get("qpigs_extra_25") == "ab7"
    assert reading.feed_to_grid_power_w == 500


def test_unknown_country_code_is_named_unknown(reply) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_21 + " 0 07 00000"))
    assert reading.country_code == "unknown (07)"
    assert reading.feed_to_grid_status == "Disabled"


@pytest.mark.parametrize(
    ("old", "new", "attribute", "expected"),
    [
        ("0161 0119", "10161 08119", "ac_output_active_power_w", 8119),  # 5-digit power (8 kW)
        ("0014", "02.3", "pv_input_current_for_battery_a", 2.3),
        ("57.50 012", "57.50 12", "battery_charging_current_a", 12),
        ("57.50 012", "57.50 012.0", "battery_charging_current_a", 12),
        ("57.50 012", "57.50 012.5", "battery_charging_current_a", 12.5),  # never silently 0
        ("0069", "-005", "inverter_heat_sink_temperature_c", -5),
        ("00856", "856", "pv_input_power_w", 856),
    ],
)
def test_odd_widths_decode_to_the_same_values(reply, old: str, new: str, attribute: str,
                                              expected: float) -> None:
    assert old in samples.QPIGS_21
    reading = decode("QPIGS", reply(samples.QPIGS_21.replace(old, new, 1)))
    assert getattr(reading, attribute) == expected


@pytest.mark.parametrize(
    ("bits", "charging", "scc", "ac"),
    [("00010000", False, False, False), ("00010110", True, True, False),
     ("00010101", True, False, True), ("00010111", True, True, True)],
)
def test_charging_status_bits(reply, bits: str, charging: bool, scc: bool, ac: bool) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_21.replace("00110110", bits)))
    assert (reading.is_charging_on, reading.is_scc_charging_on, reading.is_ac_charging_on) == (
        charging, scc, ac)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (" ".join(samples.QPIGS_21.split()[:16]), "expected at least 17"),
        (" ".join(samples.QPIGS_21.split()[:19]), "expected 17 or at least 21"),
        (samples.QPIGS_21.replace("57.50", "57.5O"), "battery_voltage"),
        (samples.QPIGS_21.replace("230.0", "2-30.0"), "not a number"),
        (samples.QPIGS_21.replace("00110110", "0011011"), "bits"),
        (samples.QPIGS_21.replace("00110110", "0011x110"), "bits"),
        (samples.QPIGS_21.replace(" 010", " 01"), "bits"),
        (samples.QPIGS_21.replace("57.50", "-"), "required"),
        ("", "expected at least 17"),
    ],
    ids=["16-fields", "19-fields", "letter-O", "dash-inside", "7-bits", "x-bit", "2-bits-b10",
         "dash-battery", "empty"],
)
def test_bad_payloads_raise_decode_error_and_no_values(reply, payload: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as caught:
        decode("QPIGS", reply(payload))
    assert caught.value.kind == "decode"


def test_nak_is_refused(reply) -> None:
    with pytest.raises(CommandRefused) as caught:
        decode("QPIGS", reply("NAK"))
    assert caught.value.kind == "nak"


def test_reply_without_crc_is_flagged(reply) -> None:
    reading = decode("QPIGS", reply(samples.QPIGS_21, with_crc=False))
    assert reading.crc is CrcState.ABSENT
    assert reading.battery_voltage_v == 57.5


def test_lf_terminated_reply_decodes(reply) -> None:
    assert decode("QPIGS", reply(samples.QPIGS_21, terminator=0x0A)).pv_input_power_w == 856


def test_decode_raw_checks_framing_first() -> None:
    raw = bytearray(encode_reply(samples.QPIGS_21))
    assert decode_raw("QPIGS", bytes(raw)).battery_voltage_v == 57.5
    raw[40] ^= 0x04
    with pytest.raises(FrameError):
        decode_raw("QPIGS", bytes(raw))
    with pytest.raises(FrameError) as caught:
        decode_raw("QPIGS", b"QPIGS\xb7\xa9\r")
    assert caught.value.kind == "echo"


def test_qpigs2_second_tracker(reply) -> None:
    reading = decode("QPIGS2", reply(samples.QPIGS2))
    assert isinstance(reading, GeneralStatus2)
    assert (reading.pv2_input_current_a, reading.pv2_input_voltage_v, reading.pv2_charging_power_w) == (
        3.1, 250.1, 775)


@pytest.mark.parametrize("payload", ["03.1 250.1", "03.1 x 00775"])
def test_qpigs2_bad_payloads(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QPIGS2", reply(payload))
