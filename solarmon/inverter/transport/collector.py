"""Reassembling reply frames from the bytes a device hands back, and deciding which one is ours.

Both transports feed what they read into a :class:`ReplyCollector`; it cuts frames at the first CR
or LF, checks each with :func:`frame.decode_reply` and the caller's ``accept`` predicate, and
returns the first frame that belongs to the command just sent. Everything else — the late tail of
a previous reply, noise, an echo, a reply to another command — is discarded and counted by kind
(PI30.md §5), and the last framing error is kept so a timeout can say what went wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from solarmon.inverter.frame import CR, LF, START, FrameError, ReplyFrame, decode_reply

# (raw, command, allow_no_crc) -> frame: PI30's by default (solarmon.inverter.framing has PI18's).
Decoder = Callable[[bytes, str | None, bool], ReplyFrame]


def _pi30_decode(raw: bytes, command: str | None, allow_no_crc: bool) -> ReplyFrame:
    return decode_reply(raw, command=command, allow_no_crc=allow_no_crc)

# A frame longer than this without a terminator is noise, not a reply (the longest PI30 replies,
# QPIGS on MAX units and QDI, stay well under 200 bytes).
MAX_FRAME_BYTES = 512
# Counted under this kind when a frame checks out but ``accept`` says it answers another command.
STALE = "stale"

Accept = Callable[[ReplyFrame], bool]


class ReplyCollector:
    """Collects the reply to one command from a stream of bytes or of 8-byte HID reports.

    ``feed_report`` drops the filler after a terminator inside one report (hidraw semantics);
    ``feed_stream`` keeps those bytes as the start of the next frame (serial semantics).
    """

    def __init__(self, command: str, *, accept: Accept | None = None, allow_no_crc: bool = False,
                 decoder: Decoder = _pi30_decode, resync_byte: int | None = START,
                 frame_start: bytes = b"(") -> None:
        self._command = command
        self._decoder = decoder
        self._resync = resync_byte  # a byte that only ever starts a frame: resynchronise on it
        self._frame_start = frame_start  # what a frame starts with (kept after a CR in a report)
        self._accept = accept
        self._allow_no_crc = allow_no_crc
        self._buffer = bytearray()
        self.discarded: Counter[str] = Counter()
        self.last_error: FrameError | None = None
        self.leftover_bytes = 0

    def feed_stream(self, data: bytes) -> ReplyFrame | None:
        """Feed bytes read from a serial line; return our reply once it is complete."""
        for index, byte in enumerate(data):
            frame = self._push(byte)
            if frame is not None:
                # Bytes after our reply belong to nobody; the next command drains them anyway.
                self.leftover_bytes += len(data) - index - 1
                return frame
        return None

    def feed_report(self, report: bytes) -> ReplyFrame | None:
        """Feed one HID input report; after a terminator the rest of it is filler and is dropped.

        Only a frame start ("(", or "^" for PI18) in that rest is kept, as the start of the next
        frame: a bridge that packs the end of a late tail and the start of our reply into one report
        must not cost us the reply.
        """
        index = 0
        while index < len(report):
            byte = report[index]
            frame = self._push(byte)
            if frame is not None:
                return frame
            if byte in (CR, LF):
                index = report.find(self._frame_start, index + 1)
                if index < 0:
                    return None
                continue
            index += 1
        return None

    def finish(self) -> None:
        """Called at the deadline: an unterminated remainder counts as a truncated frame."""
        if self._buffer:
            self._discard(FrameError("truncated", "reply cut off before its terminator", bytes(self._buffer)))
            self._buffer.clear()

    def _push(self, byte: int) -> ReplyFrame | None:
        if not self._buffer:
            # Zero filler and a stray LF after a CR never start a frame.
            if byte in (0x00, CR, LF):
                return None
        elif self._resync is not None and byte == self._resync:
            # "(" only ever starts a frame (senders bump a CRC byte of 0x28), so what came before
            # it is the cut-off tail of an earlier reply: resynchronise instead of losing ours.
            self._discard(FrameError("truncated", "fragment before a new '('", bytes(self._buffer)))
            self._buffer.clear()
        if byte in (CR, LF):
            raw = bytes(self._buffer) + bytes((byte,))
            self._buffer.clear()
            return self._check(raw)
        self._buffer.append(byte)
        if len(self._buffer) > MAX_FRAME_BYTES:
            self._discard(FrameError("garbage", "no terminator within a frame's length", bytes(self._buffer)))
            self._buffer.clear()
        return None

    def _check(self, raw: bytes) -> ReplyFrame | None:
        try:
            frame = self._decoder(raw, self._command, self._allow_no_crc)
        except FrameError as err:
            self._discard(err)
            return None
        if self._accept is not None and not self._accept(frame):
            # A sound frame that answers another command: not an error of this exchange.
            self.discarded[STALE] += 1
            return None
        return frame

    def _discard(self, err: FrameError) -> None:
        self.discarded[err.kind] += 1
        self.last_error = err
