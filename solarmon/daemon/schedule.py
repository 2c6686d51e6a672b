"""When to poll: a drift-free monotonic grid, backoff while a device fails, and the slow interval.

The clock is a parameter (``time.monotonic`` by default) so the arithmetic is tested with a clock
the test advances by hand, not with sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class Schedule:
    """Cycle deadlines on the grid ``start + k * interval``.

    A cycle shorter than the interval never shifts the grid (no drift). A cycle that overruns its
    slot (it ends after the next slot was due, e.g. ``pause`` shorter than the cycle) starts the next
    one at once and re-anchors the grid there: no burst of missed slots, and no idle wait for the
    slot after (which made a 1.2 s cycle at ``pause = 1`` take 2 s). While the device fails,
    :meth:`failed` brings the next attempt forward with a doubling backoff, capped at the interval, so
    a device that comes back is found within one cycle.
    """

    def __init__(self, interval_s: float, *, retry_initial_s: float = 1.0, retry_max_s: float = 60.0,
                 clock: Clock = time.monotonic) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self.clock = clock
        self.retry_initial_s = min(retry_initial_s, interval_s)
        self.retry_max_s = min(retry_max_s, interval_s)
        self.start = clock()
        self.slot = 0  # index of the next grid slot
        self.retry_delay_s = 0.0
        self.retry_at: float | None = None
        self.overruns = 0  # cycles that ended after the next slot was due (grid re-anchored)

    def grid_time(self, slot: int) -> float:
        """The monotonic time of grid slot ``slot``."""
        return self.start + slot * self.interval_s

    def next_deadline(self) -> float:
        """The monotonic time the next cycle is due (the earlier of the grid slot and a retry)."""
        grid = self.grid_time(self.slot)
        return grid if self.retry_at is None else min(grid, self.retry_at)

    def due(self) -> bool:
        """True when a cycle should run now."""
        return self.clock() >= self.next_deadline()

    def seconds_left(self) -> float:
        """Seconds until the next cycle is due (0 when it is overdue)."""
        return max(0.0, self.next_deadline() - self.clock())

    def _advance_grid(self, *, overrun_slot: int) -> None:
        """Move to the next slot; after an overrun re-anchor the grid at now, due at ``overrun_slot``."""
        now = self.clock()
        if now >= self.grid_time(self.slot + 1):
            # The cycle ran past the next slot: waiting for the one after would idle for up to an
            # interval, and a burst would hammer the device. Re-anchor the grid here instead.
            self.start = now
            self.slot = overrun_slot
            self.overruns += 1
        else:
            self.slot += 1

    def succeeded(self) -> None:
        """Record a good cycle: back to the grid (the next cycle at once after an overrun)."""
        self.retry_delay_s = 0.0
        self.retry_at = None
        self._advance_grid(overrun_slot=0)

    def failed(self) -> None:
        """Record a failed cycle: retry after the backoff (1, 2, 4 ... s, never beyond the interval)."""
        self.retry_delay_s = (self.retry_initial_s if self.retry_delay_s == 0
                              else min(self.retry_delay_s * 2, self.retry_max_s))
        # After a failed overrun the grid restarts one interval on: the backoff, not the grid,
        # decides when the device is tried again.
        self._advance_grid(overrun_slot=1)
        self.retry_at = self.clock() + self.retry_delay_s


class Interval:
    """A slower recurring task (QPIRI/QFLAG): due at start, then every ``interval_s``, or when marked."""

    def __init__(self, interval_s: float, *, clock: Clock = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.last: float | None = None

    def due(self) -> bool:
        """True when never done, marked stale, or the interval has passed."""
        return self.last is None or self.clock() - self.last >= self.interval_s

    def done(self) -> None:
        """Record that the task ran now."""
        self.last = self.clock()

    def mark_stale(self) -> None:
        """Make the task due at the next opportunity (after a setting changed the inverter)."""
        self.last = None
