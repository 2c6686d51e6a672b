"""JK codecs: public captures (tests/bms/samples.py names each source) and hand-built edge cases."""

from __future__ import annotations

import pytest

from solarmon.bms import catalog, jk, jk_legacy
from solarmon.bms.errors import (
    FrameChecksum,
    FrameCounter,
    FrameError,
    FrameForeign,
    FrameTruncated,
    FrameUndecodable,
)
from tests.bms import samples


def test_request_is_the_vendor_example() -> None:
    # [E] "Request / Response example"
    assert jk.request() == bytes.fromhex("4E 57 00 13 00 00 00 00 06 03 00 00 00 00 00 00 68 00 00 01 29")


def test_mppsolar_capture_decodes() -> None:
    values = jk.decode(samples.JK_M_14S).as_dict()
    assert values["cell_count"] == 14
    assert values["cell_voltage_01"] == 3.984
    assert values["cell_voltage_14"] == 3.981
    assert values["cell_voltage_min"] == 3.981
    assert values["cell_voltage_max"] == 3.988
    assert values["cell_voltage_delta"] == 0.007
    assert (values["cell_min_index"], values["cell_max_index"]) == (14, 3)
    assert values["pack_voltage"] == 55.78
    assert values["pack_current"] == 4.53  # 0x81C5, protocol version 1: bit 15 = charging
    assert values["pack_power"] == pytest.approx(55.78 * 4.53, abs=0.1)
    assert values["soc"] == 100
    assert values["cycle_count"] == 25
    assert values["full_capacity"] == 234
    assert values["remaining_capacity"] == 234.0
    assert (values["mos_temperature"], values["temperature_1"], values["temperature_2"]) == (33, 28, 30)
    assert values["charge_mosfet"] is True
    assert values["discharge_mosfet"] is True
    assert values["balancer_active"] is False
    assert values["balancer_enabled"] is True
    assert values["protections_active"] == 0
    assert values["alarms_active"] == 0
    assert values["software_version"] == "11.XW_S11.261__"


def test_esphome_capture_decodes_with_balancer_running() -> None:
    values = jk.decode(samples.JK_E_14S).as_dict()
    assert values["pack_voltage"] == 53.59
    assert values["pack_current"] == 2.08
    assert values["soc"] == 15
    assert values["balancer_active"] is True  # 0x8C = 0x0007
    assert values["cell_voltage_09"] == 3.811  # 0x0EE3, the lowest
    assert values["cell_min_index"] == 9


def test_seven_cell_capture_decodes() -> None:
    values = jk.decode(samples.JK_K_7S).as_dict()
    assert values["cell_count"] == 7
    assert values["pack_voltage"] == 26.58
    assert values["soc"] == 90
    assert values["pack_current"] == -0.0
    assert values["full_capacity"] == 117


def test_every_decoded_key_is_in_the_catalog() -> None:
    for frame in (samples.JK_M_14S, samples.JK_E_14S, samples.JK_K_7S):
        for field in jk.decode(frame).fields:
            entry = catalog.info(field.key)
            assert entry is not None
            assert entry.unit == field.unit


def test_current_of_protocol_version_zero() -> None:
    # [E] 0x84 note: version 0 is 10000 - raw, x 0.01 A; (10000-11000) = -10 A discharging
    assert jk.current(11000, 0) == -10.0
    assert jk.current(9500, 0) == 5.0
    assert jk.current(0x07D0, 1) == -20.0
    assert jk.current(0x87D0, 1) == 20.0


def test_negative_temperature() -> None:
    assert jk.temperature(101) == -1
    assert jk.temperature(100) == 100
    assert jk.temperature(0) == 0


def _alarm_frame(warning_bits: int) -> bytes:
    cells_volts_current_soc = bytes.fromhex("79 06 01 0D 05 02 0D 16 83 0A 62 84 80 64 85 32")
    info = cells_volts_current_soc + b"\x8b" + warning_bits.to_bytes(2, "big")
    return jk.encode(info + bytes.fromhex("8C 00 01 C0 01"))


def test_alarms_by_name() -> None:
    values = jk.decode(_alarm_frame(1 << 10 | 1)).as_dict()
    assert values["cell_overvoltage"] is True
    assert values["low_capacity"] is True
    assert values["charge_overcurrent"] is False
    assert values["protections_active"] == 1
    assert values["alarms_active"] == 1
    assert values["charge_mosfet"] is True
    assert values["discharge_mosfet"] is False
    faults, warnings = catalog.classify_alarms(values)
    assert faults == ["cell_overvoltage"]
    assert warnings == ["low_capacity"]


# --- frames that must never become values ------------------------------------------------------

def _flip_checksum(frame: bytes) -> bytes:
    return frame[:-1] + bytes(((frame[-1] + 1) & 0xFF,))


@pytest.mark.parametrize(("frame", "error"), [
    pytest.param(_flip_checksum(samples.JK_M_14S), FrameChecksum, id="checksum"),
    pytest.param(samples.JK_M_14S[:200] + b"\x00" + samples.JK_M_14S[201:], FrameChecksum,
                 id="one-byte-changed"),
    pytest.param(samples.JK_M_CUT, FrameTruncated, id="mppsolar-cut-capture"),
    pytest.param(samples.JK_M_14S[:-1], FrameTruncated, id="one-byte-short"),
    pytest.param(b"NW", FrameTruncated, id="start-only"),
    pytest.param(samples.DALY_M_SOC, FrameForeign, id="daly-frame"),
    pytest.param(b"(230.0 50.0 230.0\r", FrameForeign, id="pi30-reply"),
    pytest.param(samples.JK_M_14S + b"\x00", FrameForeign, id="trailing-byte"),
    pytest.param(samples.JK_M_14S[:-5] + b"\x00" + samples.JK_M_14S[-4:], FrameForeign, id="no-end-flag"),
    pytest.param(jk.encode(b"\x83\x0a\x62\x7f\x00"), FrameUndecodable, id="unknown-register"),
    pytest.param(jk.encode(b"\x83\x0a"), FrameUndecodable, id="short-record"),
    pytest.param(jk.request(), FrameForeign, id="a-request"),
])
def test_bad_frames_are_rejected_and_counted(frame: bytes, error: type[FrameError]) -> None:
    counter = FrameCounter()
    with pytest.raises(error):
        counter.decode(jk.decode, frame)
    assert counter.counts()[error.kind] == 1
    assert sum(counter.counts().values()) == 1


def test_expected_length() -> None:
    assert jk.expected_length(b"NW") is None
    assert jk.expected_length(samples.JK_M_14S[:4]) == 285
    with pytest.raises(FrameForeign):
        jk.expected_length(b"\xa5\x01")


# --- jk485 and jk232 ----------------------------------------------------------------------------

def test_jk485_capture() -> None:
    values = jk_legacy.jk485_decode(samples.JK485_M_20S).as_dict()
    assert values["cell_count"] == 20
    assert values["pack_voltage"] == 78.91
    assert values["cell_voltage_20"] == 3.945
    assert values["temperature_1"] == 22
    assert values["balancer_enabled"] is True
    assert values["balance_current"] == 0.0


def test_jk485_request_and_round_trip() -> None:
    assert jk_legacy.jk485_request() == bytes.fromhex("55 AA 01 FF 00 00 FF")  # [M] jk485.py comment
    frame = jk_legacy.jk485_encode(pack_voltage=53.2, cells=[3.31, 3.35, 3.33], balance_current=0.42,
                                   balancing=True, temperature=25)
    values = jk_legacy.jk485_decode(frame).as_dict()
    assert values["balance_current"] == 0.42
    assert values["balancer_active"] is True
    assert values["cell_voltage_delta"] == 0.04
    assert values["cell_max_index"] == 2
    with pytest.raises(FrameChecksum):
        jk_legacy.jk485_decode(_flip_checksum(frame))
    with pytest.raises(FrameTruncated):
        jk_legacy.jk485_decode(frame[:40])


def test_jk232_capture_and_request() -> None:
    assert jk_legacy.jk232_request(0x03) == bytes.fromhex("DD A5 03 00 FF FD 77")  # [M] jk232.py comment
    values = jk_legacy.jk232_decode(samples.JK232_M_BASIC, 0x03).as_dict()
    assert values["pack_voltage"] == 58.88
    assert values["soc"] == 72
    assert values["cell_count"] == 15
    assert values["remaining_capacity"] == 7.2
    assert values["full_capacity"] == 10.0
    assert (values["temperature_1"], values["temperature_2"]) == (20.3, 21.5)


def test_jk232_cells_and_alarms() -> None:
    cells = jk_legacy.jk232_reply(0x04, bytes.fromhex("0CE4 0CF0 0CEA"))
    values = jk_legacy.jk232_decode(cells, 0x04).as_dict()
    assert values["cell_voltage_02"] == 3.312
    assert values["cell_voltage_delta"] == 0.012
    basic = bytearray(samples.JK232_M_BASIC[4:-3])
    basic[2:4] = (-1234).to_bytes(2, "big", signed=True)  # discharging 12.34 A
    basic[16:18] = (1 << 10 | 1).to_bytes(2, "big")  # short circuit, cell over-voltage
    values = jk_legacy.jk232_decode(jk_legacy.jk232_reply(0x03, bytes(basic)), 0x03).as_dict()
    assert values["pack_current"] == -12.34
    assert values["short_circuit"] is True
    assert values["cell_overvoltage"] is True
    assert values["protections_active"] == 2


@pytest.mark.parametrize(("frame", "error"), [
    pytest.param(samples.JK232_M_BASIC[:-3] + b"\x00\x00\x77", FrameChecksum, id="checksum"),
    pytest.param(samples.JK232_M_BASIC[:20], FrameTruncated, id="truncated"),
    pytest.param(jk_legacy.jk232_reply(0x04, b"\x0c\xe4"), FrameForeign, id="answer-to-another-register"),
    pytest.param(samples.JK_M_14S, FrameForeign, id="jk-frame"),
])
def test_jk232_bad_frames(frame: bytes, error: type[FrameError]) -> None:
    with pytest.raises(error):
        jk_legacy.jk232_decode(frame, 0x03)
