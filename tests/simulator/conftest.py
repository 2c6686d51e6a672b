"""Fixtures for the simulator's own tests: an in-process inverter on a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from solarmon.inverter.frame import ReplyFrame, decode_reply, encode_request
from solarmon.simulator.clock import ManualClock
from solarmon.simulator.inverter import Inverter
from solarmon.simulator.profiles import get_profile

NOON = datetime(2026, 6, 21, 12, 0)
MIDNIGHT = datetime(2026, 6, 21, 0, 0)


@pytest.fixture
def make_inverter() -> Callable[..., Inverter]:
    """Factory: ``make_inverter(profile="axpert-5k", seed=1, start=NOON)`` on a ManualClock."""

    def make(profile: str = "axpert-5k", seed: int = 1, start: datetime = NOON) -> Inverter:
        return Inverter(get_profile(profile), seed, ManualClock(start))

    return make


def ask(inverter: Inverter, command: str) -> ReplyFrame:
    """Send ``command`` as a framed request and check the reply's framing and CRC."""
    return decode_reply(inverter.handle(encode_request(command)))
