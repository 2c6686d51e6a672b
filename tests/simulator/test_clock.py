"""Simulated time: --speed K runs the model clock K times faster, 0 freezes it, jumps only go forward."""

from __future__ import annotations

from datetime import timedelta

import pytest

from solarmon.simulator.clock import ManualClock, ScaledClock
from tests.simulator.conftest import NOON


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("speed", "real_s", "simulated_s"), [(1, 5, 5), (60, 2, 120), (0.5, 10, 5), (0, 99, 0)]
)
def test_scaled_clock_runs_at_its_speed(speed, real_s, simulated_s):
    monotonic = FakeMonotonic()
    clock = ScaledClock(NOON, speed=speed, monotonic=monotonic)
    monotonic.now += real_s
    assert clock.now() == NOON + timedelta(seconds=simulated_s)


def test_jumps_add_to_the_scaled_time_and_never_go_back():
    monotonic = FakeMonotonic()
    clock = ScaledClock(NOON, speed=10, monotonic=monotonic)
    clock.jump(3600)
    monotonic.now += 1
    assert clock.now() == NOON + timedelta(seconds=3610)
    with pytest.raises(ValueError, match="backwards"):
        clock.jump(-1)
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(NOON, speed=-2)
    manual = ManualClock(NOON)
    manual.jump(5)
    assert manual.now() == NOON + timedelta(seconds=5)
    with pytest.raises(ValueError, match="backwards"):
        manual.jump(-5)
