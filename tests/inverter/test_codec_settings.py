"""QPIRI / QDI decoding: ratings vs settings, 25/28 fields, codes nobody documented (PI30.md §3, §5)."""

from __future__ import annotations

import pytest

from solarmon.inverter.codec import decode
from solarmon.inverter.errors import DecodeError
from solarmon.inverter.readings import DefaultSettings, Ratings
from tests.inverter import samples


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("rated_ac_input_voltage_v", 230.0),
        ("rated_ac_input_current_a", 21.7),
        ("rated_ac_output_voltage_v", 230.0),
        ("rated_ac_output_frequency_hz", 50.0),
        ("rated_ac_output_current_a", 21.7),
        ("rated_ac_output_apparent_power_va", 5000),
        ("rated_ac_output_active_power_w", 4000),
        ("rated_battery_voltage_v", 48.0),
        ("battery_recharge_voltage_v", 46.0),
        ("battery_under_voltage_v", 42.0),
        ("battery_bulk_charge_voltage_v", 56.4),
        ("battery_float_charge_voltage_v", 54.0),
        ("battery_type", "AGM"),
        ("max_ac_charging_current_a", 10),
        ("max_charging_current_a", 10),
        ("input_voltage_range", "UPS"),
        ("output_source_priority", "Utility first"),
        ("charger_source_priority", "Utility first"),
        ("max_parallel_units", 6),
        ("machine_type", "Off Grid"),
        ("topology", "transformerless"),
        ("output_mode", "single machine output"),
        ("battery_redischarge_voltage_v", 54.0),
        ("pv_ok_condition",
         "As long as one unit of inverters has connect PV, parallel system will consider PV OK"),
        ("pv_power_balance",
         "PV input max power will be the sum of the max charged power and loads power"),
        ("max_charging_time_for_cv_stage_min", None),
        ("operation_logic", None),
        ("max_discharging_current_a", None),
    ],
)
def test_reference_qpiri_every_attribute(reply, attribute: str, expected: object) -> None:
    reading = decode("QPIRI", reply(samples.QPIRI_25))
    assert isinstance(reading, Ratings)
    assert getattr(reading, attribute) == expected
    assert reading.battery_class_v == 48


def test_ratings_never_collide_with_live_keys(reply) -> None:
    rated = decode("QPIRI", reply(samples.QPIRI_25))
    live = decode("QPIGS", reply(samples.QPIGS_21))
    assert not set(rated.as_dict()) & set(live.as_dict())
    assert rated.get("rated_battery_voltage") == 48.0
    assert rated.get("battery_voltage") is None
    # mppsolar's names are kept for the Prometheus files, where the cmd label tells them apart.
    assert {f.key: f.name for f in rated.fields}["rated_battery_voltage"] == "battery_voltage"


def test_28_field_max_tail(reply) -> None:
    reading = decode("QPIRI", reply(samples.QPIRI_28))
    assert reading.rated_ac_output_active_power_w == 8000
    assert reading.battery_type == "User"
    assert reading.max_charging_time_for_cv_stage_min == 480
    assert reading.operation_logic == "Automatic mode"
    assert reading.max_discharging_current_a == 70
    assert reading.machine_type == "Off Grid"


def test_24v_unit_with_dash_and_two_digit_currents(reply) -> None:
    reading = decode("QPIRI", reply(samples.QPIRI_24V))
    assert reading.battery_class_v == 24
    assert reading.max_parallel_units is None  # "-": no parallel support
    assert reading.get("max_parallel_units") is None
    assert reading.max_charging_current_a == 50
    assert reading.charger_source_priority == "Solar first"
    assert reading.topology == "transformer"


def test_floats_in_the_tail(reply) -> None:
    payload = samples.QPIRI_28.replace("010 030 1 2 2 9", "010.0 030.0 1 2 2 9").replace(
        "480 0 070", "480.0 0 070.0")
    reading = decode("QPIRI", reply(payload))
    assert reading.max_ac_charging_current_a == 10
    assert reading.max_charging_current_a == 30
    assert reading.max_charging_time_for_cv_stage_min == 480
    assert reading.max_discharging_current_a == 70
    assert isinstance(reading.max_discharging_current_a, int)


@pytest.mark.parametrize(
    ("position", "code", "attribute", "expected"),
    [
        (16, "3", "output_source_priority", "unknown (3)"),
        (17, "4", "charger_source_priority", "unknown (4)"),
        (17, "2", "charger_source_priority", "Solar + Utility"),
        (17, "3", "charger_source_priority", "Only solar charging permitted"),
        (12, "3", "battery_type", "Pylontech"),
        (12, "8", "battery_type", "LIb-protocol compatible"),
        (12, "9", "battery_type", "3rd party Lithium"),
        (12, "12", "battery_type", "unknown (12)"),
        (12, "x", "battery_type", "unknown (x)"),
        (19, "10", "machine_type", "Hybrid"),
        (19, "11", "machine_type", "Off Grid with 2 trackers"),
        (19, "20", "machine_type", "Off Grid with 3 trackers"),
        (19, "99", "machine_type", "unknown (99)"),
        (21, "5", "output_mode", "Phase 1 of 2 phase output"),
        (21, "7", "output_mode", "Phase 2 of 2 phase output (180°)"),
        (21, "9", "output_mode", "unknown (9)"),
    ],
)
def test_codes_decode_to_names_or_unknown(reply, position: int, code: str, attribute: str,
                                          expected: str) -> None:
    tokens = samples.QPIRI_25.split()
    tokens[position] = code
    reading = decode("QPIRI", reply(" ".join(tokens)))
    assert getattr(reading, attribute) == expected
    assert reading.rated_ac_output_active_power_w == 4000  # the rest of the frame is kept


def test_extra_qpiri_fields_are_kept(reply) -> None:
    reading = decode("QPIRI", reply(samples.QPIRI_28 + " 5"))
    assert reading.get("qpiri_extra_28") == 5


@pytest.mark.parametrize(
    "payload",
    [
        " ".join(samples.QPIRI_25.split()[:24]),
        samples.QPIRI_25.replace("56.4", "56,4"),
        samples.QPIRI_25.replace("5000", "5OOO"),
    ],
    ids=["24-fields", "comma", "letters"],
)
def test_bad_qpiri_raises(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QPIRI", reply(payload))


def test_qdi_defaults(reply) -> None:
    reading = decode("QDI", reply(samples.QDI))
    assert isinstance(reading, DefaultSettings)
    assert reading.default_ac_output_voltage_v == 230.0
    assert reading.default_max_ac_charging_current_a == 30
    assert reading.default_battery_bulk_charge_voltage_v == 56.4
    assert reading.default_charger_source_priority == "Solar + Utility"
    assert reading.default_buzzer is True  # mppsolar reads the buzzer's 0 as enabled
    assert reading.default_power_saving is False
    assert reading.default_lcd_backlight is True
    assert reading.default_lcd_reset_to_default is True
    assert reading.default_battery_redischarge_voltage_v == 54.0
    assert reading.default_max_charging_time_for_cv_stage_min == 0
    assert reading.default_max_discharging_current_a is None


def test_qdi_keys_never_collide_with_qpiri(reply) -> None:
    defaults = decode("QDI", reply(samples.QDI)).as_dict()
    ratings = decode("QPIRI", reply(samples.QPIRI_25)).as_dict()
    assert not set(defaults) & set(ratings)


@pytest.mark.parametrize(
    "payload",
    [" ".join(samples.QDI.split()[:24]), samples.QDI.replace(" 1 1 0 0 1 0 ", " 1 2 0 0 1 0 ")],
    ids=["24-fields", "switch-2"],
)
def test_bad_qdi_raises(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QDI", reply(payload))
