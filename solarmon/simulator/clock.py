"""Simulated time: a clock that runs K times faster than the wall (or stands still), and a manual one.

The model reads the time from a clock object, never from the system, so a test, the demo's
history generator and ``--speed`` all drive the same code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the simulated time."""

    def now(self) -> datetime:
        """The current simulated time (naive local time: solar noon is 12:00)."""
        ...


class ScaledClock:
    """Simulated time = ``start`` + ``speed`` x elapsed monotonic time (+ jumps); speed 0 freezes it."""

    def __init__(
        self, start: datetime, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self._start = start
        self._speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        self._offset_s = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current simulated time."""
        with self._lock:
            elapsed = (self._monotonic() - self._origin) * self._speed + self._offset_s
        return self._start + timedelta(seconds=elapsed)

    def jump(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` at once (the control socket's ``advance``)."""
        if seconds < 0:
            raise ValueError("simulated time never runs backwards")
        with self._lock:
            self._offset_s += seconds


class ManualClock:
    """A clock that only moves when told to: for in-process use and tests."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        """The current simulated time."""
        return self._now

    def jump(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("simulated time never runs backwards")
        self._now += timedelta(seconds=seconds)
