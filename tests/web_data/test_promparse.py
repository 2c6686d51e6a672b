"""The .prom parser against real files: mppsolar 0.16.56's own output, this project's daemon's,
generic house/weather files, and broken files of every kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from solarmon.web.promparse import (
    PromFileError,
    guess_unit,
    parse_prom_text,
    source_for_filename,
    unit_from_help,
)
from tests.web_data.conftest import QMOD, QPIGS, QPIRI, write_daemon_file, write_mppsolar_files


def parse_file(path: Path) -> list:
    return parse_prom_text(path.read_text(), filename=path.name, mtime=path.stat().st_mtime)


@pytest.mark.parametrize(
    ("command", "payload", "key", "value", "unit"),
    [
        ("QPIGS", QPIGS, "battery_voltage", 57.5, "V"),
        ("QPIGS", QPIGS, "pv_input_power", 856, "W"),
        ("QPIGS", QPIGS, "ac_output_apparent_power", 161, "VA"),
        ("QPIGS", QPIGS, "ac_output_frequency", 49.9, "Hz"),
        ("QPIGS", QPIGS, "battery_capacity", 100, "%"),
        ("QPIGS", QPIGS, "inverter_heat_sink_temperature", 69, "°C"),
        ("QPIGS", QPIGS, "is_scc_charging_on", 1, ""),
        ("QPIRI", QPIRI, "rated_battery_voltage", 48.0, "V"),
        ("QPIRI", QPIRI, "rated_ac_output_active_power", 4000, "W"),
        ("QPIRI", QPIRI, "battery_bulk_charge_voltage", 56.4, "V"),
        ("QMOD", QMOD, "device_mode", "Battery", ""),
    ],
)
def test_mppsolar_prom_file_output(prom_dir, command, payload, key, value, unit):
    (path,) = write_mppsolar_files(prom_dir, "Inverter_1", {command: payload})
    (update,) = parse_file(path)
    assert update.source == "inverter:Inverter_1"
    assert update.values[key] == value
    assert update.units[key] == unit
    assert "machine_role" not in update.values
    assert update.ok


def test_mppsolar_rating_does_not_shadow_live_value(prom_dir):
    paths = write_mppsolar_files(prom_dir, "Inverter_1", {"QPIGS": QPIGS, "QPIRI": QPIRI})
    values = {}
    for path in paths:
        for update in parse_file(path):
            values.update(update.values)
    assert values["battery_voltage"] == 57.5
    assert values["rated_battery_voltage"] == 48.0


@pytest.mark.parametrize(
    ("key", "value", "unit"),
    [
        ("battery_voltage", 57.5, "V"),
        ("rated_battery_voltage", 48.0, "V"),
        ("pv_input_power", 856, "W"),
        ("device_mode", "Battery", ""),
        ("battery_type", "AGM", ""),
        # Flags are unitless although their names hold "voltage": the daemon's field_info says so.
        ("battery_voltage_high", 0, ""),
        ("inverter_voltage_too_low", 0, ""),
    ],
)
def test_daemon_file(prom_dir, key, value, unit):
    replies = {"QPIGS": QPIGS, "QPIRI": QPIRI, "QMOD": QMOD, "QPIWS": "0" * 32}
    path = write_daemon_file(prom_dir, "main", replies, read_at=1.7e9)
    (update,) = parse_file(path)
    assert update.source == "inverter:main"
    assert update.values[key] == value
    assert update.units[key] == unit
    assert update.ts == 1.7e9  # the reading time the daemon states, not the file's mtime
    assert "reading_timestamp_seconds" not in update.values
    assert "up" not in update.values
    # The daemon's own health series are not inverter values.
    assert not any(k.startswith(("errors_total", "poll_duration")) for k in update.values)


def test_daemon_file_reports_down(prom_dir):
    path = write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS}, up=False)
    (update,) = parse_file(path)
    assert not update.ok
    assert "down" in (update.error or "")


def test_non_finite_values_are_no_reading():
    text = (
        'mpp_solar_battery_voltage{inverter="a"} NaN\n'
        'mpp_solar_pv_input_power{inverter="a"} +Inf\n'
        'mpp_solar_ac_output_active_power{inverter="a"} 120\n'
    )
    (update,) = parse_prom_text(text, filename="mpp-solar-a.prom", mtime=1.0)
    assert update.values == {"ac_output_active_power": 120}


@pytest.mark.parametrize("stamp", ["NaN", "0", "-5"])
def test_unusable_reading_time_falls_back_to_mtime(stamp):
    text = (
        f'mpp_solar_reading_timestamp_seconds{{inverter="a",cmd="QPIGS"}} {stamp}\n'
        'mpp_solar_battery_voltage{inverter="a",cmd="QPIGS"} 52.5\n'
    )
    (update,) = parse_prom_text(text, filename="mpp-solar-a.prom", mtime=77.0)
    assert update.ts == 77.0


def test_two_inverters_in_one_file_are_two_sources():
    text = (
        'mpp_solar_battery_voltage{inverter="a",cmd="QPIGS"} 51.2\n'
        'mpp_solar_battery_voltage{inverter="b",cmd="QPIGS"} 52.4\n'
    )
    updates = {u.source: u for u in parse_prom_text(text, filename="mpp-solar-x.prom", mtime=5.0)}
    assert updates["inverter:a"].values == {"battery_voltage": 51.2}
    assert updates["inverter:b"].values == {"battery_voltage": 52.4}
    assert updates["inverter:a"].ts == 5.0


def test_generic_house_file_keeps_names_and_labels():
    text = (
        "# HELP house_temperature_celsius Room temperature\n"
        "# TYPE house_temperature_celsius gauge\n"
        'house_temperature_celsius{room="kitchen"} 21.5\n'
        'house_temperature_celsius{room="attic"} 14.0\n'
        "# HELP house_pressure Air pressure [hPa]\n"
        "house_pressure 1013.2\n"
    )
    (update,) = parse_prom_text(text, filename="house.prom", mtime=1.0)
    assert update.source == "house"
    assert update.values == {
        "house_temperature_celsius:kitchen": 21.5,
        "house_temperature_celsius:attic": 14.0,
        "house_pressure": 1013.2,
    }
    assert update.units["house_temperature_celsius:kitchen"] == "°C"
    assert update.units["house_pressure"] == "hPa"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ('mpp_solar_battery_voltage{inverter="a"} 57.', "truncated"),
        ('mpp_solar_battery_voltage{inverter="a"} 57.5\nmpp_solar_pv_inp', "truncated"),
        ('mpp_solar_battery_voltage{inverter="a",dev\n', "garbage"),
        ("this is not a prometheus file at all\n", "garbage"),
        ('mpp_solar_battery_voltage{inverter="a"} fifty\n', "garbage"),
        ("# only a comment\n", "no_samples"),
        ('machine_role{role="mpp_solar"} 1\n', "no_samples"),
    ],
)
def test_bad_files_raise_a_counted_kind(text, kind):
    with pytest.raises(PromFileError) as info:
        parse_prom_text(text, filename="mpp-solar-a.prom", mtime=0.0)
    assert info.value.kind == kind


@pytest.mark.parametrize(
    ("filename", "source"),
    [
        ("mpp-solar-main.prom", "inverter:main"),
        ("mpp-solar-Inverter_1-qpigs.prom", "inverter:Inverter_1"),
        ("mpp-solar-east-wing-qpiri.prom", "inverter:east-wing"),
        ("mpp-solar-east-wing.prom", "inverter:east-wing"),
        ("mpp-solar-qpigs.prom", "inverter:mpp_solar"),
        ("house.prom", "house"),
        ("weather.prom", "weather"),
    ],
)
def test_source_for_filename(filename, source):
    assert source_for_filename(filename) == source


@pytest.mark.parametrize(
    ("help_text", "unit"),
    [("battery voltage (V)", "V"), ("Air pressure [hPa]", "hPa"), ("status (ok)", None), ("plain", None)],
)
def test_unit_from_help(help_text, unit):
    assert unit_from_help(help_text) == unit


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("node_power_watts", "W"),
        ("output_load_energy_for_day", "Wh"),
        ("ac_output_load", "%"),
        ("pv2_input_current", "A"),
        ("is_load_on", ""),
        ("errors_total", ""),
        ("battery_type", ""),
    ],
)
def test_guess_unit(name, unit):
    assert guess_unit(name) == unit
