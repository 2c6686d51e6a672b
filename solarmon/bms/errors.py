"""The BMS codecs' frame errors, and a counter of rejected frames by kind.

Each error is an :class:`~solarmon.inverter.errors.InverterError`, so the daemon's health
tracker counts it under its ``kind`` like any link error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypeVar

from solarmon.inverter.errors import DecodeError, InverterError

T = TypeVar("T")


class FrameError(InverterError):
    """A BMS frame that must not be decoded."""

    kind = "frame"


class FrameChecksum(FrameError):
    """The frame's checksum does not match its bytes."""

    kind = "crc"


class FrameTruncated(FrameError):
    """Fewer bytes than the frame's length (or the smallest frame) needs."""

    kind = "truncated"


class FrameForeign(FrameError):
    """Not a frame of this protocol, or not the answer to the question asked."""

    kind = "foreign"


class FrameUndecodable(FrameError, DecodeError):
    """A frame that passed its checks but whose content does not fit (unknown register, short record)."""

    kind = "decode"


FRAME_ERROR_KINDS = ("crc", "truncated", "foreign", "decode")


class FrameCounter:
    """Counts rejected frames by kind; :meth:`decode` runs a codec function and counts its rejection."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def decode(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)``; a :class:`FrameError` is counted under its kind and raised again."""
        try:
            return function(*args)
        except FrameError as error:
            self._counts[error.kind] += 1
            raise

    def counts(self) -> Mapping[str, int]:
        """A copy of the counts, every kind of :data:`FRAME_ERROR_KINDS` included (0 when none)."""
        return {kind: self._counts.get(kind, 0) for kind in (*FRAME_ERROR_KINDS, *self._counts)}
