"""PI18 framing (PROTOCOLS-PI18.md §1): ``^P005GS`` requests, ``^D...`` replies, ``^1`` / ``^0``.

A request is ``^`` + ``P`` (query) or ``S`` (setting) + three digits (the length of the command, the
two CRC bytes and the CR) + the command + CRC + CR. A data reply is ``^D`` + three digits (the
length of payload + CRC + CR) + payload + CRC + CR; an acknowledgement is ``^1`` or ``^0`` + CRC +
CR. The CRC is PI30's (CRC-16/XMODEM over everything before it, delimiter bytes bumped), so this
module reuses :mod:`solarmon.inverter.frame` for it and for :class:`ReplyFrame`.
"""

from __future__ import annotations

from solarmon.inverter.frame import (
    CR,
    CrcState,
    FrameError,
    ReplyFrame,
    crc_bytes,
    crc_matches,
    find_terminator,
)

START = 0x5E  # "^"
ACK = b"^1"
NAK = b"^0"
_TAIL = 3  # two CRC bytes and the CR


def _length(count: int) -> bytes:
    if not 0 <= count <= 999:
        raise ValueError(f"a PI18 frame of {count} bytes does not fit its 3-digit length")
    return f"{count:03d}".encode("ascii")


def encode_request(command: str, *, setter: bool = False) -> bytes:
    """The bytes a host sends for ``command`` ("GS", "POP0"): header, command, CRC, CR."""
    if not command or not command.isascii() or not command.isprintable():
        raise ValueError(f"command must be printable ASCII, got {command!r}")
    body = b"^" + (b"S" if setter else b"P") + _length(len(command) + _TAIL) + command.encode("ascii")
    return body + crc_bytes(body) + bytes((CR,))


def encode_reply(payload: str) -> bytes:
    """The bytes a unit sends for a data reply ``payload`` (used by the simulator)."""
    data = payload.encode("ascii")
    body = b"^D" + _length(len(data) + _TAIL) + data
    return body + crc_bytes(body) + bytes((CR,))


def encode_ack(accepted: bool) -> bytes:
    """``^1`` (accepted) or ``^0`` (refused) with CRC and CR."""
    body = ACK if accepted else NAK
    return body + crc_bytes(body) + bytes((CR,))


def command_of(request: bytes) -> tuple[str, bool] | None:
    """(command, is_setter) of a request frame whose header, length and CRC check out, else None."""
    end = find_terminator(request)
    frame = bytes(request[:end]) if end >= 0 else b""
    if len(frame) < 8 or frame[0] != START or frame[1:2] not in (b"P", b"S"):
        return None
    digits = frame[2:5]
    if not digits.isdigit() or int(digits) != len(frame) - 5 + 1:
        return None
    if not crc_matches(frame[:-2], frame[-2:]):
        return None
    command = frame[5:-2]
    if not command or any(b < 0x20 or b > 0x7E for b in command):
        return None
    return command.decode("ascii"), frame[1:2] == b"S"


def decode_reply(raw: bytes, *, command: str | None = None) -> ReplyFrame:
    """Check one PI18 reply (up to its CR) and return its payload; ``^1`` -> ACK, ``^0`` -> NAK.

    Raises :class:`FrameError` (kinds truncated, echo, garbage, crc) like the PI30 framing.
    """
    end = find_terminator(raw)
    if end < 0:
        raise FrameError("truncated", "reply has no CR terminator", bytes(raw))
    frame = bytes(raw[:end])
    if frame[:2] in (b"^P", b"^S"):
        raise FrameError("echo", f"the device echoed a request ({command or '?'})", frame)
    if frame[:2] in (ACK, NAK) and len(frame) == 4:
        if not crc_matches(frame[:2], frame[2:]):
            raise FrameError("crc", "acknowledgement failed its CRC check", frame)
        return ReplyFrame(payload="ACK" if frame[:2] == ACK else "NAK", crc=CrcState.OK, raw=frame)
    if frame[:2] != b"^D" or len(frame) < 7 or not frame[2:5].isdigit():
        raise FrameError("garbage", "reply does not start with '^D' and a length", frame)
    if int(frame[2:5]) != len(frame) - 5 + 1:
        raise FrameError("truncated", f"reply length {int(frame[2:5])} does not match its "
                         f"{len(frame) - 4} bytes after the header", frame)
    if not crc_matches(frame[:-2], frame[-2:]):
        raise FrameError("crc", "reply failed its CRC check", frame)
    body = frame[5:-2]
    if any(b < 0x20 or b > 0x7E for b in body):
        raise FrameError("garbage", "reply payload has non-printable bytes", frame)
    return ReplyFrame(payload=body.decode("ascii"), crc=CrcState.OK, raw=frame)
