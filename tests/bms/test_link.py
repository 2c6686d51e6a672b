"""BmsLink: each protocol's questions, decoded, over a transport stand-in that answers with the
simulator's firmware or the codecs' own frame builders; rejected frames counted by kind."""

from __future__ import annotations

from collections.abc import Callable

from solarmon.bms import jk_legacy
from solarmon.bms.errors import FrameChecksum
from solarmon.bms.link import BmsLink
from solarmon.bms.readings import BmsReading
from solarmon.inverter.errors import DeviceTimeout
from solarmon.simulator.bms_firmware import DalyFirmware, JkFirmware
from solarmon.simulator.bms_model import BmsPack


class Answering:
    """A transport whose device is a function of the request bytes."""

    baud = 9600

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.answer = answer
        self.asked: list[bytes] = []

    def exchange_bytes(self, request: bytes, *, timeout_s: float, complete: Callable[[bytes], bool],
                       quiet_s: float = 0.0) -> bytes:
        self.asked.append(request)
        data = self.answer(request)
        if not data:
            raise DeviceTimeout("no answer")
        assert complete(data)
        return data

    def close(self) -> None:
        pass


def test_jkserial_poll() -> None:
    firmware = JkFirmware(BmsPack(cells=6))
    readings = list(BmsLink(Answering(lambda r: firmware.feed(r)[0]), "jkserial").poll())
    assert [r.command for r in readings] == ["jk_all"]
    assert readings[0].get("cell_count") == 6


def test_daly_poll_sizes_the_cell_answer_from_0x94() -> None:
    firmware = DalyFirmware(BmsPack(cells=5, temperature_sensors=3))
    transport = Answering(lambda r: firmware.feed(r)[0])
    readings = {r.command: r for r in BmsLink(transport, "daly40").poll() if isinstance(r, BmsReading)}
    assert len(readings) == 9
    assert readings["cellVoltages"].get("cell_count") == 5
    assert readings["cellTemperatures"].get("temperature_sensor_count") == 3
    assert all(request[1] == 0x40 for request in transport.asked)  # daly40: the UART host address


def test_daly_protocol_uses_the_bluetooth_address_and_counts_a_bad_frame() -> None:
    firmware = DalyFirmware(BmsPack(cells=4))
    firmware.corrupt("crc")
    link = BmsLink(Answering(lambda r: firmware.feed(r)[0]), "daly")
    outcomes = list(link.poll())
    assert isinstance(outcomes[0], FrameChecksum)  # 0x94, the first question, was damaged
    assert sum(isinstance(o, BmsReading) for o in outcomes) == 8
    assert link.frames.counts()["crc"] == 1


def test_jk485_and_jk232_polls() -> None:
    frame = jk_legacy.jk485_encode(pack_voltage=26.4, cells=[3.3] * 8, balance_current=0.2, balancing=True,
                                   temperature=21)
    readings = list(BmsLink(Answering(lambda r: frame), "jk485").poll())
    assert readings[0].get("balance_current") == 0.2

    basic = bytes.fromhex("0A50 FF38 1C20 2710 0005 2B21 0000 0000 0000 10 4B 03 04 01 0BA5")
    cells = bytes.fromhex("0CE4 0CE5 0CE6 0CE7")

    def jbd(request: bytes) -> bytes:
        return jk_legacy.jk232_reply(request[2], basic if request[2] == 0x03 else cells)
    readings = list(BmsLink(Answering(jbd), "jk232").poll())
    assert [r.command for r in readings] == ["jk232_basic", "jk232_cells"]
    assert readings[0].get("pack_current") == -2.0
    assert readings[1].get("cell_voltage_04") == 3.303
