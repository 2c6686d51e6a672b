"""frame.py against PI30.md §1 and §5: CRC, the vendor byte bump, and every framing quirk."""

from __future__ import annotations

import binascii

import pytest

from solarmon.inverter.frame import (
    CrcState,
    FrameError,
    crc16,
    crc_bytes,
    crc_matches,
    decode_reply,
    encode_reply,
    encode_request,
    find_terminator,
)
from tests.inverter import samples


def test_crc_is_xmodem_with_its_check_value() -> None:
    assert crc16(b"123456789") == 0x31C3


@pytest.mark.parametrize(
    ("command", "wire_hex"),
    [
        ("QPIGS", "51 50 49 47 53 B7 A9 0D"),
        ("QMOD", "51 4D 4F 44 49 C1 0D"),
        ("QPIRI", "51 50 49 52 49 F8 54 0D"),
        ("QPIWS", "51 50 49 57 53 B4 DA 0D"),
        ("QFLAG", "51 46 4C 41 47 98 74 0D"),
        ("QID", "51 49 44 D6 EA 0D"),
        ("QVFW", "51 56 46 57 62 99 0D"),
        ("QPI", "51 50 49 BE AC 0D"),
        ("QBOOT", "51 42 4F 4F 54 0B 88 0D"),  # high byte 0x0A bumped to 0x0B
        ("POP02", "50 4F 50 30 32 E2 0B 0D"),  # low byte 0x0A bumped to 0x0B
    ],
)
def test_request_frames_match_the_fact_sheet(command: str, wire_hex: str) -> None:
    assert encode_request(command) == bytes.fromhex(wire_hex)


@pytest.mark.parametrize(
    ("payload", "wire_hex"),
    [("ACK", "28 41 43 4B 39 20 0D"), ("NAK", "28 4E 41 4B 73 73 0D")],
)
def test_ack_and_nak_frames_match_the_fact_sheet(payload: str, wire_hex: str) -> None:
    assert encode_reply(payload) == bytes.fromhex(wire_hex)


@pytest.mark.parametrize("command", ["", "QP\x00GS", "QPIGS\r", "QPIGSé"])
def test_unprintable_commands_are_refused(command: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        encode_request(command)


@pytest.mark.parametrize("byte", [0x28, 0x0D, 0x0A])
def test_crc_bytes_never_look_like_a_delimiter(byte: int) -> None:
    # Find a payload whose raw CRC has ``byte`` high, then check the sender bumps it.
    for n in range(200000):
        data = f"({n}".encode()
        if crc16(data) >> 8 == byte:
            break
    else:  # pragma: no cover - the search space always has one
        pytest.fail("no payload found")
    assert crc_bytes(data)[0] == byte + 1
    assert crc_matches(data, crc_bytes(data))


def _payload_with_zero_crc_byte(high: bool) -> bytes:
    # QPIGS variants whose raw CRC has a 0x00 byte, as the Axpert VM IV capture in PI30.md §1.
    power = 566 if high else 176
    body = ("(" + samples.QPIGS_21.replace("00856", f"{power:05d}")).encode()
    value = binascii.crc_hqx(body, 0)
    assert (value >> 8 if high else value & 0xFF) == 0x00
    return body


@pytest.mark.parametrize("high", [True, False], ids=["high-byte", "low-byte"])
@pytest.mark.parametrize("sent", [0x00, 0x01], ids=["as-is", "mppsolar-bumped"])
def test_a_zero_crc_byte_is_accepted_raw_and_bumped(high: bool, sent: int) -> None:
    body = _payload_with_zero_crc_byte(high)
    value = crc16(body)
    crc = bytes((sent, value & 0xFF)) if high else bytes((value >> 8, sent))
    frame = decode_reply(body + crc + b"\r")
    assert frame.crc is CrcState.OK
    assert frame.payload == body[1:].decode()


def test_a_wrong_crc_byte_next_to_zero_is_still_rejected() -> None:
    body = _payload_with_zero_crc_byte(high=True)
    crc = bytes((0x02, crc16(body) & 0xFF))
    with pytest.raises(FrameError) as caught:
        decode_reply(body + crc + b"\r")
    assert caught.value.kind == "crc"


def test_lf_terminator_is_accepted() -> None:
    frame = decode_reply(encode_reply(samples.QPIGS_21, terminator=0x0A))
    assert frame.payload == samples.QPIGS_21
    assert frame.crc is CrcState.OK


def test_bytes_after_the_terminator_are_ignored() -> None:
    raw = encode_reply("B") + b"\x00\x00\x00"
    assert decode_reply(raw).payload == "B"


def test_printable_crc_bytes_are_taken_before_splitting() -> None:
    # ACK's CRC is "9 " - a space that a naive split on spaces would take as a separator.
    raw = encode_reply("ACK")
    assert raw[-3:-1] == b"9 "
    assert decode_reply(raw).payload == "ACK"


def test_missing_crc_needs_allow_no_crc() -> None:
    raw = encode_reply(samples.QPIGS_21, with_crc=False)
    with pytest.raises(FrameError) as caught:
        decode_reply(raw)
    assert caught.value.kind == "crc"
    frame = decode_reply(raw, allow_no_crc=True)
    assert frame.crc is CrcState.ABSENT
    assert frame.payload == samples.QPIGS_21


def test_an_echoed_request_is_recognised() -> None:
    with pytest.raises(FrameError) as caught:
        decode_reply(encode_request("QPIGS"), command="QPIGS")
    assert caught.value.kind == "echo"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"(000.0 00.0 230.0", "truncated"),
        (b"", "truncated"),
        (b"\r", "garbage"),
        (b"000.0 00.0\xb7\xa9\r", "garbage"),
        (b"(B\x01\x02\r", "crc"),
    ],
    ids=["no-terminator", "empty", "bare-terminator", "no-paren", "bad-crc"],
)
def test_broken_frames_raise_with_their_kind(raw: bytes, kind: str) -> None:
    with pytest.raises(FrameError) as caught:
        decode_reply(raw)
    assert caught.value.kind == kind


def test_non_printable_payload_is_garbage_even_with_a_good_crc() -> None:
    body = b"(23\x810.0"
    with pytest.raises(FrameError) as caught:
        decode_reply(body + crc_bytes(body) + b"\r")
    assert caught.value.kind == "garbage"


@pytest.mark.parametrize("position", range(1, len(samples.QPIGS_21) + 1, 7))
def test_a_flipped_byte_is_never_turned_into_a_payload(position: int) -> None:
    raw = bytearray(encode_reply(samples.QPIGS_21))
    raw[position] ^= 0x01  # line noise: one bit of one byte
    with pytest.raises(FrameError):
        decode_reply(bytes(raw))


@pytest.mark.parametrize("position", range(1, len(samples.QPIGS_21) + 1, 11))
def test_a_high_bit_set_byte_is_rejected(position: int) -> None:
    raw = bytearray(encode_reply(samples.QPIGS_21))
    raw[position] |= 0x80
    with pytest.raises(FrameError):
        decode_reply(bytes(raw))


@pytest.mark.parametrize(
    ("buffer", "index"),
    [(b"abc\rdef", 3), (b"abc\ndef", 3), (b"a\nb\rc", 1), (b"a\rb\nc", 1), (b"abc", -1)],
)
def test_find_terminator_finds_the_first_cr_or_lf(buffer: bytes, index: int) -> None:
    assert find_terminator(buffer) == index


def _payload_with_raw_crc_byte(value: int, high: bool) -> bytes:
    for n in range(200000):
        body = f"(VERFW:{n:08d}".encode()
        crc = crc16(body)
        if (crc >> 8 if high else crc & 0xFF) == value:
            return body
    raise AssertionError("no payload found")  # pragma: no cover


@pytest.mark.parametrize("high", [True, False], ids=["high-byte", "low-byte"])
@pytest.mark.parametrize("raw_byte", [0x0A, 0x0B, 0x0D, 0x28])
def test_reply_crc_bytes_bumped_or_genuine(high: bool, raw_byte: int) -> None:
    # 0x0A, 0x0D and 0x28 arrive bumped by one; a genuine 0x0B must not be mistaken for anything.
    body = _payload_with_raw_crc_byte(raw_byte, high)
    raw = body + crc_bytes(body) + b"\r"
    sent = raw[-3] if high else raw[-2]
    assert sent == (raw_byte + 1 if raw_byte in (0x0A, 0x0D, 0x28) else raw_byte)
    assert decode_reply(raw).payload == body[1:].decode()


@pytest.mark.parametrize("command", ["", None])
def test_no_command_means_no_echo_check(command: str | None) -> None:
    # An empty command once matched every reply's first zero bytes and called it an echo.
    assert decode_reply(encode_reply("B"), command=command).payload == "B"
