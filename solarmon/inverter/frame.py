"""PI30 framing: CRC-16/XMODEM, request frames and reply frames (PI30.md §1, §5).

This module knows bytes only. It turns a command string into the bytes a host sends, and the
bytes an inverter sent back into a :class:`ReplyFrame` whose payload is trustworthy (or a
:class:`FrameError` saying why it is not). Turning payloads into typed values is the codec's job.
"""

from __future__ import annotations

import binascii
import enum
from dataclasses import dataclass

from solarmon.inverter.errors import InverterError

START = 0x28  # "("
CR = 0x0D
LF = 0x0A
TERMINATORS = (CR, LF)
# The vendor rule bumps a CRC byte that would look like a delimiter.
_VENDOR_BUMPED = frozenset({0x28, 0x0D, 0x0A})


class FrameError(InverterError):
    """A reply that cannot be trusted; ``kind`` is one of truncated, echo, garbage, crc."""

    def __init__(self, kind: str, message: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.kind = kind
        self.raw = raw


class CrcState(enum.Enum):
    """How the CRC of a reply checked out."""

    OK = "ok"  # the two bytes before the terminator are the payload's CRC
    ABSENT = "absent"  # the firmware sent no CRC (only accepted when the caller allows it)


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM of ``data`` (poly 0x1021, init 0, no reflection, no final XOR)."""
    return binascii.crc_hqx(data, 0)


def _bump(byte: int) -> int:
    return byte + 1 if byte in _VENDOR_BUMPED else byte


def crc_bytes(data: bytes) -> bytes:
    """The two CRC bytes a sender appends to ``data``, high byte first, after the vendor bump."""
    value = crc16(data)
    return bytes((_bump(value >> 8), _bump(value & 0xFF)))


def _byte_matches(received: int, computed: int) -> bool:
    # Accept the raw value, the vendor-bumped value, and mppsolar's bump of 0x00 to 0x01.
    if received == computed:
        return True
    if computed in _VENDOR_BUMPED and received == computed + 1:
        return True
    return computed == 0x00 and received == 0x01


def crc_matches(data: bytes, received: bytes) -> bool:
    """True when the two ``received`` bytes are a valid (possibly bumped) CRC of ``data``."""
    if len(received) != 2:
        return False
    value = crc16(data)
    return _byte_matches(received[0], value >> 8) and _byte_matches(received[1], value & 0xFF)


def encode_request(command: str) -> bytes:
    """The bytes a host sends for ``command``: ASCII, CRC (vendor-bumped), CR."""
    if not command or not command.isascii() or not command.isprintable():
        raise ValueError(f"command must be printable ASCII, got {command!r}")
    body = command.encode("ascii")
    return body + crc_bytes(body) + bytes((CR,))


def encode_reply(payload: str, *, with_crc: bool = True, terminator: int = CR) -> bytes:
    """The bytes an inverter sends for ``payload`` (without the leading "("): used by the simulator."""
    body = b"(" + payload.encode("ascii")
    return body + (crc_bytes(body) if with_crc else b"") + bytes((terminator,))


@dataclass(frozen=True, slots=True)
class ReplyFrame:
    """A reply whose framing and CRC checked out. ``payload`` has no "(", CRC or terminator."""

    payload: str
    crc: CrcState
    raw: bytes

    @property
    def is_nak(self) -> bool:
        """True when the inverter refused the command."""
        return self.payload == "NAK"

    @property
    def is_ack(self) -> bool:
        """True when the inverter accepted a setter."""
        return self.payload == "ACK"


def find_terminator(buffer: bytes | bytearray) -> int:
    """Index of the first CR or LF in ``buffer``, or -1.

    A CRC byte is never CR or LF (the sender bumps them), so the first one ends the frame.
    """
    cr = buffer.find(b"\r")
    lf = buffer.find(b"\n")
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)


def decode_reply(raw: bytes, *, command: str | None = None, allow_no_crc: bool = False) -> ReplyFrame:
    """Check one reply frame (up to and including its terminator) and return its payload.

    ``command`` lets an echoed request be recognised as such. ``allow_no_crc`` accepts replies from
    firmware that sends no CRC at all; they are flagged ``CrcState.ABSENT``. Raises
    :class:`FrameError` for anything that must not be turned into values.
    """
    end = find_terminator(raw)
    frame = bytes(raw[:end]) if end >= 0 else bytes(raw)
    if end < 0:
        raise FrameError("truncated", "reply has no CR/LF terminator", bytes(raw))
    if command and frame[: len(command)] == command.encode("ascii", "replace"):
        # A badly wired adapter or some firmware echo the request back.
        raise FrameError("echo", f"the device echoed the command {command!r}", frame)
    if not frame or frame[0] != START:
        raise FrameError("garbage", "reply does not start with '('", frame)
    if len(frame) >= 3 and crc_matches(frame[:-2], frame[-2:]):
        body = frame[1:-2]
        crc = CrcState.OK
    elif allow_no_crc:
        body = frame[1:]
        crc = CrcState.ABSENT
    else:
        raise FrameError("crc", "reply failed its CRC check", frame)
    if any(b < 0x20 or b > 0x7E for b in body):
        raise FrameError("garbage", "reply payload has non-printable bytes", frame)
    return ReplyFrame(payload=body.decode("ascii"), crc=crc, raw=frame)
