"""JK BMS, current boards: the ``4E 57`` frame of the "RS485 / UART (GPS port)" protocol.

Facts: docs/PROTOCOLS-JKBMS.md §1. :func:`request` builds the "read all" question,
:func:`expected_length` tells a reader how many bytes the frame in its buffer needs,
:func:`decode` checks one whole frame (start, length, end flag, checksum) and turns its register
records into a :class:`~solarmon.bms.readings.BmsReading`; :func:`encode` builds a frame (the
simulator and the tests use it). The older jk485 and jk232 frames are in :mod:`solarmon.bms.jk_legacy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from solarmon.bms import catalog
from solarmon.bms.errors import FrameChecksum, FrameForeign, FrameTruncated, FrameUndecodable
from solarmon.bms.readings import BmsReading, alarm_counts, bit_values, cell_values, reading
from solarmon.inverter.readings import Value

COMMAND = "jk_all"  # the .prom cmd label of a "read all" answer
START = b"\x4e\x57"
END_FLAG = 0x68
HEADER = 11  # start, length, terminal number, command word, frame source, transport type
TAIL = 9  # record number (4), end flag (1), checksum (4)
MIN_FRAME = HEADER + TAIL
MAX_FRAME = 1024  # a length field beyond this is not a JK frame
READ_ALL = 0x06
SOURCE_PC = 0x03
TYPE_REQUEST = 0x00
TYPE_REPLY = 0x01
TYPE_UPLOAD = 0x02

# Register ID -> size in bytes (0x79 has its own length byte). PROTOCOLS-JKBMS.md §1.
REGISTER_SIZES: Mapping[int, int] = MappingProxyType({
    0x80: 2, 0x81: 2, 0x82: 2, 0x83: 2, 0x84: 2, 0x85: 1, 0x86: 1, 0x87: 2, 0x89: 4,
    **{register: 2 for register in range(0x8A, 0x9D) if register != 0x8D},
    0x9D: 1, **{register: 2 for register in range(0x9E, 0xA9)}, 0xA9: 1, 0xAA: 4, 0xAB: 1,
    0xAC: 1, 0xAD: 2, 0xAE: 1, 0xAF: 1, 0xB0: 2, 0xB1: 1, 0xB2: 10, 0xB3: 1, 0xB4: 8, 0xB5: 4,
    0xB6: 4, 0xB7: 15, 0xB8: 1, 0xB9: 4, 0xBA: 24, 0xC0: 1,
})
CELLS = 0x79
ALARM_KEYS: tuple[str | None, ...] = (*(key for key, _kind, _help in catalog.JK_ALARMS), None, None)
# 0x8C bit 3 ("battery present", 1 = normal per the vendor table) reads 0 in both captures of
# working packs: its meaning is unclear, so it is not decoded.
STATUS_KEYS: tuple[str | None, ...] = ("charge_mosfet", "discharge_mosfet", "balancer_active")
# Plain registers: ID -> (key, scale); the value is raw x scale.
_SCALED: Mapping[int, tuple[str, float]] = MappingProxyType({
    0x83: ("pack_voltage", 0.01), 0x85: ("soc", 1), 0x86: ("temperature_sensor_count", 1),
    0x87: ("cycle_count", 1), 0x89: ("total_cycle_capacity", 1), 0x8A: ("cell_count", 1),
    0x90: ("cell_overvoltage_protection", 0.001), 0x93: ("cell_undervoltage_protection", 0.001),
    0x96: ("cell_delta_protection", 0.001), 0x9B: ("balance_start_voltage", 0.001),
    0x9C: ("balance_trigger_delta", 0.001), 0xAA: ("capacity_setting", 1),
})
_SWITCHES: Mapping[int, str] = MappingProxyType({0x9D: "balancer_enabled", 0xAB: "charge_enabled",
                                                  0xAC: "discharge_enabled"})
_TEMPERATURES: Mapping[int, str] = MappingProxyType({0x80: "mos_temperature", 0x81: "temperature_1",
                                                      0x82: "temperature_2"})
_TEXTS: Mapping[int, str] = MappingProxyType({0xB4: "device_id", 0xB7: "software_version",
                                               0xBA: "manufacturer"})


def checksum(data: bytes) -> int:
    """The 16-bit sum of ``data`` (every byte from the start to the end flag)."""
    return sum(data) & 0xFFFF


def encode(info: bytes, *, command: int = READ_ALL, source: int = 0x00, transport: int = TYPE_REPLY,
           terminal: int = 0, record: int = 0) -> bytes:
    """A whole frame around the information field ``info`` (register records, or a request's register)."""
    length = HEADER + len(info) + TAIL - 2
    body = (START + length.to_bytes(2, "big") + terminal.to_bytes(4, "big")
            + bytes((command, source, transport)) + info + record.to_bytes(4, "big") + bytes((END_FLAG,)))
    return body + b"\x00\x00" + checksum(body).to_bytes(2, "big")


def request(register: int = 0x00) -> bytes:
    """The host's question: "read all" (register 0), as the vendor's example sends it."""
    return encode(bytes((register,)), command=READ_ALL, source=SOURCE_PC, transport=TYPE_REQUEST)


def expected_length(buffer: bytes) -> int | None:
    """The length of the frame starting at ``buffer[0]`` once its length field is in, else None.

    Raises :class:`FrameForeign` when ``buffer`` does not start like a JK frame.
    """
    if buffer[:len(START)] != START[:len(buffer)]:
        raise FrameForeign(f"JK frame must start with 4E 57, not {buffer[:2].hex(' ')}")
    if len(buffer) < 4:
        return None
    total = int.from_bytes(buffer[2:4], "big") + 2
    if not MIN_FRAME <= total <= MAX_FRAME:
        raise FrameForeign(f"JK frame length {total} out of range")
    return total


def check(frame: bytes) -> bytes:
    """The information field of one whole, valid frame; every check failure raises by kind."""
    if len(frame) < 4:
        expected_length(frame)  # foreign start wins over "too short"
        raise FrameTruncated(f"JK frame of {len(frame)} bytes")
    total = expected_length(frame)
    assert total is not None
    if len(frame) < total:
        raise FrameTruncated(f"JK frame of {len(frame)} bytes, its length says {total}")
    if len(frame) > total:
        raise FrameForeign(f"{len(frame) - total} bytes after the JK frame")
    if frame[total - 5] != END_FLAG:
        raise FrameForeign(f"JK end flag is 0x{frame[total - 5]:02X}, not 0x68")
    expected = checksum(frame[:total - 4])
    sent = int.from_bytes(frame[total - 2:], "big")
    if sent != expected:
        raise FrameChecksum(f"JK checksum 0x{sent:04X}, computed 0x{expected:04X}")
    return frame[HEADER:total - TAIL]


def registers(info: bytes) -> dict[int, bytes]:
    """The register records of an information field: ``{id: data}`` (0x79: the cell triples)."""
    out: dict[int, bytes] = {}
    at = 0
    while at < len(info):
        register = info[at]
        if register == CELLS:
            if at + 1 >= len(info):
                raise FrameUndecodable("JK 0x79 without its length byte")
            size = info[at + 1]
            start = at + 2
        elif register in REGISTER_SIZES:
            size = REGISTER_SIZES[register]
            start = at + 1
        else:
            raise FrameUndecodable(f"JK register 0x{register:02X} unknown at offset {HEADER + at}")
        if start + size > len(info):
            raise FrameUndecodable(f"JK register 0x{register:02X} cut short")
        out[register] = info[start:start + size]
        at = start + size
    return out


def temperature(raw: int) -> int:
    """JK temperature: 0-100 as is, above 100 negative (101 = -1 °C)."""
    return raw if raw <= 100 else 100 - raw


def current(raw: int, protocol_version: int) -> float:
    """Signed pack current in A (+ charging) from register 0x84 (PROTOCOLS-JKBMS.md §1)."""
    if protocol_version >= 1:
        magnitude = (raw & 0x7FFF) / 100
        return magnitude if raw & 0x8000 else -magnitude
    return round((10000 - raw) / 100, 2)


def _cells(data: bytes) -> list[float]:
    if len(data) % 3:
        raise FrameUndecodable(f"JK 0x79 length {len(data)} is not a multiple of 3")
    return [int.from_bytes(data[i + 1:i + 3], "big") / 1000 for i in range(0, len(data), 3)]


def values_of(records: Mapping[int, bytes]) -> dict[str, Value]:
    """The catalog values of decoded register records."""
    number = {register: int.from_bytes(data, "big") for register, data in records.items()
              if register != CELLS and register not in _TEXTS}
    values: dict[str, Value] = {}
    if CELLS in records:
        values.update(cell_values(_cells(records[CELLS])))
    for register, key in _TEMPERATURES.items():
        if register in number:
            values[key] = temperature(number[register])
    temps = [values[key] for key in ("temperature_1", "temperature_2") if key in values]
    if temps:
        values["temperature_max"] = max(temps)  # type: ignore[type-var]
        values["temperature_min"] = min(temps)  # type: ignore[type-var]
    for register, (key, scale) in _SCALED.items():
        if register in number:
            values[key] = round(number[register] * scale, 3) if scale != 1 else number[register]
    version = number.get(0xC0, 0)
    if 0xC0 in number:
        values["protocol_version"] = version
    if 0x84 in number:
        values["pack_current"] = current(number[0x84], version)
        if "pack_voltage" in values:
            values["pack_power"] = round(float(values["pack_voltage"]) * float(values["pack_current"]), 1)
    capacity = number.get(0xB9) or number.get(0xAA)
    if capacity:
        values["full_capacity"] = capacity
        if "soc" in values:
            values["remaining_capacity"] = round(capacity * float(values["soc"]) / 100, 2)
    if 0x8C in number:
        values.update(bit_values(number[0x8C], STATUS_KEYS))
    for register, key in _SWITCHES.items():
        if register in number:
            values[key] = bool(number[register])
    if 0x8B in number:
        values.update(bit_values(number[0x8B], ALARM_KEYS))
        values.update(alarm_counts(values))
    for register, key in _TEXTS.items():
        if register in records:
            values[key] = records[register].rstrip(b"\x00").decode("ascii", "replace").strip()
    return values


def decode(frame: bytes) -> BmsReading:
    """A reading of one whole reply frame; raises a :class:`~solarmon.bms.errors.FrameError` by kind."""
    info = check(frame)
    if frame[10] == TYPE_REQUEST:
        raise FrameForeign("a JK request, not a reply")
    return reading(COMMAND, values_of(registers(info)), frame)
