"""Reply reassembly and matching: which frame of a byte stream or report stream is ours."""

from __future__ import annotations

import pytest

from solarmon.inverter.frame import FrameError, ReplyFrame, encode_reply, encode_request
from solarmon.inverter.transport.collector import STALE, ReplyCollector

QPIGS_PAYLOAD = (
    "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
    "00 00 00856 010"
)
QPIGS = encode_reply(QPIGS_PAYLOAD)
QMOD_B = encode_reply("B")
QPIWS = encode_reply("00000000000000000000000000000000")


def _mode_reply_only(frame: ReplyFrame) -> bool:
    # Stand-in for codec.reply_fits("QMOD", frame): one letter.
    return len(frame.payload) == 1


def _reports(data: bytes, filler: bytes = b"\x00") -> list[bytes]:
    padded = data + filler * (-len(data) % 8)
    return [padded[i : i + 8] for i in range(0, len(padded), 8)]


@pytest.mark.parametrize(
    ("stream", "expected", "discarded"),
    [
        pytest.param(QMOD_B, "B", {}, id="clean"),
        pytest.param(b"0 010\x9f\x12\r" + QMOD_B, "B", {"garbage": 1}, id="late-tail-with-cr"),
        pytest.param(b"57.45 00000" + QMOD_B, "B", {"truncated": 1}, id="late-tail-cut-off"),
        pytest.param(QPIWS + QMOD_B, "B", {STALE: 1}, id="reply-to-another-command"),
        pytest.param(encode_request("QMOD") + QMOD_B, "B", {"echo": 1}, id="echo-then-reply"),
        pytest.param(b"\x00\x00\r\n" + QMOD_B, "B", {}, id="zero-filler-and-empty-lines"),
        pytest.param(QMOD_B[:-1] + b"\n", "B", {}, id="lf-terminator"),
        pytest.param(b"(B\x00\x00\r" + QMOD_B, "B", {"crc": 1}, id="bad-crc-then-good"),
        pytest.param(encode_reply("NAK"), "NAK", {}, id="nak-is-accepted-by-caller"),
    ],
)
def test_stream_picks_our_reply(stream: bytes, expected: str, discarded: dict[str, int]) -> None:
    collector = ReplyCollector(
        "QMOD", accept=lambda f: f.is_nak or _mode_reply_only(f)
    )
    frame = collector.feed_stream(stream)
    assert frame is not None
    assert frame.payload == expected
    assert dict(collector.discarded) == discarded


@pytest.mark.parametrize(
    ("stream", "kind"),
    [
        pytest.param(b"(B\x00\x00\r", "crc", id="crc"),
        pytest.param(encode_request("QMOD"), "echo", id="echo"),
        pytest.param(b"\xd1\xc2(B", "truncated", id="cut-off"),
        pytest.param(b"junk\r", "garbage", id="garbage"),
    ],
)
def test_no_reply_leaves_the_last_error(stream: bytes, kind: str) -> None:
    collector = ReplyCollector("QMOD", accept=_mode_reply_only)
    assert collector.feed_stream(stream) is None
    collector.finish()
    assert isinstance(collector.last_error, FrameError)
    assert collector.last_error.kind == kind


def test_stale_reply_alone_is_not_a_frame_error() -> None:
    collector = ReplyCollector("QMOD", accept=_mode_reply_only)
    assert collector.feed_stream(QPIWS) is None
    collector.finish()
    assert collector.last_error is None
    assert collector.discarded[STALE] == 1


def test_reports_drop_filler_after_the_terminator() -> None:
    # Junk filler (not zeros) after the CR of the last report must not start a frame.
    collector = ReplyCollector("QPIGS")
    reports = _reports(QPIGS, filler=b"(")
    frames = [collector.feed_report(r) for r in reports]
    assert frames[-1] is not None
    assert frames[-1].payload == QPIGS_PAYLOAD
    assert all(f is None for f in frames[:-1])
    assert not collector.discarded


def test_stream_keeps_bytes_after_the_terminator() -> None:
    # On a serial line the byte after a tail's CR is the start of our reply.
    collector = ReplyCollector("QMOD", accept=_mode_reply_only)
    frame = collector.feed_stream(b"\x01\x02\r" + QMOD_B + b"(x")
    assert frame is not None
    assert frame.payload == "B"
    assert collector.leftover_bytes == 2


def test_reply_starting_in_the_report_that_ends_a_tail() -> None:
    collector = ReplyCollector("QMOD", accept=_mode_reply_only)
    # "...\r" of a tail, then "(B" + CRC + CR of our reply, packed by the bridge.
    stream = b"56 010\x11\x22\r" + QMOD_B
    results = [collector.feed_report(r) for r in _reports(stream, filler=b"\x00")]
    found = [r for r in results if r is not None]
    assert [f.payload for f in found] == ["B"]
    assert collector.discarded == {"garbage": 1}


def test_zero_filler_after_a_tail_is_dropped() -> None:
    collector = ReplyCollector("QMOD", accept=_mode_reply_only)
    assert collector.feed_report(b"0\x11\x22\r\x00\x00\x00\x00") is None
    assert collector.feed_report(b"\x00Zq\x00\x00\x00\x00\x00") is None  # junk: not after a CR
    collector.finish()
    assert collector.discarded == {"garbage": 1, "truncated": 1}


def test_late_tail_in_reports_then_reply() -> None:
    tail = QPIGS[60:]
    collector = ReplyCollector("QMOD", accept=_mode_reply_only)
    results = [collector.feed_report(r) for r in _reports(tail) + _reports(QMOD_B)]
    assert results[-1] is not None
    assert results[-1].payload == "B"
    assert sum(collector.discarded.values()) == 1


def test_runaway_noise_is_bounded() -> None:
    collector = ReplyCollector("QMOD")
    assert collector.feed_stream(b"x" * 2000) is None
    assert collector.discarded["garbage"] >= 1


def test_no_crc_only_when_allowed() -> None:
    raw = b"(B\r"
    strict = ReplyCollector("QMOD")
    assert strict.feed_stream(raw) is None
    lenient = ReplyCollector("QMOD", allow_no_crc=True)
    frame = lenient.feed_stream(raw)
    assert frame is not None
    assert frame.payload == "B"
