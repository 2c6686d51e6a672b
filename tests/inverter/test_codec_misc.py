"""QMOD, QPIWS, QFLAG, identity, current lists, QBOOT, QOPM, energy counters and setter replies."""

from __future__ import annotations

import pytest

from solarmon.inverter.codec import base_command, decode
from solarmon.inverter.errors import CommandRefused, DecodeError
from solarmon.inverter.readings import (
    Ack,
    Bootstrap,
    CurrentOptions,
    DeviceMode,
    Energy,
    Flags,
    OutputMode,
    TextReading,
    Warnings,
)
from solarmon.inverter.tables import WARNING_BITS
from tests.inverter import samples


@pytest.mark.parametrize(
    ("letter", "mode"),
    [("P", "Power on"), ("S", "Standby"), ("L", "Line"), ("B", "Battery"), ("F", "Fault"),
     ("H", "Power saving"), ("D", "Shutdown"), ("C", "Charge"), ("Y", "Bypass"), ("E", "ECO"),
     ("X", "unknown (X)"), ("b", "unknown (b)")],
)
def test_every_qmod_letter(reply, letter: str, mode: str) -> None:
    reading = decode("QMOD", reply(letter))
    assert isinstance(reading, DeviceMode)
    assert (reading.device_mode, reading.code) == (mode, letter)
    assert reading.as_dict() == {"device_mode": mode}


@pytest.mark.parametrize("payload", ["", "BL", "5", "B L"])
def test_qmod_that_is_not_one_letter(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QMOD", reply(payload))


def _bits(*active: int, length: int = 32) -> str:
    return "".join("1" if i in active else "0" for i in range(length))


@pytest.mark.parametrize(
    ("active", "faults", "warnings"),
    [
        ((), (), ()),
        ((5, 16), (), ("line_fail", "overload")),
        ((1, 16), ("inverter_fault", "overload"), ()),
        ((9, 10, 11), (), ("over_temperature", "fan_locked", "battery_voltage_high")),
        ((1, 9, 10, 11), ("inverter_fault", "over_temperature", "fan_locked", "battery_voltage_high"), ()),
        ((2, 12, 22), ("bus_over", "battery_open"), ("battery_low_alarm",)),
        ((27, 28), ("mppt_overload_fault",), ("mppt_overload_warning",)),
        ((0, 15, 31), (), ("pv_loss", "battery_derating", "battery_weak")),
    ],
)
def test_qpiws_faults_and_warnings(reply, active: tuple[int, ...], faults: tuple[str, ...],
                                   warnings: tuple[str, ...]) -> None:
    reading = decode("QPIWS", reply(_bits(*active)))
    assert isinstance(reading, Warnings)
    assert reading.faults == faults
    assert reading.warnings == warnings
    assert reading.get("faults_active") == len(faults)
    assert reading.get("warnings_active") == len(warnings)
    for position, bit in enumerate(WARNING_BITS):
        assert reading.is_active(bit.key) is (position in active)


def test_reference_qpiws(reply) -> None:
    reading = decode("QPIWS", reply(samples.QPIWS_32))
    assert reading.is_active("line_fail")
    assert reading.is_active("overload")
    assert reading.warnings == ("line_fail", "overload")
    assert reading.bits == samples.QPIWS_32


@pytest.mark.parametrize("length", [36, 38])
def test_long_qpiws_keeps_the_extra_bits(reply, length: int) -> None:
    reading = decode("QPIWS", reply(_bits(1, length - 1, length=length)))
    assert reading.get(f"warning_bit_{length - 1}") is True
    assert reading.get("warning_bit_32") is False
    assert f"warning_bit_{length - 1}" in reading.warnings
    assert reading.faults == ("inverter_fault",)


@pytest.mark.parametrize("payload", ["0" * 31, "0" * 31 + "2", "0000 0000" * 4, ""])
def test_bad_qpiws(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QPIWS", reply(payload))


def test_reference_qflag(reply) -> None:
    reading = decode("QFLAG", reply(samples.QFLAG))
    assert isinstance(reading, Flags)
    assert (reading.buzzer, reading.lcd_reset_to_default, reading.lcd_backlight,
            reading.primary_source_interrupt_alarm) == (True, True, True, True)
    assert (reading.overload_bypass, reading.power_saving, reading.overload_restart,
            reading.over_temperature_restart, reading.record_fault_code) == (False,) * 5
    assert reading.solar_feed_to_grid is None
    assert reading.data_log_popup is None


@pytest.mark.parametrize(
    ("payload", "key", "value"),
    [
        ("EadDbjl", "solar_feed_to_grid", True),
        ("EaDbjl", "data_log_popup", False),
        ("EaqDb", "flag_q", True),
        ("EaDbw", "flag_w", False),
        ("DabE", "buzzer", False),
        ("E", "buzzer", None),
        ("Dz", "record_fault_code", False),
    ],
)
def test_qflag_letters(reply, payload: str, key: str, value: bool | None) -> None:
    assert decode("QFLAG", reply(payload)).get(key) is value


def test_unknown_qflag_letters_keep_mppsolar_names(reply) -> None:
    reading = decode("QFLAG", reply("EaqDb"))
    assert {f.key: f.name for f in reading.fields}["flag_q"] == "unknown_q"
    assert reading.buzzer is True
    assert reading.overload_bypass is False


@pytest.mark.parametrize("payload", ["akDb", "EaKDb", "Ea1Db", "Ea Db", ""])
def test_bad_qflag(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QFLAG", reply(payload))


@pytest.mark.parametrize(
    ("command", "payload", "key"),
    [
        ("QPI", "PI30", "protocol_id"),
        ("QID", "92932004102443", "serial_number"),
        ("QVFW", "VERFW:00072.70", "main_cpu_firmware_version"),
        ("QVFW2", "VERFW2:00000.00", "secondary_cpu_firmware_version"),
    ],
)
def test_text_replies(reply, command: str, payload: str, key: str) -> None:
    reading = decode(command, reply(payload))
    assert isinstance(reading, TextReading)
    assert reading.text == payload
    assert reading.as_dict() == {key: payload}


@pytest.mark.parametrize(
    ("payload", "serial"),
    [("1492932105105335005535", "92932105105335"), ("0592932", "92932"), ("0999", "0999")],
)
def test_qsid_length_prefixed_serial(reply, payload: str, serial: str) -> None:
    assert decode("QSID", reply(payload)).as_dict() == {"serial_number": serial}


@pytest.mark.parametrize(
    ("command", "payload", "options"),
    [
        ("QMCHGCR", samples.QMCHGCR, (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)),
        ("QMUCHGCR", samples.QMUCHGCR, (2, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)),
        ("QMCHGCR", "20 40 60", (20, 40, 60)),
    ],
)
def test_current_lists(reply, command: str, payload: str, options: tuple[int, ...]) -> None:
    reading = decode(command, reply(payload))
    assert isinstance(reading, CurrentOptions)
    assert reading.options_a == options


@pytest.mark.parametrize("payload", ["010 02.5 030", "010 abc", ""])
def test_bad_current_lists(reply, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode("QMCHGCR", reply(payload))


@pytest.mark.parametrize(("payload", "value"), [("0", False), ("1", True)])
def test_qboot(reply, payload: str, value: bool) -> None:
    reading = decode("QBOOT", reply(payload))
    assert isinstance(reading, Bootstrap)
    assert reading.dsp_has_bootstrap is value


@pytest.mark.parametrize(
    ("payload", "mode"),
    [("00", "single machine output"), ("01", "parallel output"), ("4", "Phase 3 of 3 Phase output"),
     ("06", "Phase 2 of 2 phase output (120°)"), ("12", "unknown (12)")],
)
def test_qopm(reply, payload: str, mode: str) -> None:
    reading = decode("QOPM", reply(payload))
    assert isinstance(reading, OutputMode)
    assert reading.output_mode == mode


@pytest.mark.parametrize(("command", "payload"), [("QBOOT", "2"), ("QBOOT", "Y"), ("QOPM", "A1")])
def test_bad_qboot_qopm(reply, command: str, payload: str) -> None:
    with pytest.raises(DecodeError):
        decode(command, reply(payload))


@pytest.mark.parametrize(
    ("command", "key", "source", "period"),
    [
        ("QET", "pv_energy_total", "pv", ""),
        ("QEY2024", "pv_energy_year", "pv", "2024"),
        ("QEM202403", "pv_energy_month", "pv", "202403"),
        ("QED20240315", "pv_energy_day", "pv", "20240315"),
        ("QLT", "load_energy_total", "load", ""),
        ("QLY2024", "load_energy_year", "load", "2024"),
        ("QLM202403", "load_energy_month", "load", "202403"),
        ("QLD20240315", "load_energy_day", "load", "20240315"),
    ],
)
def test_energy_counters(reply, command: str, key: str, source: str, period: str) -> None:
    reading = decode(command, reply("00123456"))
    assert isinstance(reading, Energy)
    assert (reading.energy_wh, reading.source, reading.period) == (123456, source, period)
    assert reading.as_dict() == {key: 123456}
    assert reading.units() == {key: "Wh"}


@pytest.mark.parametrize("command", ["QET", "QLD20240315"])
def test_energy_nak_and_garbage(reply, command: str) -> None:
    with pytest.raises(CommandRefused):
        decode(command, reply("NAK"))
    with pytest.raises(DecodeError):
        decode(command, reply("0012.456"))


@pytest.mark.parametrize("command", ["POP02", "PBCV48.0", "PEa", "PF", "MCHGC030", "F50"])
def test_setter_ack_and_nak(reply, command: str) -> None:
    reading = decode(command, reply("ACK"))
    assert isinstance(reading, Ack)
    assert reading.accepted is True
    with pytest.raises(CommandRefused, match=command):
        decode(command, reply("NAK"))


def test_setter_with_another_reply_is_a_decode_error(reply) -> None:
    with pytest.raises(DecodeError, match="ACK or NAK"):
        decode("POP02", reply("B"))


def test_unknown_query_keeps_the_payload(reply) -> None:
    reading = decode("QGMN", reply("044"))
    assert isinstance(reading, TextReading)
    assert reading.as_dict() == {"response": "044"}


@pytest.mark.parametrize(
    ("command", "base"),
    [("QEY2024", "QEY"), ("QEM202403", "QEM"), ("QED20240315", "QED"), ("QLD20240315", "QLD"),
     ("QET", "QET"), ("QEY24", "QEY24"), ("QED2024031", "QED2024031"), ("QPIGS", "QPIGS")],
)
def test_base_command(command: str, base: str) -> None:
    assert base_command(command) == base
