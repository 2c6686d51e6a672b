"""Days of simulated readings in seconds, for the web demo's history and for tests of charts.

    for sample in simulate_history(get_profile("max-8k"), seed=1, start=datetime(2026, 6, 18),
                                   hours=72, every_s=60):
        sample.time, sample.replies["QPIGS"].payload, sample.snapshot["soc_percent"]

Each sample is what a poller would have read at that moment: the replies to ``commands`` (the
same payloads the simulator would send over the wire) plus the model's snapshot. No subprocess,
no waiting: the model runs on a :class:`ManualClock`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from solarmon.simulator.clock import ManualClock
from solarmon.simulator.inverter import Inverter
from solarmon.simulator.profiles import Profile
from solarmon.simulator.replies import Reply

DEFAULT_COMMANDS = ("QPIGS", "QMOD", "QPIWS")


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll at ``time``: each command's reply and the model's state."""

    time: datetime
    replies: dict[str, Reply]
    snapshot: dict[str, Any]


def simulate_history(
    profile: Profile,
    seed: int,
    start: datetime,
    *,
    hours: float,
    every_s: float = 60.0,
    commands: Sequence[str] = DEFAULT_COMMANDS,
) -> Iterator[Sample]:
    """Poll a simulated inverter every ``every_s`` simulated seconds for ``hours`` from ``start``."""
    if every_s <= 0:
        raise ValueError(f"every_s must be > 0, got {every_s}")
    if hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")
    clock = ManualClock(start)
    inverter = Inverter(profile, seed, clock)
    polls = int(hours * 3600.0 / every_s)
    for index in range(polls + 1):
        if index:
            clock.jump(every_s)
        replies = {command: inverter.respond(command).reply for command in commands}
        yield Sample(clock.now(), replies, inverter.model.snapshot())
