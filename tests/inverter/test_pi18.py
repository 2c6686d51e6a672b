"""PI18 (docs/PROTOCOLS-PI18.md): framing, codec, catalog entries and setting rules."""

from __future__ import annotations

import pytest

from solarmon.inverter.catalog import Kind, by_wire, classify_alarms, derive, info
from solarmon.inverter.errors import CommandRefused, DecodeError, SettingRejected
from solarmon.inverter.frame import FrameError
from solarmon.inverter.pi18 import policy
from solarmon.inverter.pi18.codec import decode, decode_raw, reply_fits
from solarmon.inverter.pi18.frame import command_of, decode_reply, encode_ack, encode_reply, encode_request
from solarmon.inverter.pi18.readings import Pi18Ratings, Pi18Status
from solarmon.inverter.policy import CommandClass
from tests.inverter import pi18_samples as s


def frame(payload: str):
    return decode_reply(encode_reply(payload))


# --- framing -----------------------------------------------------------------------------------

def test_requests_carry_their_length_and_crc() -> None:
    assert encode_request("GS") == b"^P005GS" + bytes.fromhex("5814") + b"\r"
    assert encode_request("PIRI").startswith(b"^P007PIRI")
    assert encode_request("ED20240315").startswith(b"^P013ED20240315")
    assert encode_request("MCHGV552,540", setter=True).startswith(b"^S015MCHGV552,540")
    assert command_of(encode_request("POP0", setter=True)) == ("POP0", True)
    assert command_of(b"^P003PI\xc3+\r") is None  # the wrong length a unit refused (issue #59)


def test_replies_as_mppsolar_and_real_units_send_them() -> None:
    assert encode_reply("18") == b"^D00518;\x03\r"  # mppsolar's PI test reply, byte for byte
    assert encode_reply("05580051") == b"^D01105580051\x0b\x9f\r"  # its EY test reply
    assert encode_ack(False) == bytes.fromhex("5e301be30d")  # captured (issue #59)
    assert encode_ack(True) == b"^1\x0b\xc2\r"
    assert decode_reply(encode_ack(True)).is_ack
    assert decode_reply(encode_ack(False)).is_nak


@pytest.mark.parametrize(("raw", "kind"), [
    (b"^D00518;\x04\r", "crc"),
    (b"^D00618;\x03\r", "truncated"),
    (b"^D00518;\x03", "truncated"),
    (b"(PI30\x9a\x0b\r", "garbage"),
    (b"^P005GSX\x14\r", "echo"),
    (b"^1\x0b\xc3\r", "crc"),
])
def test_bad_frames_are_refused_by_kind(raw: bytes, kind: str) -> None:
    with pytest.raises(FrameError) as err:
        decode_reply(raw)
    assert err.value.kind == kind


# --- codec -------------------------------------------------------------------------------------

def test_general_status() -> None:
    reading = decode("GS", frame(s.GS_CHARGING))
    assert isinstance(reading, Pi18Status)
    assert reading.ac_input_voltage_v == 230.1
    assert reading.ac_output_active_power_w == 1100
    assert reading.battery_voltage_v == 52.7
    assert reading.battery_voltage_from_scc_v == 52.8
    assert reading.battery_charging_current_a == 12
    assert reading.battery_capacity_pct == 85
    assert reading.pv_input_power_w == 1720
    assert reading.pv_input_voltage_v == 312.5
    assert reading.mppt1_charger_status == "charging"
    assert reading.battery_power_direction == "charge"
    assert reading.dc_ac_power_direction == "DC-AC"
    assert reading.is_load_on
    assert derive(reading.as_dict())["pv_power_total"] == 1720.0


def test_ratings_and_settings() -> None:
    reading = decode("PIRI", frame(s.PIRI))
    assert isinstance(reading, Pi18Ratings)
    assert reading.rated_battery_voltage_v == 48.0
    assert reading.battery_class_v == 48
    assert reading.battery_bulk_charge_voltage_v == 55.2
    assert reading.battery_float_charge_voltage_v == 54.5
    assert reading.battery_type_pi18 == "User"
    assert reading.output_source_priority_pi18 == "Solar-Battery-Utility"
    assert reading.charger_source_priority_pi18 == "Solar and Utility"
    assert reading.output_mode == "single machine output"
    assert reading.max_parallel_units == 9
    assert reading.get("piri_extra_25") == 0


@pytest.mark.parametrize(("code", "mode"), [("00", "Power on"), ("03", "Battery"), ("04", "Fault"),
                                            ("05", "Line"), ("09", "unknown (9)")])
def test_mode_speaks_qmods_words(code: str, mode: str) -> None:
    reading = decode("MOD", frame(code))
    assert reading.device_mode == mode
    assert reading.code == code


def test_fault_code_is_the_fault_bit() -> None:
    ok = decode("FWS", frame(s.FWS_OK))
    assert ok.faults == ()
    assert ok.warnings == ()
    fault = decode("FWS", frame(s.FWS_FAN_FAULT))
    assert fault.get("fault_code") == "Fan is locked"
    assert fault.faults == ("inverter_fault", "fan_locked", "overload")
    warning_only = decode("FWS", frame("00," + ",".join("0001000100000000")))
    assert warning_only.faults == ()
    assert warning_only.warnings == ("fan_locked", "overload")
    assert classify_alarms(warning_only.as_dict()) == ([], ["fan_locked", "overload"])


def test_flags_text_energy_and_lists() -> None:
    flags = decode("FLAG", frame(s.FLAG))
    assert flags.buzzer
    assert not flags.lcd_reset_to_default
    assert decode("ID", frame("1401234567890123456789")).text == "01234567890123"
    assert decode("PI", frame("18")).text == "PI18"
    vfw = decode("VFW", frame("05220,00000,00000"))
    assert vfw.get("main_cpu_firmware_version") == "05220"
    energy = decode("EY2024", frame("05580051"))
    assert energy.energy_wh == 5580051
    assert energy.period == "2024"
    assert decode("MCHGCR", frame(s.MCHGCR)).options_a == (10, 20, 30, 40, 50, 60, 70, 80)
    assert decode("POP0", decode_reply(encode_ack(True))).accepted


@pytest.mark.parametrize(("command", "payload"), [
    ("GS", s.GS.rsplit(",", 2)[0]),
    ("GS", s.GS.replace("2232", "22.3", 1)),
    ("PIRI", s.PIRI.replace(",2,10,", ",x,10,")),
    ("MOD", "3"),
    ("FWS", "00,0,2"),
    ("ID", "14012"),
])
def test_payloads_that_do_not_fit_give_no_values(command: str, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode(command, frame(payload))


def test_refusals() -> None:
    with pytest.raises(CommandRefused):
        decode_raw("GS", encode_ack(False))
    with pytest.raises(DecodeError):
        decode_raw("GS", encode_ack(True))


def test_reply_shapes_tell_commands_apart() -> None:
    assert reply_fits("GS", frame(s.GS))
    assert not reply_fits("PIRI", frame(s.GS))
    assert not reply_fits("GS", frame(s.PIRI))
    assert not reply_fits("MOD", frame(s.FLAG))
    assert reply_fits("POP0", decode_reply(encode_ack(True)))
    assert not reply_fits("POP0", frame("03"))


# --- catalog -----------------------------------------------------------------------------------

def _all_readings():
    yield decode("GS", frame(s.GS))
    yield decode("PIRI", frame(s.PIRI))
    yield decode("MOD", frame("03"))
    yield decode("FWS", frame(s.FWS_FAN_FAULT))
    yield decode("FLAG", frame(s.FLAG))
    yield decode("ID", frame("1401234567890123456789"))
    yield decode("PI", frame("18"))
    yield decode("VFW", frame("05220,00001,00002"))
    yield decode("ET", frame("00123456"))
    yield decode("ED20240315", frame("00001234"))
    yield decode("MCHGCR", frame(s.MCHGCR))
    yield decode("MUCHGCR", frame(s.MUCHGCR))


def test_every_field_is_in_the_catalog_and_its_wire_name_maps_back() -> None:
    seen = 0
    for reading in _all_readings():
        for field in reading.fields:
            entry = info(field.key)
            assert entry is not None, (reading.command, field.key)
            assert entry.unit == field.unit, field
            mapped = by_wire(field.name, reading.command)
            assert mapped is not None, (reading.command, field.name)
            assert mapped.key == field.key, (reading.command, field.name)
            seen += 1
    assert seen > 80


def test_pi18_kinds() -> None:
    assert info("output_source_priority_pi18").kind is Kind.SETTING
    assert info("battery_type_pi18").kind is Kind.SETTING
    assert info("mppt_strings").kind is Kind.RATING
    assert info("battery_voltage_from_scc2").kind is Kind.MEASUREMENT
    assert info("battery_voltage_from_scc2").precision == 1
    assert info("pv2_voltage_high").kind is Kind.WARNING
    assert info("mppt1_charger_status").kind is Kind.ENUM
    assert by_wire("grid_voltage", "GS").key == "ac_input_voltage"
    assert by_wire("pv1_input_power", "GS").key == "pv_input_power"


# --- setting rules -----------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "verdict"), [
    ("GS", CommandClass.QUERY), ("EY2024", CommandClass.QUERY), ("POP1", CommandClass.DANGEROUS),
    ("PSP0", CommandClass.SETTING), ("PCP0,2", CommandClass.DANGEROUS), ("PEI", CommandClass.DANGEROUS),
    ("MCHGC1,030", CommandClass.SETTING), ("MUCHGC0,002", CommandClass.SETTING),
    ("PBT2", CommandClass.DANGEROUS), ("MCHGV552,540", CommandClass.DANGEROUS),
    ("PSDV450", CommandClass.DANGEROUS), ("BUCD440,480", CommandClass.DANGEROUS),
    ("POP2", CommandClass.UNKNOWN), ("PBT3", CommandClass.UNKNOWN), ("PF", CommandClass.UNKNOWN),
    ("QPIGS", CommandClass.UNKNOWN), ("MCHGV55.2", CommandClass.UNKNOWN), ("LON1", CommandClass.UNKNOWN),
])
def test_classify(command: str, verdict: CommandClass) -> None:
    assert policy.classify(command) is verdict


RATINGS_48 = {"rated_battery_voltage": 48.0, "max_parallel_units": 3}
CURRENTS = {"max_charging_current_options": [10, 20, 30, 60],
            "max_utility_charging_current_options": "2 10 30"}


@pytest.mark.parametrize("command", ["MCHGV552,540", "PSDV450", "BUCD440,480", "BUCD450,000",
                                     "MCHGC2,030", "MUCHGC0,002", "POP0", "PCP1,2"])
def test_allowed_settings_pass(command: str) -> None:
    assert policy.validate_setting(command, RATINGS_48, CURRENTS) == command


@pytest.mark.parametrize(("command", "ratings", "why"), [
    ("MCHGV600,540", RATINGS_48, "outside"),
    ("MCHGV520,540", RATINGS_48, "above bulk"),
    ("PSDV390", RATINGS_48, "outside"),
    ("PSDV450", None, "battery class is unknown"),
    ("PSDV250", {"rated_battery_voltage": 24.0}, "outside"),
    ("BUCD500,490", RATINGS_48, "must be above"),
    ("MCHGC0,040", RATINGS_48, "not one of"),
    ("MCHGC3,030", RATINGS_48, "parallel maximum"),
    ("GS", RATINGS_48, "a query"),
    ("PBT9", RATINGS_48, "not a known"),
])
def test_refused_settings_name_the_limit(command: str, ratings, why: str) -> None:
    with pytest.raises(SettingRejected, match=why):
        policy.validate_setting(command, ratings, CURRENTS)


def test_a_24v_unit_scales_the_range() -> None:
    assert policy.validate_setting("PSDV220", {"rated_battery_voltage": 24.0}) == "PSDV220"


def test_currents_must_be_known() -> None:
    with pytest.raises(SettingRejected, match="unknown"):
        policy.validate_setting("MCHGC0,030", RATINGS_48, None)
