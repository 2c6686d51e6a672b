"""InverterLink over a real transport: decoding, NAK/echo, error counters, re-open, USB reset."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.inverter.errors import CommandRefused, DeviceGone, DeviceTimeout
from solarmon.inverter.frame import FrameError, encode_request
from solarmon.inverter.link import InverterLink
from solarmon.inverter.transport import HidrawTransport, SerialTransport
from solarmon.inverter.transport.wire import timeout_for
from tests.transport.conftest import DeviceFactory, reply

pytestmark = pytest.mark.timeout(30)

QPIGS_PAYLOAD = (
    "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
    "00 00 00856 010"
)
REPLIES = {
    "QPIGS": reply(QPIGS_PAYLOAD),
    "QMOD": reply("B"),
    "QPIWS": reply("0" * 32),
    "POP02": reply("ACK"),
    "PCP09": reply("NAK"),
}


def inverter(request: bytes) -> list[bytes]:
    for command, answer in REPLIES.items():
        if request == encode_request(command):
            return [answer]
    return [reply("NAK")]


@pytest.fixture
def link(tmp_path: Path, lock_dir: Path) -> Iterator[InverterLink]:
    link = InverterLink(SerialTransport(str(tmp_path / "ttyINV"), lock_dir=lock_dir))
    yield link
    link.close()


def test_query_decodes(pty_device: DeviceFactory, link: InverterLink) -> None:
    pty_device(inverter)
    reading = link.query("QPIGS")
    values = {f.key: f.value for f in reading.fields}
    assert values["battery_voltage"] == pytest.approx(57.5)
    assert values["pv_input_power"] == 856
    assert link.counters().ok == 1


def test_stale_reply_is_skipped_by_shape(pty_device: DeviceFactory, link: InverterLink) -> None:
    # The tail of an earlier QPIWS (a whole, CRC-valid frame) arrives before the QMOD answer.
    pty_device(lambda req: [reply("0" * 32), reply("L")] if req == encode_request("QMOD") else [])
    reading = link.query("QMOD")
    assert reading.payload == "L"
    assert reading.fields[0].value == "Line"
    assert link.counters().discarded == {"stale": 1}


def test_setting_ack_and_nak(pty_device: DeviceFactory, link: InverterLink) -> None:
    pty_device(inverter)
    assert link.send("POP02").fields[0].value is True
    with pytest.raises(CommandRefused):
        link.send("PCP09")
    assert link.counters().errors == {"nak": 1}


def test_nak_query_is_refused(pty_device: DeviceFactory, link: InverterLink) -> None:
    pty_device(inverter)
    with pytest.raises(CommandRefused):
        link.query("QET")


def test_echo_means_refused(pty_device: DeviceFactory, tmp_path: Path, lock_dir: Path) -> None:
    pty_device(lambda req: [req])
    link = InverterLink(SerialTransport(str(tmp_path / "ttyINV"), lock_dir=lock_dir), timeout_s=0.3)
    with pytest.raises(CommandRefused, match="echoed") as caught:
        link.query("QPIGS2")
    assert isinstance(caught.value.__cause__, FrameError)
    assert caught.value.kind == "echo"  # counted as echo by the daemon, not as nak
    assert link.counters().errors == {"echo": 1}
    link.close()


def test_timeouts_are_counted(pty_device: DeviceFactory, tmp_path: Path, lock_dir: Path) -> None:
    pty_device(lambda req: [])
    link = InverterLink(SerialTransport(str(tmp_path / "ttyINV"), lock_dir=lock_dir), timeout_s=0.2)
    for _ in range(2):
        with pytest.raises(DeviceTimeout):
            link.query("QMOD")
    counters = link.counters()
    assert counters.errors == {"timeout": 2}
    assert counters.consecutive_failures == 2
    link.close()


def test_timeouts_sized_per_command(tmp_path: Path) -> None:
    link = InverterLink(SerialTransport(str(tmp_path / "tty")))
    assert link.timeout_for("QMOD") == pytest.approx(timeout_for("QMOD", 2400))
    assert link.timeout_for("QMOD") < link.timeout_for("QPIGS")
    fixed = InverterLink(SerialTransport(str(tmp_path / "tty")), timeout_s=3.0)
    assert fixed.timeout_for("QMOD") == fixed.timeout_for("QPIGS") == 3.0


def test_reopens_after_device_gone(pty_device: DeviceFactory, link: InverterLink) -> None:
    device = pty_device(inverter)
    link.query("QMOD")
    device.stop()
    with pytest.raises(DeviceGone):
        link.query("QMOD")
    pty_device(inverter)
    assert link.query("QMOD").fields
    counters = link.counters()
    assert counters.errors == {"device_gone": 1}
    assert counters.opens == 2
    assert counters.consecutive_failures == 0


class RecordingResetter:
    """The USB boundary: records resets instead of touching a real bus."""

    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1


def test_usb_reset_after_consecutive_failures(tmp_path: Path, lock_dir: Path) -> None:
    resetter = RecordingResetter()
    transport = HidrawTransport(str(tmp_path / "hidraw9"), lock_dir=lock_dir, resetter=resetter)
    link = InverterLink(transport, reset_after=3)
    for _ in range(7):
        with pytest.raises(DeviceGone):
            link.query("QPIGS")
    assert resetter.resets == 2  # after the 3rd and the 6th failure
    assert link.counters().resets == 2


def test_no_reset_without_a_resetter(tmp_path: Path, lock_dir: Path) -> None:
    link = InverterLink(HidrawTransport(str(tmp_path / "hidraw9"), lock_dir=lock_dir), reset_after=1)
    with pytest.raises(DeviceGone):
        link.query("QPIGS")
    assert link.counters().resets == 0


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"timeout_s": 0}, "timeout_s"), ({"reset_after": 0}, "reset_after")]
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InverterLink(SerialTransport(str(tmp_path / "tty")), **kwargs)


def test_counters_do_not_wait_for_an_exchange(
    pty_device: DeviceFactory, tmp_path: Path, lock_dir: Path
) -> None:
    device = pty_device(lambda req: [])
    link = InverterLink(SerialTransport(str(tmp_path / "ttyINV"), lock_dir=lock_dir), timeout_s=1)
    worker = threading.Thread(target=lambda: pytest.raises(DeviceTimeout, link.query, "QMOD"))
    worker.start()
    while not device.requests:  # the query is on the wire now
        worker.join(0.01)
    counters = link.counters()
    assert worker.is_alive()  # still waiting for its reply while we read the counters
    assert counters.queries == 1
    worker.join()
    assert link.counters().errors == {"timeout": 1}
    link.close()
