"""SerialTransport against a scripted device on a real pty: drain, matching, timeouts, re-open."""

from __future__ import annotations

import select
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.inverter.errors import DeviceGone, DeviceTimeout
from solarmon.inverter.frame import FrameError, ReplyFrame, encode_request
from solarmon.inverter.transport import SerialTransport, open_transport
from solarmon.inverter.transport.collector import STALE
from tests.transport.conftest import DeviceFactory, reply

pytestmark = pytest.mark.timeout(30)

REPLIES = {
    encode_request("QMOD"): [reply("B")],
    encode_request("QPIWS"): [reply("0" * 32)],
    encode_request("QPI"): [reply("PI30")],
}
SHORT_S = 0.3  # how long a test waits for a reply that is not coming


def answers(request: bytes) -> list[bytes]:
    return REPLIES.get(request, [reply("NAK")])


def is_mode(frame: ReplyFrame) -> bool:
    return len(frame.payload) == 1


@pytest.fixture
def serial_transport(tmp_path: Path, lock_dir: Path) -> Iterator[SerialTransport]:
    transport = SerialTransport(str(tmp_path / "ttyINV"), lock_dir=lock_dir)
    yield transport
    transport.close()


def test_round_trips(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    device = pty_device(answers)
    assert serial_transport.exchange("QMOD", timeout_s=5).payload == "B"
    assert serial_transport.exchange("QPI", timeout_s=5).payload == "PI30"
    assert serial_transport.exchange("QXX", timeout_s=5).is_nak
    assert device.requests == [encode_request(c) for c in ("QMOD", "QPI", "QXX")]
    stats = serial_transport.stats()
    assert (stats.exchanges, stats.replies, stats.opens) == (3, 3, 1)


def test_stale_bytes_are_drained_before_sending(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    device = pty_device(answers)
    serial_transport.open()
    device.write(b"00856 010\x12\x34\r" + reply("L"))  # leftovers from an earlier timeout
    # Let the stale bytes reach the port before the next command.
    _wait_readable(serial_transport)
    assert serial_transport.exchange("QMOD", timeout_s=5, accept=is_mode).payload == "B"
    assert serial_transport.stats().drained_bytes > 0


def test_late_tail_during_the_command_is_discarded(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    pty_device(lambda req: [b"2 00 00856 010\x9a\x33\r", reply("0" * 32), reply("B")])
    frame = serial_transport.exchange("QMOD", timeout_s=5, accept=is_mode)
    assert frame.payload == "B"
    assert serial_transport.stats().discarded == {"garbage": 1, STALE: 1}


def test_echo_only_raises_echo_at_timeout(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    pty_device(lambda req: [req])
    with pytest.raises(FrameError) as caught:
        serial_transport.exchange("QBOGUS", timeout_s=SHORT_S)
    assert caught.value.kind == "echo"


def test_silence_is_a_timeout(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    pty_device(lambda req: [])
    with pytest.raises(DeviceTimeout, match="QMOD"):
        serial_transport.exchange("QMOD", timeout_s=SHORT_S)
    assert serial_transport.stats().timeouts == 1
    assert serial_transport.is_open  # a timeout is not a reason to re-open


def test_wrong_reply_only_is_a_timeout(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    pty_device(lambda req: [reply("0" * 32)])
    with pytest.raises(DeviceTimeout):
        serial_transport.exchange("QMOD", timeout_s=SHORT_S, accept=is_mode)
    assert serial_transport.stats().discarded[STALE] == 1


def test_device_gone_and_back(
    pty_device: DeviceFactory, serial_transport: SerialTransport
) -> None:
    device = pty_device(answers)
    assert serial_transport.exchange("QMOD", timeout_s=5).payload == "B"
    device.stop()  # the adapter is unplugged
    with pytest.raises(DeviceGone):
        serial_transport.exchange("QMOD", timeout_s=2)
    assert not serial_transport.is_open
    Path(serial_transport.port).unlink()
    with pytest.raises(DeviceGone, match="cannot open"):  # still gone: opening fails cleanly
        serial_transport.exchange("QMOD", timeout_s=2)
    pty_device(answers)  # plugged in again, as a new pty behind the same path
    assert serial_transport.exchange("QMOD", timeout_s=5).payload == "B"
    stats = serial_transport.stats()
    assert stats.opens == 2
    assert stats.device_gone == 2


def test_open_transport_builds_serial(tmp_path: Path, lock_dir: Path) -> None:
    transport = open_transport("serial", str(tmp_path / "tty"), 2400, lock_dir=lock_dir)
    assert isinstance(transport, SerialTransport)
    assert transport.baud == 2400
    assert not transport.is_open


@pytest.mark.parametrize(
    ("porttype", "port", "opts", "message"),
    [
        ("bluetooth", "/dev/x", {}, "unknown porttype"),
        ("serial", "auto", {}, "port = auto"),
        ("serial", "/dev/x", {"sysfs_root": "/sys"}, "bad option"),
    ],
)
def test_open_transport_rejects(porttype: str, port: str, opts: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_transport(porttype, port, 2400, **opts)


def _wait_readable(transport: SerialTransport) -> None:
    ready, _, _ = select.select([transport.fileno()], [], [], 5)
    assert ready
