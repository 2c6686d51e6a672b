"""The poll schedule's arithmetic, driven by a clock the test advances (no sleeping, no timing)."""

from __future__ import annotations

import itertools

import pytest

from solarmon.daemon.schedule import Interval, Schedule

from .conftest import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_first_cycle_is_due_at_once(clock: ManualClock) -> None:
    schedule = Schedule(60, clock=clock)
    assert schedule.due()
    assert schedule.seconds_left() == 0


def test_slow_cycles_do_not_drift_the_grid(clock: ManualClock) -> None:
    schedule = Schedule(60, clock=clock)
    starts = []
    for cycle_length in (2.5, 7.0, 0.1, 59.0, 3.3) * 20:
        assert schedule.due()
        starts.append(clock.now)
        clock.advance(cycle_length)
        schedule.succeeded()
        clock.advance(schedule.seconds_left())
    # Every cycle started exactly on the grid, however long the cycles before it took.
    assert starts == [1000.0 + 60 * k for k in range(100)]


def test_an_overrun_starts_the_next_cycle_at_once_and_re_anchors_the_grid(clock: ManualClock) -> None:
    schedule = Schedule(10, clock=clock)
    clock.advance(35)  # a 35 s cycle (device timeouts): no burst of the three missed slots...
    schedule.succeeded()
    assert schedule.due()  # ...and no idle wait for the slot after: the next cycle starts now
    assert schedule.overruns == 1
    clock.advance(2)  # a normal cycle on the new grid, anchored at 1035
    schedule.succeeded()
    assert schedule.next_deadline() == 1045.0
    assert schedule.seconds_left() == 8


def test_pause_shorter_than_the_cycle_polls_at_the_cycles_own_pace(clock: ManualClock) -> None:
    """Issue 14.16: pause = 1 with a 1.2 s cycle ran every 2.0 s (the grid skipped to the next slot)."""
    schedule = Schedule(1.0, clock=clock)
    starts = []
    for _ in range(50):
        clock.advance(schedule.seconds_left())
        assert schedule.due()
        starts.append(clock.now)
        clock.advance(1.2)
        schedule.succeeded()
    periods = [b - a for a, b in itertools.pairwise(starts)]
    assert max(periods) == pytest.approx(1.2)


def test_a_failed_overrun_still_backs_off(clock: ManualClock) -> None:
    schedule = Schedule(10, retry_initial_s=1, clock=clock)
    clock.advance(25)  # a failed cycle that took 25 s (timeouts)
    schedule.failed()
    assert schedule.seconds_left() == 1  # the backoff, not an immediate retry
    assert schedule.next_deadline() == 1026.0


def test_backoff_doubles_up_to_the_interval_then_returns_to_the_grid(clock: ManualClock) -> None:
    schedule = Schedule(60, retry_initial_s=1, retry_max_s=3600, clock=clock)
    delays = []
    for _ in range(9):
        schedule.failed()
        delays.append(schedule.next_deadline() - clock.now)
        clock.advance(schedule.seconds_left())
    # 1, 2, 4 ... capped at the interval: the device is tried at least once per cycle.
    assert delays[:6] == [1, 2, 4, 8, 16, 32]
    assert max(delays) <= 60
    schedule.succeeded()
    assert (schedule.next_deadline() - schedule.start) % 60 == 0


def test_retry_max_caps_the_backoff(clock: ManualClock) -> None:
    schedule = Schedule(60, retry_initial_s=1, retry_max_s=5, clock=clock)
    for _ in range(6):
        schedule.failed()
    assert schedule.retry_delay_s == 5


def test_interval_must_be_positive(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        Schedule(0, clock=clock)


def test_slow_interval(clock: ManualClock) -> None:
    slow = Interval(600, clock=clock)
    assert slow.due()
    slow.done()
    clock.advance(599)
    assert not slow.due()
    clock.advance(1)
    assert slow.due()
    slow.done()
    slow.mark_stale()  # after an accepted setting
    assert slow.due()
