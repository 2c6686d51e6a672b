"""Daly BMS over UART / RS485: the 13-byte ``A5`` frame.

Facts: docs/PROTOCOLS-DALY.md. :func:`request` builds a question, :func:`decode` checks the whole
answer (one frame, or every frame of a multi-frame answer) before any value is made, and turns it
into a :class:`~solarmon.bms.readings.BmsReading`; :func:`encode` builds a reply frame (the
simulator and the tests use it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from solarmon.bms import catalog
from solarmon.bms.errors import FrameChecksum, FrameForeign, FrameTruncated, FrameUndecodable
from solarmon.bms.readings import (
    BmsReading,
    alarm_counts,
    bit_values,
    cell_values,
    reading,
    temperature_values,
)
from solarmon.inverter.readings import Value

START = 0xA5
FRAME = 13
DATA_LENGTH = 0x08
HOST_UART = 0x40  # the upper computer on UART/RS485 (mppsolar's daly40)
BMS_ADDRESS = 0x01
TEMPERATURE_OFFSET = 40
CURRENT_OFFSET = 30000

# Data ID -> the .prom cmd label (mppsolar's names where daly.py has the command).
COMMANDS: Mapping[int, str] = MappingProxyType({
    0x90: "SOC", 0x91: "cellMinMaxVoltages", 0x92: "cellMinMaxTemps", 0x93: "mosStatus",
    0x94: "status", 0x95: "cellVoltages", 0x96: "cellTemperatures", 0x97: "balanceState",
    0x98: "failureCodes",
})
CELLS_PER_FRAME = 3
SENSORS_PER_FRAME = 7


def checksum(data: bytes) -> int:
    """The low byte of the sum of ``data`` (bytes 0-11 of a frame)."""
    return sum(data) & 0xFF


def encode(data_id: int, data: bytes, address: int = BMS_ADDRESS) -> bytes:
    """One frame: ``A5 address id 08 data(8) checksum``."""
    if len(data) != DATA_LENGTH:
        raise ValueError(f"Daly data is 8 bytes, not {len(data)}")
    body = bytes((START, address, data_id, DATA_LENGTH)) + data
    return body + bytes((checksum(body),))


def request(data_id: int, address: int = HOST_UART) -> bytes:
    """A read of ``data_id``: eight zero bytes of data."""
    return encode(data_id, bytes(DATA_LENGTH), address)


def frames_expected(data_id: int, cells: int, sensors: int) -> int:
    """How many frames the answer to ``data_id`` has: several for 0x95 / 0x96, else one."""
    if data_id == 0x95:
        return max(1, -(-cells // CELLS_PER_FRAME))
    if data_id == 0x96:
        return max(1, -(-sensors // SENSORS_PER_FRAME))
    return 1


def check_frame(frame: bytes, data_id: int) -> bytes:
    """The 8 data bytes of one valid frame answering ``data_id``; a failed check raises by kind."""
    if frame[:1] not in (b"", bytes((START,))):
        raise FrameForeign(f"Daly frame must start with A5, not {frame[:1].hex()}")
    if len(frame) < FRAME:
        raise FrameTruncated(f"Daly frame of {len(frame)} bytes, not {FRAME}")
    if len(frame) > FRAME:
        raise FrameForeign(f"{len(frame) - FRAME} bytes after the Daly frame")
    if frame[3] != DATA_LENGTH:
        raise FrameForeign(f"Daly data length {frame[3]}, not 8")
    if checksum(frame[:-1]) != frame[-1]:
        raise FrameChecksum(f"Daly checksum 0x{frame[-1]:02X}, computed 0x{checksum(frame[:-1]):02X}")
    if frame[2] != data_id:
        raise FrameForeign(f"Daly answer to 0x{frame[2]:02X}, asked 0x{data_id:02X}")
    return frame[4:12]


def split(answer: bytes, data_id: int, minimum: int = 1) -> list[bytes]:
    """The data of each frame of ``answer``, at least ``minimum`` frames; every frame is checked first.

    The BMS answers 0x95/0x96 with frames for its whole table, more than its cells need
    (PROTOCOLS-DALY.md §2), so any number of whole frames from ``minimum`` on is accepted; they
    must be numbered 1, 2, … in order when there are several. A partial frame at the end, or
    fewer than ``minimum`` frames, is "truncated".
    """
    whole = len(answer) - len(answer) % FRAME
    datas = [check_frame(answer[at:at + FRAME], data_id) for at in range(0, whole, FRAME)]
    if len(answer) % FRAME:
        check_frame(answer[whole:], data_id)  # raises: foreign start, or truncated
    if len(datas) < minimum:
        raise FrameTruncated(f"Daly answer of {len(datas)} frames, {minimum} needed")
    if len(datas) > 1 and [d[0] for d in datas] != list(range(1, len(datas) + 1)):
        raise FrameForeign(f"Daly frame numbers {[d[0] for d in datas]}, not 1..{len(datas)}")
    if minimum == 1 and len(datas) > 1 and data_id not in (0x95, 0x96):
        raise FrameForeign(f"{len(datas) - 1} frames after the Daly answer")
    return datas


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 2], "big")


def _values(data_id: int, datas: list[bytes], cells: int, sensors: int) -> dict[str, Value]:
    data = datas[0]
    if data_id == 0x90:
        volts = _u16(data, 0) / 10
        amps = round((_u16(data, 4) - CURRENT_OFFSET) / 10, 1)
        return {"pack_voltage": volts, "pack_current": amps, "pack_power": round(volts * amps, 1),
                "soc": _u16(data, 6) / 10}
    if data_id == 0x91:
        return {"cell_voltage_max": _u16(data, 0) / 1000, "cell_max_index": data[2],
                "cell_voltage_min": _u16(data, 3) / 1000, "cell_min_index": data[5],
                "cell_voltage_delta": round((_u16(data, 0) - _u16(data, 3)) / 1000, 3)}
    if data_id == 0x92:
        return {"temperature_max": data[0] - TEMPERATURE_OFFSET,
                "temperature_min": data[2] - TEMPERATURE_OFFSET}
    if data_id == 0x93:
        if data[0] not in catalog.CHARGE_STATES:
            raise FrameUndecodable(f"Daly charge state {data[0]}")
        return {"charge_state": catalog.CHARGE_STATES[data[0]], "charge_mosfet": bool(data[1]),
                "discharge_mosfet": bool(data[2]),
                "remaining_capacity": int.from_bytes(data[4:8], "big") / 1000}
    if data_id == 0x94:
        return {"cell_count": data[0], "temperature_sensor_count": data[1],
                "charger_connected": bool(data[2]),
                "load_connected": bool(data[3]), "cycle_count": _u16(data, 5)}
    if data_id == 0x95:
        volts = [_u16(d, 1 + 2 * i) / 1000 for d in datas for i in range(CELLS_PER_FRAME)]
        return cell_values(volts[:cells])
    if data_id == 0x96:
        temps = [d[1 + i] - TEMPERATURE_OFFSET for d in datas for i in range(SENSORS_PER_FRAME)]
        return temperature_values(temps[:sensors])
    if data_id == 0x97:
        bits = int.from_bytes(data[0:6], "little")
        flags = {f"cell_balancing_{n:02d}": bool(bits >> (n - 1) & 1) for n in range(1, cells + 1)}
        return {**flags, "balancer_active": bits != 0}
    if data_id == 0x98:
        values = bit_values(int.from_bytes(data[0:7], "little"), catalog.DALY_BITS)
        values["alarm_code"] = data[7]
        values.update(alarm_counts(values))
        return values
    raise FrameUndecodable(f"Daly data ID 0x{data_id:02X} has no decoder")


def decode(answer: bytes, data_id: int, *, cells: int = 16, sensors: int = 1) -> BmsReading:
    """A reading of the whole ``answer`` to ``data_id``; ``cells``/``sensors`` come from 0x94.

    Raises a :class:`~solarmon.bms.errors.FrameError` by kind; nothing is decoded from an answer
    with a single bad frame.
    """
    if data_id not in COMMANDS:
        raise ValueError(f"Daly data ID 0x{data_id:02X} unknown")
    if not 0 < cells <= catalog.MAX_CELLS or not 0 <= sensors <= catalog.MAX_SENSORS:
        raise FrameUndecodable(f"Daly reports {cells} cells and {sensors} sensors")
    datas = split(answer, data_id, frames_expected(data_id, cells, sensors))
    return reading(COMMANDS[data_id], _values(data_id, datas, cells, sensors), answer)
