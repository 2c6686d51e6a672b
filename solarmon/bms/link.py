"""A BMS on the project's serial transport: one poll = the questions of its protocol, decoded.

The link sends through :meth:`~solarmon.inverter.transport.base.Transport.exchange_bytes` (the same
port handling and device lock as an inverter) and hands the bytes to the codec; every rejected
frame is counted by kind in :attr:`BmsLink.frames` and raised, so the daemon counts it as an error
and never shows its values. A failed question costs only its own values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from solarmon.bms import daly, jk, jk_legacy
from solarmon.bms.errors import FrameCounter, FrameError
from solarmon.bms.readings import BmsReading
from solarmon.inverter.errors import InverterError
from solarmon.inverter.transport.wire import wire_time_s

MARGIN_S = 0.5  # on top of the wire time: the BMS's own turnaround
DALY_QUIET_S = 0.15  # a multi-frame Daly answer is over when no byte came for this long


class ByteTransport(Protocol):
    """What a link needs from the transport."""

    baud: int

    def exchange_bytes(self, request: bytes, *, timeout_s: float, complete: Callable[[bytes], bool],
                       quiet_s: float = 0.0) -> bytes:
        """Send ``request``; the bytes that came back."""

    def close(self) -> None:
        """Release the port."""


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a poll: its request bytes, how to tell the answer is whole, how to decode it."""

    command: str
    request: bytes
    complete: Callable[[bytes], bool]
    decode: Callable[[bytes], BmsReading]
    answer_bytes: int  # the longest answer, to size the timeout
    quiet_s: float = 0.0


def _jk_complete(data: bytes) -> bool:
    try:
        total = jk.expected_length(data[:4])
    except FrameError:
        return True  # not a JK frame: stop waiting, the codec rejects it
    return total is not None and len(data) >= total


class BmsLink:
    """A BMS protocol over a transport: :meth:`poll` yields each question's reading or its error."""

    def __init__(self, transport: ByteTransport, protocol: str, *, timeout_s: float | None = None) -> None:
        self.transport = transport
        self.protocol = protocol
        self.timeout_s = timeout_s
        self.frames = FrameCounter()
        self._daly_counts = (16, 1)  # cells, sensors: from 0x94, refreshed every poll

    def _timeout(self, question: Question) -> float:
        if self.timeout_s:
            return self.timeout_s
        return wire_time_s(len(question.request) + question.answer_bytes, self.transport.baud) + MARGIN_S

    def ask(self, question: Question) -> BmsReading:
        """One question: its reading, or an :class:`InverterError` (frame errors counted by kind)."""
        data = self.transport.exchange_bytes(question.request, timeout_s=self._timeout(question),
                                             complete=question.complete, quiet_s=question.quiet_s)
        return self.frames.decode(question.decode, data)

    def questions(self) -> Iterator[Question]:
        """The questions of one poll, in order (Daly asks 0x94 first: it sizes 0x95/0x96)."""
        if self.protocol == "jkserial":
            yield Question(jk.COMMAND, jk.request(), _jk_complete, jk.decode, jk.MAX_FRAME)
        elif self.protocol == "jk485":
            yield Question(jk_legacy.JK485_COMMAND, jk_legacy.jk485_request(),
                           lambda d: len(d) >= jk_legacy.JK485_REPLY_LENGTH, jk_legacy.jk485_decode,
                           jk_legacy.JK485_REPLY_LENGTH)
        elif self.protocol == "jk232":
            for register, command in jk_legacy.JK232_COMMANDS.items():
                yield Question(command, jk_legacy.jk232_request(register),
                               lambda d: len(d) >= 7 and len(d) >= 7 + d[3],
                               lambda d, r=register: jk_legacy.jk232_decode(d, r), 7 + 255)
        else:
            address = daly.HOST_UART if self.protocol == "daly40" else 0x80
            for data_id in (0x94, 0x90, 0x91, 0x92, 0x93, 0x95, 0x96, 0x97, 0x98):
                multi = data_id in (0x95, 0x96)
                yield Question(daly.COMMANDS[data_id], daly.request(data_id, address),
                               lambda d: len(d) >= daly.FRAME,
                               lambda d, i=data_id: self._daly_decode(d, i),
                               daly.FRAME * (16 if multi else 1), DALY_QUIET_S if multi else 0.0)

    def _daly_decode(self, data: bytes, data_id: int) -> BmsReading:
        cells, sensors = self._daly_counts
        reading = daly.decode(data, data_id, cells=cells, sensors=sensors)
        if data_id == 0x94:
            found = (int(reading.get("cell_count") or 0), int(reading.get("temperature_sensor_count") or 0))
            if found[0] > 0:
                self._daly_counts = found
        return reading

    def poll(self) -> Iterator[BmsReading | InverterError]:
        """Ask every question; yield each reading, or the error that cost it."""
        for question in self.questions():
            try:
                yield self.ask(question)
            except InverterError as error:
                yield error

    def close(self) -> None:
        """Release the port."""
        self.transport.close()


PROTOCOLS = {"jkbms": ("jkserial", "jk485", "jk232"), "dalybms": ("daly40", "daly")}
