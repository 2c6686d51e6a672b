"""The poll schedule's arithmetic, driven by a clock the test advances (no sleeping, no timing)."""

from __future__ import annotations

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


def test_missed_slots_are_skipped_not_burst(clock: ManualClock) -> None:
    schedule = Schedule(10, clock=clock)
    clock.advance(35)  # a 35 s cycle (device timeouts)
    schedule.succeeded()
    assert schedule.next_deadline() == 1040.0
    assert not schedule.due()
    assert schedule.seconds_left() == 5


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
