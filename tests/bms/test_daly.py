"""Daly codec: public captures (tests/bms/samples.py names each source) and hand-built edge cases."""

from __future__ import annotations

import pytest

from solarmon.bms import catalog, daly
from solarmon.bms.errors import FrameChecksum, FrameCounter, FrameError, FrameForeign, FrameTruncated
from tests.bms import samples


def test_request() -> None:
    assert daly.request(0x90) == bytes.fromhex("A5 40 90 08 00 00 00 00 00 00 00 00 7D")


@pytest.mark.parametrize(("frame", "data_id", "expected"), [
    (samples.DALY_M_SOC, 0x90, {"pack_voltage": 52.8, "pack_current": 6.3, "soc": 95.6}),
    (samples.DALY_M_SOC_26V, 0x90, {"pack_voltage": 26.5, "pack_current": 15.9, "soc": 77.8}),
    (samples.DALY_M_MINMAX_V, 0x91, {"cell_voltage_max": 3.328, "cell_max_index": 15,
                                     "cell_voltage_min": 3.326, "cell_min_index": 1,
                                     "cell_voltage_delta": 0.002}),
    (samples.DALY_M_MINMAX_T, 0x92, {"temperature_max": 15, "temperature_min": 15}),
    (samples.DALY_M_MOS, 0x93, {"charge_state": "Discharging", "charge_mosfet": True,
                                "discharge_mosfet": True, "remaining_capacity": 248.64}),
    (samples.DALY_M_STATUS, 0x94, {"cell_count": 16, "temperature_sensor_count": 1, "cycle_count": 3}),
    (samples.DALY_M_TEMPS, 0x96, {"temperature_1": 15, "temperature_sensor_count": 1}),
])
def test_captures(frame: bytes, data_id: int, expected: dict[str, object]) -> None:
    values = daly.decode(frame, data_id, cells=16, sensors=1).as_dict()
    assert {key: values[key] for key in expected} == expected


def test_sixteen_frame_cell_answer() -> None:
    values = daly.decode(samples.DALY_M_CELLS_16, 0x95, cells=16).as_dict()
    assert values["cell_count"] == 16
    assert "cell_voltage_17" not in values
    assert values["cell_voltage_01"] == 3.325
    assert values["cell_voltage_16"] == 3.324
    assert values["cell_voltage_delta"] == 0.003
    assert values["cell_max_index"] == 14


def test_balancing_and_failures_by_name() -> None:
    balance = daly.encode(0x97, bytes((0b0000_0101, 0, 0, 0, 0, 0, 0, 0)))
    values = daly.decode(balance, 0x97, cells=4).as_dict()
    assert [values[f"cell_balancing_0{n}"] for n in range(1, 5)] == [True, False, True, False]
    assert values["balancer_active"] is True
    failures = daly.encode(0x98, bytes((0b0000_0011, 0, 0, 0, 0, 0, 0b0000_0100, 7)))
    values = daly.decode(failures, 0x98).as_dict()
    assert values["daly_cell_voltage_high_l1"] is True
    assert values["daly_cell_voltage_high_l2"] is True
    assert values["short_circuit"] is True
    assert values["alarm_code"] == 7
    faults, warnings = catalog.classify_alarms(values)
    assert faults == ["short_circuit", "daly_cell_voltage_high_l2"]  # catalog order
    assert warnings == ["daly_cell_voltage_high_l1"]
    assert values["protections_active"] == 2
    assert values["alarms_active"] == 1


def test_negative_current() -> None:
    frame = daly.encode(0x90, (532).to_bytes(2, "big") + b"\x00\x00" + (30000 - 125).to_bytes(2, "big")
                        + (500).to_bytes(2, "big"))
    values = daly.decode(frame, 0x90).as_dict()
    assert values["pack_current"] == -12.5
    assert values["pack_power"] == pytest.approx(-665.0)


def _flip(frame: bytes) -> bytes:
    return frame[:-1] + bytes(((frame[-1] + 1) & 0xFF,))


@pytest.mark.parametrize(("answer", "data_id", "error"), [
    pytest.param(_flip(samples.DALY_M_SOC), 0x90, FrameChecksum, id="checksum"),
    pytest.param(samples.DALY_M_CELLS_16[:13 * 3] + _flip(samples.DALY_M_CELLS_16[39:52])
                 + samples.DALY_M_CELLS_16[52:], 0x95, FrameChecksum, id="one-bad-frame-of-sixteen"),
    pytest.param(samples.DALY_M_CELLS_CUT, 0x95, FrameTruncated, id="mppsolar-cut-capture"),
    pytest.param(samples.DALY_M_SOC[:7], 0x90, FrameTruncated, id="half-frame"),
    pytest.param(samples.DALY_M_CELLS_16[:13], 0x95, FrameTruncated, id="too-few-frames"),
    pytest.param(samples.DALY_M_MOS, 0x90, FrameForeign, id="answer-to-another-id"),
    pytest.param(samples.JK_M_14S, 0x90, FrameForeign, id="jk-frame"),
    pytest.param(samples.DALY_M_SOC + samples.DALY_M_SOC, 0x90, FrameForeign, id="two-answers"),
    pytest.param(samples.DALY_M_CELLS_16[13:26] + samples.DALY_M_CELLS_16[:13] + samples.DALY_M_CELLS_16[26:],
                 0x95, FrameForeign, id="frames-out-of-order"),
])
def test_bad_answers_are_rejected_and_counted(answer: bytes, data_id: int, error: type[FrameError]) -> None:
    counter = FrameCounter()
    with pytest.raises(error):
        counter.decode(daly.decode, answer, data_id)
    assert counter.counts()[error.kind] == 1
    assert sum(counter.counts().values()) == 1
