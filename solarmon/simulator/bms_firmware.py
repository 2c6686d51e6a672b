"""The simulated BMSs' firmware: requests in, reply frames out, built from a :class:`BmsPack`.

:class:`JkFirmware` answers the JK "read all" request (``4E 57``, PROTOCOLS-JKBMS.md §1) and
:class:`DalyFirmware` the Daly ``A5`` requests 0x90-0x98 (PROTOCOLS-DALY.md). Both use the codecs'
own frame builders, so the bytes are those the fact sheets describe. :meth:`Firmware.corrupt`
makes the next replies fail on the wire (checksum, truncated or foreign) for tests of the
daemon's frame counters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from types import MappingProxyType

from solarmon.bms import catalog, daly, jk
from solarmon.bms.errors import FrameError
from solarmon.simulator.bms_model import BmsPack

CORRUPTIONS = ("crc", "truncated", "foreign")
# A tripped protection -> the Daly 0x98 bit that reports it (the "level 2" protection).
_DALY_BIT_OF: Mapping[str, str] = MappingProxyType({
    "cell_overvoltage": "daly_cell_voltage_high_l2", "cell_undervoltage": "daly_cell_voltage_low_l2",
    "charge_overcurrent": "daly_charge_overcurrent_l2",
    "discharge_overcurrent": "daly_discharge_overcurrent_l2",
    "battery_overtemperature": "daly_charge_temperature_high_l2",
    "mosfet_overtemperature": "charge_mosfet_overtemperature",
    "cell_voltage_difference": "daly_cell_voltage_difference_l2",
})


class Firmware:
    """What both BMSs share: the pack, request framing state, wire corruption on demand."""

    def __init__(self, pack: BmsPack) -> None:
        self.pack = pack
        self.buffer = bytearray()
        self._corrupt: deque[str] = deque()

    def corrupt(self, kind: str, count: int = 1) -> None:
        """Send the next ``count`` replies damaged: ``crc``, ``truncated`` or ``foreign``."""
        if kind not in CORRUPTIONS:
            raise ValueError(f"corruption {kind!r}: one of {', '.join(CORRUPTIONS)}")
        self._corrupt.extend([kind] * count)

    def _wire(self, reply: bytes) -> bytes:
        if not self._corrupt:
            return reply
        kind = self._corrupt.popleft()
        if kind == "crc":
            return reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
        if kind == "truncated":  # cut inside a frame (a cut between two Daly frames is a shorter answer)
            return reply[: max(1, len(reply) // 2 - 1)]
        return b"(NAK\x73\x73\r" + bytes(len(reply) - 7) if len(reply) > 7 else b"\xff" * len(reply)

    def feed(self, data: bytes) -> list[bytes]:
        """Bytes from the host; the replies to every complete request among them."""
        self.buffer += data
        replies = []
        while (request := self._take_request()) is not None:
            reply = self.answer(request)
            if reply:
                replies.append(self._wire(reply))
        return replies

    def _take_request(self) -> bytes | None:
        raise NotImplementedError

    def answer(self, request: bytes) -> bytes:
        """The reply to one whole request (empty: no answer)."""
        raise NotImplementedError


class JkFirmware(Firmware):
    """A current JK board: answers "read all" with the full register set."""

    def _take_request(self) -> bytes | None:
        while self.buffer and self.buffer[0] != jk.START[0]:
            del self.buffer[0]  # line noise before a frame: the board resynchronises on 4E 57
        try:
            total = jk.expected_length(bytes(self.buffer[:4]))
        except FrameError:
            del self.buffer[0]
            return None if not self.buffer else self._take_request()
        if total is None or len(self.buffer) < total:
            return None
        request = bytes(self.buffer[:total])
        del self.buffer[:total]
        return request

    def answer(self, request: bytes) -> bytes:
        """Answer a valid read request; anything else is ignored, as the board does."""
        try:
            jk.check(request)
        except FrameError:
            return b""
        return jk.encode(self.records(), command=request[8], transport=jk.TYPE_REPLY)

    def records(self) -> bytes:
        """The register records of the pack now, every register in the order real boards send them."""
        pack = self.pack
        cells = b"".join(bytes((n,)) + round(v * 1000).to_bytes(2, "big")
                         for n, v in enumerate(pack.cell_voltages, start=1))

        def u16(value: float) -> bytes:
            return int(round(value)).to_bytes(2, "big")

        def temp(value: float) -> float:
            return value if value >= 0 else 100 - value

        amps = round(abs(pack.current_a) * 100)
        current = amps | (0x8000 if pack.current_a > 0 else 0)
        status = int(pack.charge_mosfet) | int(pack.discharge_mosfet) << 1 | int(pack.balancing) << 2
        alarms = sum(1 << n for n, (key, _kind, _help) in enumerate(catalog.JK_ALARMS) if key in pack.tripped)
        temps = [*pack.temperatures, 25.0, 25.0]
        live = {
            0x80: u16(temp(pack.mos_temperature)), 0x81: u16(temp(temps[0])), 0x82: u16(temp(temps[1])),
            0x83: u16(pack.pack_voltage * 100), 0x84: u16(current), 0x85: bytes((round(pack.pack_soc),)),
            0x86: b"\x02", 0x87: u16(pack.cycle_count), 0x89: (5850).to_bytes(4, "big"),
            0x8A: u16(pack.cells), 0x8B: u16(alarms), 0x8C: u16(status),
        }
        settings = dict(_JK_SETTINGS)
        settings.update({
            0x90: u16(pack.cell_overvoltage_v * 1000), 0x93: u16(pack.cell_undervoltage_v * 1000),
            0x9C: u16(pack.balance_trigger_v * 1000), 0x9D: bytes((int(pack.balancer_enabled),)),
            0xA9: bytes((pack.cells,)), 0xAA: round(pack.capacity_ah).to_bytes(4, "big"),
            0xB9: round(pack.capacity_ah).to_bytes(4, "big"),
        })
        records = (*live.items(), *settings.items())
        return bytes((jk.CELLS, len(cells))) + cells + b"".join(bytes((r,)) + data for r, data in records)


# The settings and identity registers 0x8E-0xC0 of mppsolar's 14-cell capture (jkserial.py
# test_responses[1]; PROTOCOLS-JKBMS.md §1), names changed: a real board sends every one of them,
# and mppsolar's positional decoder counts on it.
_JK_SETTINGS: Mapping[int, bytes] = MappingProxyType(jk.registers(bytes.fromhex(
    "8e16b28f10f4901036911004920005930c1c940c8095000596012c97006e98012c9900559a001e9b0bb89c00329d01"
    "9e005a9f0046a00064a10064a20014a3003ca4003ca50001a60003a7ffeca8fff6a90eaa000000eaab01ac01ad0437"
    "ae01af01b0000ab114b231323334353600000000b300b453494d4a4b303031b532333036b6000182e3"
    "b731312e58575f53494d312e305f5f5fb800b9000000eaba736f6c61726d6f6e2073696d756c61746f72204a4b42"
    "4d53c001"
)))


class DalyFirmware(Firmware):
    """A Daly smart BMS: one 13-byte request, one or more 13-byte frames back."""

    def _take_request(self) -> bytes | None:
        while self.buffer and self.buffer[0] != daly.START:
            del self.buffer[0]
        if len(self.buffer) < daly.FRAME:
            return None
        request = bytes(self.buffer[:daly.FRAME])
        del self.buffer[:daly.FRAME]
        return request

    def answer(self, request: bytes) -> bytes:
        """The frames answering a valid request; a bad or unknown one gets no answer."""
        if daly.checksum(request[:-1]) != request[-1] or request[3] != daly.DATA_LENGTH:
            return b""
        data_id = request[2]
        frames = self.data(data_id)
        return b"".join(daly.encode(data_id, data) for data in frames)

    def data(self, data_id: int) -> list[bytes]:
        """The 8-byte data of each frame answering ``data_id`` now; [] for an unknown ID."""
        pack = self.pack
        volts = pack.cell_voltages
        temps = pack.temperatures

        def u16(value: float) -> bytes:
            return int(round(value)).to_bytes(2, "big")

        if data_id == 0x90:
            return [u16(pack.pack_voltage * 10) + u16(pack.pack_voltage * 10)
                    + u16(daly.CURRENT_OFFSET + pack.current_a * 10) + u16(pack.pack_soc * 10)]
        if data_id == 0x91:
            high = max(range(pack.cells), key=volts.__getitem__)
            low = min(range(pack.cells), key=volts.__getitem__)
            return [u16(volts[high] * 1000) + bytes((high + 1,))
                    + u16(volts[low] * 1000) + bytes((low + 1, 0, 0))]
        if data_id == 0x92:
            return [bytes((round(max(temps)) + 40, temps.index(max(temps)) + 1,
                           round(min(temps)) + 40, temps.index(min(temps)) + 1, 0, 0, 0, 0))]
        if data_id == 0x93:
            state = 1 if pack.current_a > 0 else 2 if pack.current_a < 0 else 0
            return [bytes((state, int(pack.charge_mosfet), int(pack.discharge_mosfet), 0x78))
                    + round(pack.remaining_ah * 1000).to_bytes(4, "big")]
        if data_id == 0x94:
            charging, discharging = int(pack.current_a > 0), int(pack.current_a < 0)
            flags = (pack.cells, pack.temperature_sensors, charging, discharging, 0)
            return [bytes(flags) + u16(pack.cycle_count) + b"\x00"]
        if data_id == 0x95:  # frames for the whole 48-cell table, as the BMS sends them
            padded = volts + [0.0] * (48 - len(volts))
            return [bytes((n + 1,)) + b"".join(u16(v * 1000) for v in padded[3 * n:3 * n + 3]) + b"\x00"
                    for n in range(16)]
        if data_id == 0x96:
            padded_t = [t + 40 for t in temps] + [0.0] * (14 - len(temps))
            return [bytes((n + 1, *(round(t) for t in padded_t[7 * n:7 * n + 7]))) for n in range(2)]
        if data_id == 0x97:
            bits = 0
            if pack.balancing_cells is not None:
                bits = 1 << pack.balancing_cells[0] | 1 << pack.balancing_cells[1]
            return [bits.to_bytes(6, "little") + b"\x00\x00"]
        if data_id == 0x98:
            keys = {_DALY_BIT_OF[p] for p in pack.tripped if p in _DALY_BIT_OF}
            bits = sum(1 << n for n, key in enumerate(catalog.DALY_BITS) if key in keys)
            return [bits.to_bytes(7, "little") + bytes((len(keys),))]
        return []


def firmware_for(bms_type: str, pack: BmsPack) -> Firmware:
    """The firmware of ``bms_type`` (``jkbms`` or ``dalybms``)."""
    if bms_type == "jkbms":
        return JkFirmware(pack)
    if bms_type == "dalybms":
        return DalyFirmware(pack)
    raise ValueError(f"BMS type {bms_type!r}: jkbms or dalybms")
