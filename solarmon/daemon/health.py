"""Per-device health: up/down, last success, consecutive failures, error counts by kind.

"Lost" and "back" are logged once, on the transition, never on every failed cycle (a device that
is off all night must not fill the log). The tracker is fed by the device's worker thread and read
by the Prometheus writer and the control socket, so every read hands out a copy under a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from solarmon.daemon.promfile import HealthSample

LOG = logging.getLogger(__name__)


class Health:
    """The health of one device."""

    def __init__(self, name: str, *, wall_clock: Callable[[], float] = time.time,
                 logger: logging.Logger = LOG, what: str = "inverter") -> None:
        self.name = name
        self.what = what  # the word in "lost" / "back" (a BMS section says "BMS")
        self.wall_clock = wall_clock
        self.logger = logger
        self._lock = threading.Lock()
        self._up: bool | None = None  # None until the first cycle: no "back" on a normal start
        self._last_success_wall = 0.0
        self._consecutive_failures = 0
        self._errors: Counter[str] = Counter()
        self._last_error = ""
        self._poll_duration_s = 0.0

    def count_error(self, kind: str, message: str) -> None:
        """Count one failed exchange of kind ``kind`` (the exception's stable ``kind``)."""
        with self._lock:
            self._errors[kind] += 1
            self._last_error = f"{kind}: {message}"

    def success(self) -> None:
        """Record a valid reply (the device is alive right now)."""
        with self._lock:
            self._last_success_wall = self.wall_clock()

    def cycle_done(self, ok: bool, duration_s: float) -> None:
        """Record the end of a poll cycle and log a transition to lost or back once."""
        with self._lock:
            was_up = self._up
            self._up = ok
            self._poll_duration_s = duration_s
            self._consecutive_failures = 0 if ok else self._consecutive_failures + 1
            last_error = self._last_error
        if ok and was_up is False:
            self.logger.warning("[%s] %s back", self.name, self.what)
        elif not ok and was_up is not False:
            self.logger.warning("[%s] %s lost: %s", self.name, self.what, last_error or "no valid reply")

    @property
    def up(self) -> bool:
        """True when the last cycle got a valid reply."""
        with self._lock:
            return bool(self._up)

    def sample(self) -> HealthSample:
        """A copy for the Prometheus file."""
        with self._lock:
            return HealthSample(up=bool(self._up), last_success_wall=self._last_success_wall,
                                poll_duration_s=self._poll_duration_s,
                                consecutive_failures=self._consecutive_failures, errors=dict(self._errors))

    def snapshot(self) -> dict[str, object]:
        """A JSON-able copy for the control socket's status request."""
        sample = self.sample()
        with self._lock:
            last_error = self._last_error
        return {"up": sample.up, "last_success": sample.last_success_wall,
                "consecutive_failures": sample.consecutive_failures, "errors": dict(sample.errors),
                "poll_duration_s": sample.poll_duration_s, "last_error": last_error}
