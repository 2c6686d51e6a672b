"""The transports and the link against the simulator: a real pty and a real FUSE hidraw file.

Each test runs on both transports. The simulator's clock is frozen (``speed=0``) so a reply can be
compared with what its firmware answers over the control socket, and replies are unpaced
(``baud=0``) except where the wire pace is the point; faults are switched on at run time.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from solarmon.inverter.errors import CommandRefused, DeviceGone, DeviceTimeout, InverterError
from solarmon.inverter.frame import FrameError, encode_request
from solarmon.inverter.link import InverterLink
from solarmon.inverter.transport import DeviceLocked, HidrawTransport, Transport, open_transport
from solarmon.simulator.runner import SimulatorProcess
from tests.transport.conftest import make_sysfs_node

pytestmark = pytest.mark.timeout(90)

# The hidraw simulator is a FUSE file; the fixture skips it (saying why) where FUSE is unusable.
TRANSPORTS = ["pty", pytest.param("hidraw", marks=pytest.mark.fuse)]
PORTTYPE = {"pty": "serial", "hidraw": "hidraw"}
MAIN_COMMANDS = ["QPIGS", "QMOD", "QPIWS", "QPIRI", "QFLAG", "QPI", "QID", "QVFW", "QDI", "QMCHGCR"]
COMEBACK_WAIT_S = 20.0  # upper bound for a replugged device to answer again (not a timing test)
INVERTER_HID_ID = "0003:00000665:00005161"

StartSim = Callable[..., SimulatorProcess]


@pytest.fixture(params=TRANSPORTS)
def kind(request: pytest.FixtureRequest) -> str:
    """The simulator transport under test."""
    return request.param


@pytest.fixture
def sim(simulator: StartSim, kind: str) -> SimulatorProcess:
    """A frozen, unpaced simulator on ``kind``."""
    return simulator(transport=kind, seed=7, speed=0, baud=0)


def make_transport(sim: SimulatorProcess, kind: str, lock_dir: Path, **opts: object) -> Transport:
    return open_transport(PORTTYPE[kind], str(sim.port), 2400, lock_dir=lock_dir, **opts)


@pytest.fixture
def link(sim: SimulatorProcess, kind: str, lock_dir: Path) -> Iterator[InverterLink]:
    link = InverterLink(make_transport(sim, kind, lock_dir))
    yield link
    link.close()


def test_main_commands_round_trip(sim: SimulatorProcess, link: InverterLink) -> None:
    for command in MAIN_COMMANDS:
        expected = sim.control({"op": "query", "command": command})["payload"]
        assert link.query(command).payload == expected, command
    sent = [event["request"] for event in sim.truth() if event.get("event") == "exchange"]
    assert sent == MAIN_COMMANDS
    assert link.counters().discarded == {}


def test_setting_round_trip(link: InverterLink) -> None:
    for setting, name in [("POP00", "Utility"), ("POP02", "SBU")]:
        assert link.send(setting).payload == "ACK"
        ratings = {f.key: f.value for f in link.query("QPIRI").fields}
        assert str(ratings["output_source_priority"]).startswith(name)
    with pytest.raises(CommandRefused):
        link.send("PCP09")


def _requests_seen(sim: SimulatorProcess) -> list[bytes]:
    return [bytes.fromhex(e["request_hex"]) for e in sim.truth() if e.get("event") == "exchange"]


def test_long_requests_arrive_intact(sim: SimulatorProcess, link: InverterLink) -> None:
    # Requests longer than one 8-byte report.
    commands = ["QPIGS2", "QMCHGCR", "QMUCHGCR", "QED20261126", "PBCV48.0"]
    for command in commands:
        assert link.transport.exchange(command, timeout_s=2).payload  # any reply, NAK included
    assert _requests_seen(sim) == [encode_request(c) for c in commands]


def test_zero_crc_byte_arrives_intact(sim: SimulatorProcess, link: InverterLink) -> None:
    # PCVV24.2's CRC high byte is 0x00 and lands at offset 8: the start of the second report.
    link.transport.exchange("PCVV24.2", timeout_s=2)
    assert _requests_seen(sim) == [encode_request("PCVV24.2")]


def test_paced_qpigs_at_2400_baud(simulator: StartSim, kind: str, lock_dir: Path) -> None:
    sim = simulator(transport=kind, seed=7, speed=0, baud=2400)
    with InverterLink(make_transport(sim, kind, lock_dir)) as link:
        reading = link.query("QPIGS")
    assert reading.payload == sim.control({"op": "query", "command": "QPIGS"})["payload"]


def test_late_tail_is_discarded(sim: SimulatorProcess, kind: str, lock_dir: Path) -> None:
    link = InverterLink(make_transport(sim, kind, lock_dir), timeout_s=0.5)
    sim.control({"op": "faults", "spec": "late:1"})
    with pytest.raises(FrameError):  # only the head of the reply comes: truncated
        link.query("QPIGS")
    sim.control({"op": "faults", "spec": ""})
    # The tail arrives now, ahead of this reply: discarded, and our reply still taken.
    assert link.query("QMOD").payload == sim.control({"op": "query", "command": "QMOD"})["payload"]
    tails = [e for e in sim.truth() if e.get("event") == "late_tail"]
    assert len(tails) == 1
    assert link.counters().discarded == {"truncated": 1, "garbage": 1}
    link.close()


def test_reply_to_another_command_is_rejected(simulator: StartSim, kind: str, lock_dir: Path) -> None:
    # Paced: the unpaced pty simulator sends at once and ignores the "slow" delay.
    sim = simulator(transport=kind, seed=7, speed=0, baud=2400)
    link = InverterLink(make_transport(sim, kind, lock_dir), timeout_s=0.2)
    sim.control({"op": "faults", "spec": "slow:1:1s"})
    with pytest.raises(DeviceTimeout):
        link.query("QPIWS")  # its reply comes 1 s late, in the middle of the next exchange
    sim.control({"op": "faults", "spec": ""})
    patient = InverterLink(link.transport, timeout_s=5)
    reading = patient.query("QMOD")
    assert reading.payload == sim.control({"op": "query", "command": "QMOD"})["payload"]
    # It came while QMOD's reply was awaited: a sound frame, but not ours.
    assert link.counters().discarded == {"stale": 1}
    link.close()


def test_stale_reply_is_drained_before_sending(simulator: StartSim, kind: str, lock_dir: Path) -> None:
    sim = simulator(transport=kind, seed=7, speed=0, baud=2400)
    link = InverterLink(make_transport(sim, kind, lock_dir), timeout_s=0.2)
    sim.control({"op": "faults", "spec": "slow:1:500ms"})
    with pytest.raises(DeviceTimeout):
        link.query("QMOD")
    sim.control({"op": "faults", "spec": ""})
    # Wait until the late reply is queued on our side, then ask again: it must be thrown away.
    ready, _, _ = select.select([link.transport.fileno()], [], [], 5)
    assert ready
    assert link.query("QPI").payload == "PI30"
    assert link.transport.stats().drained_bytes > 0
    link.close()


@pytest.mark.parametrize(
    ("spec", "error", "kind_counted"),
    [
        ("noreply:1", DeviceTimeout, "timeout"),
        ("echo:1", CommandRefused, "echo"),
        ("flip:1", FrameError, "crc"),
        ("garbage:1", FrameError, "garbage"),
        ("truncate:1", FrameError, "truncated"),
        ("nak:1", CommandRefused, "nak"),
    ],
)
def test_faults_raise_and_count(
    sim: SimulatorProcess, kind: str, lock_dir: Path, spec: str, error: type[InverterError], kind_counted: str
) -> None:
    link = InverterLink(make_transport(sim, kind, lock_dir), timeout_s=0.4)
    sim.control({"op": "faults", "spec": spec})
    with pytest.raises(error):
        link.query("QPIGS")
    assert link.counters().errors == {kind_counted: 1}
    sim.control({"op": "faults", "spec": ""})
    assert link.query("QMOD").fields  # and the link goes on working
    link.close()


@pytest.mark.parametrize(("spec", "allow_no_crc"), [("lf:1", False), ("nocrc:1", True)])
def test_tolerated_quirks(
    sim: SimulatorProcess, kind: str, lock_dir: Path, spec: str, allow_no_crc: bool
) -> None:
    link = InverterLink(make_transport(sim, kind, lock_dir), allow_no_crc=allow_no_crc)
    sim.control({"op": "faults", "spec": spec})
    assert link.query("QMOD").payload == sim.control({"op": "query", "command": "QMOD"})["payload"]
    link.close()


def _query_until_back(link: InverterLink, command: str) -> int:
    """Query until the device answers again; how many attempts failed with DeviceGone/timeout."""
    failures = 0
    deadline = time.monotonic() + COMEBACK_WAIT_S
    while True:
        try:
            link.query(command)
            return failures
        except (DeviceGone, DeviceTimeout):
            failures += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_device_gone_and_back(sim: SimulatorProcess, link: InverterLink) -> None:
    link.query("QMOD")
    sim.control({"op": "unplug", "seconds": 1})
    _wait_for_event(sim, "gone")  # the simulator's worker unplugs on its next turn
    with pytest.raises((DeviceGone, DeviceTimeout)):
        link.query("QMOD")
    assert _query_until_back(link, "QMOD") >= 0
    counters = link.counters()
    assert counters.errors.get("device_gone", 0) >= 1
    assert counters.opens == 2


@pytest.mark.fuse
def test_renumbered_node_found_via_sysfs(
    simulator: StartSim, lock_dir: Path, fake_sysfs: Path, tmp_path: Path
) -> None:
    sim = simulator(transport="hidraw", seed=7, speed=0, baud=0)
    node = Path(os.readlink(sim.port))
    make_sysfs_node(fake_sysfs, node.name, INVERTER_HID_ID)
    make_sysfs_node(fake_sysfs, "hidraw7", "0003:0000046D:0000C31C")  # a keyboard
    transport = HidrawTransport("auto", sysfs_root=fake_sysfs, dev_root=node.parent, lock_dir=lock_dir)
    link = InverterLink(transport)
    link.query("QMOD")
    assert transport.path == node
    sim.control({"op": "unplug", "seconds": 1})
    _wait_for_event(sim, "gone")  # the simulator's worker unplugs on its next turn
    with pytest.raises((DeviceGone, DeviceTimeout)):
        link.query("QMOD")
    back = _wait_for_event(sim, "back")
    # Play the kernel: the old node leaves sysfs, the re-enumerated one appears.
    (fake_sysfs / "class" / "hidraw" / node.name / "device" / "uevent").unlink()
    new_node = Path(back["node"])
    make_sysfs_node(fake_sysfs, new_node.name, INVERTER_HID_ID)
    assert _query_until_back(link, "QMOD") >= 0
    assert transport.path == new_node
    assert new_node.name != node.name
    link.close()


def test_second_owner_gets_busy(sim: SimulatorProcess, kind: str, lock_dir: Path) -> None:
    first = make_transport(sim, kind, lock_dir)
    first.open()
    try:
        # Through the symlink or the real node: the same device, the same lock.
        for port in (str(sim.port), os.path.realpath(sim.port)):
            second = open_transport(PORTTYPE[kind], port, 2400, lock_dir=lock_dir)
            with pytest.raises(DeviceLocked) as caught:
                second.exchange("QMOD", timeout_s=1)
            assert caught.value.holder_pid == os.getpid()
        assert first.exchange("QMOD", timeout_s=2).payload
    finally:
        first.close()


HOLDER = """
import sys
from solarmon.inverter.transport import open_transport
transport = open_transport(sys.argv[1], sys.argv[2], 2400, lock_dir=sys.argv[3])
print(transport.exchange("QMOD", timeout_s=5).payload, flush=True)
sys.stdin.read()
transport.close()
"""


def test_second_process_gets_busy_with_pid(sim: SimulatorProcess, kind: str, lock_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, PORTTYPE[kind], str(sim.port), str(lock_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip()  # it owns the device and got a reply
        with pytest.raises(DeviceLocked, match=f"pid {holder.pid}"):
            make_transport(sim, kind, lock_dir).exchange("QMOD", timeout_s=1)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    transport = make_transport(sim, kind, lock_dir)
    assert transport.exchange("QMOD", timeout_s=2).payload  # free again once the holder is gone
    transport.close()


def _wait_for_event(sim: SimulatorProcess, name: str) -> dict:
    deadline = time.monotonic() + COMEBACK_WAIT_S
    while time.monotonic() < deadline:
        events = [e for e in sim.truth() if e.get("event") == name]
        if events:
            return events[-1]
        time.sleep(0.05)
    raise AssertionError(f"the simulator never logged {name!r}")
