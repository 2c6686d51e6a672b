"""A poll loop under a mix of faults, checked against the simulator's ground-truth log.

Every query either returns the reply the simulator sent cleanly, or fails with the error kind
its fault calls for; nothing a fault mangled is ever returned as a reading, and the link's
counters agree with the faults injected, kind by kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from solarmon.inverter.errors import InverterError
from solarmon.inverter.link import InverterLink
from solarmon.inverter.transport import open_transport
from solarmon.simulator.runner import SimulatorProcess

pytestmark = pytest.mark.timeout(120)

FAULTS = "noreply:0.04,garbage:0.06,flip:0.06,truncate:0.06,late:0.06,echo:0.04,nak:0.04,lf:0.04"
# The error kind the link counts for each fault; lf is tolerated and must be accepted.
KIND_OF_FAULT = {
    "noreply": "timeout",
    "garbage": "garbage",
    "flip": "crc",
    "truncate": "truncated",
    "late": "truncated",  # the head of a late reply is cut off; its tail is discarded next time
    "echo": "echo",
    "nak": "nak",
}
CYCLE = ("QPIGS", "QMOD", "QPIWS", "QPIRI")
QUERIES = 48


@pytest.mark.parametrize("kind", ["pty", pytest.param("hidraw", marks=pytest.mark.fuse)])
def test_poll_loop_under_faults(
    simulator: Callable[..., SimulatorProcess], kind: str, lock_dir: Path
) -> None:
    sim = simulator(transport=kind, seed=3, speed=0, baud=0, faults=FAULTS)
    porttype = "serial" if kind == "pty" else "hidraw"
    link = InverterLink(open_transport(porttype, str(sim.port), 2400, lock_dir=lock_dir), timeout_s=0.3)
    outcomes: list[tuple[str, str | None]] = []  # (command, payload returned or None)
    for index in range(QUERIES):
        command = CYCLE[index % len(CYCLE)]
        try:
            outcomes.append((command, link.query(command).payload))
        except InverterError:
            outcomes.append((command, None))
    link.close()

    exchanges = [e for e in sim.truth() if e.get("event") == "exchange"]
    assert [e["request"] for e in exchanges] == [command for command, _ in outcomes]
    injected = Counter(e["fault"] for e in exchanges if e["fault"])
    assert sum(injected.values()) >= QUERIES // 5  # the mix really happened
    for (command, payload), truth in zip(outcomes, exchanges, strict=True):
        if truth["fault"] in (None, "lf"):
            assert payload == truth["payload"], (command, truth)
        else:
            assert payload is None, (command, truth)  # never a reading from a mangled reply
    expected: Counter[str] = Counter()
    for fault, count in injected.items():
        if fault in KIND_OF_FAULT:
            expected[KIND_OF_FAULT[fault]] += count
    assert Counter(link.counters().errors) == expected
