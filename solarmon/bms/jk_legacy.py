"""JK BMS, older frames: the jk485 balancer frame (``55 AA`` / ``EB 90``) and the jk232 ``DD … 77`` frame.

Facts: docs/PROTOCOLS-JKBMS.md §2 and §3. Both check their frame fully before a value is made;
a failed check raises a :class:`~solarmon.bms.errors.FrameError` with its kind.
"""

from __future__ import annotations

from collections.abc import Sequence

from solarmon.bms import catalog
from solarmon.bms.errors import FrameChecksum, FrameForeign, FrameTruncated, FrameUndecodable
from solarmon.bms.readings import BmsReading, alarm_counts, bit_values, cell_values, reading
from solarmon.inverter.readings import Value

# --- jk485 --------------------------------------------------------------------------------------

JK485_COMMAND = "jk485_status"
JK485_REPLY_START = b"\xeb\x90"
JK485_REPLY_LENGTH = 74
JK485_CELLS = 24


def sum8(data: bytes) -> int:
    """The low byte of the sum of ``data``."""
    return sum(data) & 0xFF


def jk485_request(address: int = 0x01) -> bytes:
    """The balancer's status question: ``55 AA 01 FF 00 00 FF``."""
    body = b"\x55\xaa" + bytes((address, 0xFF, 0x00, 0x00))
    return body + bytes((sum8(body),))


def jk485_encode(*, pack_voltage: float, cells: Sequence[float], balance_current: float,
                 balancing: bool, temperature: int, trigger_v: float = 0.005, max_balance_a: float = 1.0,
                 state: int = 0, alarm: int = 0, address: int = 0x01) -> bytes:
    """A jk485 reply frame (the simulator's and the tests' builder)."""
    def u16(value: float) -> bytes:
        return int(round(value)).to_bytes(2, "big")
    high = max(range(len(cells)), key=lambda i: cells[i]) + 1
    low = min(range(len(cells)), key=lambda i: cells[i]) + 1
    padded = list(cells) + [0.0] * (JK485_CELLS - len(cells))
    body = (JK485_REPLY_START + bytes((address, 0xFF)) + u16(pack_voltage * 100)
            + u16(sum(cells) / len(cells) * 1000) + bytes((len(cells), high, low, state, alarm))
            + u16((max(cells) - min(cells)) * 1000) + u16(balance_current * 1000) + u16(trigger_v * 1000)
            + u16(max_balance_a * 1000) + bytes((int(balancing), len(cells)))
            + b"".join(u16(v * 1000) for v in padded) + u16(temperature))
    return body + bytes((sum8(body),))


def _check_jk485(frame: bytes) -> None:
    if frame[:2] != JK485_REPLY_START[:len(frame[:2])]:
        raise FrameForeign(f"jk485 reply must start with EB 90, not {frame[:2].hex(' ')}")
    if len(frame) < JK485_REPLY_LENGTH:
        raise FrameTruncated(f"jk485 reply of {len(frame)} bytes, not {JK485_REPLY_LENGTH}")
    if len(frame) > JK485_REPLY_LENGTH:
        raise FrameForeign(f"{len(frame) - JK485_REPLY_LENGTH} bytes after the jk485 reply")
    if frame[3] != 0xFF:
        raise FrameForeign(f"jk485 command 0x{frame[3]:02X}, not 0xFF")
    if sum8(frame[:-1]) != frame[-1]:
        raise FrameChecksum(f"jk485 checksum 0x{frame[-1]:02X}, computed 0x{sum8(frame[:-1]):02X}")


def jk485_decode(frame: bytes) -> BmsReading:
    """A reading of one jk485 reply frame."""
    _check_jk485(frame)

    def u16(at: int) -> int:
        return int.from_bytes(frame[at:at + 2], "big")
    count = frame[8]
    if not 0 < count <= JK485_CELLS:
        raise FrameUndecodable(f"jk485 cell count {count}")
    cells = [u16(23 + 2 * i) / 1000 for i in range(count)]
    values: dict[str, Value] = {"pack_voltage": u16(4) / 100}
    values.update(cell_values(cells))
    values.update({
        "balance_current": u16(15) / 1000, "balancer_active": u16(15) > 0,
        "balancer_enabled": bool(frame[21]), "balance_trigger_delta": u16(17) / 1000,
        "alarm_code": frame[12], "temperature_1": u16(71),
    })
    values.update({"temperature_sensor_count": 1, "temperature_max": u16(71), "temperature_min": u16(71)})
    return reading(JK485_COMMAND, values, frame)


# --- jk232 (the DD ... 77 frame) ----------------------------------------------------------------

JK232_BASIC = 0x03
JK232_CELLS = 0x04
JK232_COMMANDS = {JK232_BASIC: "jk232_basic", JK232_CELLS: "jk232_cells"}
_JK232_START = 0xDD
_JK232_END = 0x77
_JBD_ALARM_KEYS = tuple(key for key, _kind, _help in catalog.JBD_ALARMS)


def jk232_checksum(data: bytes) -> int:
    """0x10000 minus the sum of ``data`` (status/register, length, data), 16 bits."""
    return (0x10000 - sum(data)) & 0xFFFF


def jk232_frame(first: int, second: int, data: bytes) -> bytes:
    """``DD first second len data checksum 77``; the checksum covers ``second``, the length and the data."""
    covered = bytes((second, len(data))) + data
    tail = jk232_checksum(covered).to_bytes(2, "big") + bytes((_JK232_END,))
    return bytes((_JK232_START, first)) + covered + tail


def jk232_request(register: int) -> bytes:
    """A read of ``register``: ``DD A5 03 00 FF FD 77`` for 0x03."""
    return jk232_frame(0xA5, register, b"")


def jk232_reply(register: int, data: bytes, status: int = 0x00) -> bytes:
    """A reply frame (the simulator's and the tests' builder)."""
    return jk232_frame(register, status, data)


def _check_jk232(frame: bytes, register: int) -> bytes:
    if frame[:1] not in (b"", bytes((_JK232_START,))):
        raise FrameForeign(f"jk232 frame must start with DD, not {frame[:1].hex()}")
    if len(frame) < 7:
        raise FrameTruncated(f"jk232 frame of {len(frame)} bytes")
    total = 7 + frame[3]
    if len(frame) < total:
        raise FrameTruncated(f"jk232 frame of {len(frame)} bytes, its length says {total}")
    if len(frame) > total or frame[total - 1] != _JK232_END:
        raise FrameForeign("jk232 frame does not end with 77 where its length says")
    if frame[1] != register:
        raise FrameForeign(f"jk232 answer to register 0x{frame[1]:02X}, asked 0x{register:02X}")
    expected = jk232_checksum(frame[2:total - 3])
    sent = int.from_bytes(frame[total - 3:total - 1], "big")
    if sent != expected:
        raise FrameChecksum(f"jk232 checksum 0x{sent:04X}, computed 0x{expected:04X}")
    if frame[2] != 0x00:
        raise FrameUndecodable(f"jk232 status 0x{frame[2]:02X}: the BMS refused the read")
    return frame[4:total - 3]


def jk232_decode(frame: bytes, register: int) -> BmsReading:
    """A reading of a jk232 reply to ``register`` (0x03 basic information, 0x04 cell voltages)."""
    data = _check_jk232(frame, register)
    if register == JK232_CELLS:
        if len(data) % 2:
            raise FrameUndecodable("jk232 cell data of odd length")
        cells = [int.from_bytes(data[i:i + 2], "big") / 1000 for i in range(0, len(data), 2)]
        return reading(JK232_COMMANDS[register], cell_values(cells), frame)
    if register != JK232_BASIC or len(data) < 23:
        raise FrameUndecodable(f"jk232 register 0x{register:02X} with {len(data)} data bytes")
    sensors = data[22]
    if len(data) < 23 + 2 * sensors:
        raise FrameUndecodable(f"jk232 basic data too short for {sensors} sensors")

    def u16(at: int) -> int:
        return int.from_bytes(data[at:at + 2], "big")
    amps = int.from_bytes(data[2:4], "big", signed=True) / 100
    volts = u16(0) / 100
    balance = u16(12) | u16(14) << 16
    temps = [round((u16(23 + 2 * i) - 2731) / 10, 1) for i in range(sensors)]
    values: dict[str, Value] = {
        "pack_voltage": volts, "pack_current": amps, "pack_power": round(volts * amps, 1),
        "remaining_capacity": u16(4) / 100, "full_capacity": u16(6) / 100, "cycle_count": u16(8),
        "soc": data[19], "charge_mosfet": bool(data[20] & 1), "discharge_mosfet": bool(data[20] & 2),
        "cell_count": data[21], "balancer_active": balance != 0,
    }
    values.update({f"cell_balancing_{n:02d}": bool(balance >> (n - 1) & 1) for n in range(1, data[21] + 1)
                   if n <= catalog.MAX_CELLS})
    values.update({f"temperature_{n}": t for n, t in enumerate(temps, start=1)})
    values["temperature_sensor_count"] = sensors
    if temps:
        values["temperature_max"] = max(temps)
        values["temperature_min"] = min(temps)
    values.update(bit_values(u16(16), _JBD_ALARM_KEYS))
    values.update(alarm_counts(values))
    return reading(JK232_COMMANDS[register], values, frame)
