"""The simulator's FUSE hidraw node behaves like /dev/hidrawN: 8-byte reports, EAGAIN, poll, copies per
fd, report-id and padding handling, pacing per report, unplug/renumbering and unmount on SIGTERM."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import time

import pytest

from solarmon.inverter.frame import decode_reply, encode_request
from solarmon.simulator.runner import SimulatorError
from solarmon.simulator.truth import exchanges
from tests.simulator.clients import HidrawClient, wait_for

pytestmark = [pytest.mark.fuse, pytest.mark.timeout(90)]


def _last_exchange(sim) -> dict:
    return exchanges(sim.truth())[-1]


def test_each_read_is_one_8_byte_report_and_eagain_when_empty(simulator):
    sim = simulator("hidraw", baud=0, seed=1)
    client = HidrawClient(sim.port)
    try:
        with pytest.raises(BlockingIOError):
            os.read(client.fd, 64)
        client.write_request("QPIGS")
        reports = [report for _, report in client.read_reports()]
    finally:
        client.close()
    assert all(len(report) == 8 for report in reports)
    data = b"".join(reports)
    end = data.index(b"\r") + 1
    assert data[end:] == b"\x00" * (len(data) - end)  # filler after the CR
    assert data[:end].hex() == _last_exchange(sim)["sent_hex"]
    assert decode_reply(data[:end]).payload == _last_exchange(sim)["payload"]


def test_poll_says_readable_only_when_a_report_is_queued(simulator):
    sim = simulator("hidraw", baud=0)
    client = HidrawClient(sim.port)
    try:
        poller = select.poll()
        poller.register(client.fd, select.POLLIN)
        assert poller.poll(0) == []
        client.write_request("QMOD")
        events = poller.poll(5000)
        assert events
        assert events[0][1] & select.POLLIN
        assert select.select([client.fd], [], [], 0)[0] == [client.fd]
        os.read(client.fd, 8)
        assert poller.poll(0) == []  # QMOD's reply fits one report
    finally:
        client.close()


def test_a_blocking_read_waits_for_the_report(simulator):
    sim = simulator("hidraw", baud=2400)
    client = HidrawClient(sim.port, nonblocking=False)
    try:
        client.write_request("QPI")
        report = os.read(client.fd, 64)
    finally:
        client.close()
    assert report.startswith(b"(PI30")
    assert len(report) == 8


def test_every_open_fd_gets_its_own_copy(simulator):
    sim = simulator("hidraw", baud=0)
    sender, listener = HidrawClient(sim.port), HidrawClient(sim.port)
    try:
        reply = sender.exchange("QPIRI")
        overheard = b"".join(report for _, report in listener.read_reports())
    finally:
        sender.close()
        listener.close()
    assert overheard.startswith(reply)
    assert decode_reply(reply).payload.startswith("230.0")


@pytest.mark.parametrize(
    ("profile", "command", "writes"),
    [
        # report number 0 in front is stripped by the kernel, so the device sees the bare frame
        ("axpert-5k", "QPIGS", lambda frame: [b"\x00" + frame]),
        # frames longer than 8 bytes: 8-byte chunks, the last zero-padded
        ("max-8k", "QPIGS2", lambda frame: [frame[i : i + 8].ljust(8, b"\x00") for i in range(0, 16, 8)]),
        ("axpert-5k", "QMCHGCR", lambda frame: [frame[i : i + 8].ljust(8, b"\x00") for i in range(0, 16, 8)]),
        # one short write, as mppsolar does for commands of 8 bytes or less
        ("axpert-5k", "QMOD", lambda frame: [frame]),
    ],
)
def test_report_numbers_and_padding_are_stripped(simulator, profile, command, writes):
    sim = simulator("hidraw", baud=0, profile=profile)
    client = HidrawClient(sim.port)
    try:
        for chunk in writes(encode_request(command)):
            os.write(client.fd, chunk)
        data = b"".join(report for _, report in client.read_reports())
    finally:
        client.close()
    reply = decode_reply(data[: data.index(b"\r") + 1])
    assert not reply.is_nak
    assert _last_exchange(sim)["request"] == command


def test_reports_arrive_at_the_uart_pace(simulator):
    sim = simulator("hidraw", baud=2400, turnaround_s=0.0)
    client = HidrawClient(sim.port)
    try:
        began = time.monotonic()
        client.write_request("QPIGS")
        arrivals = client.read_reports()
    finally:
        client.close()
    byte_s = 10 / 2400
    request = len(encode_request("QPIGS"))
    reply_len = len(bytes.fromhex(_last_exchange(sim)["sent_hex"]))
    assert len(arrivals) == -(-reply_len // 8)
    for index, (arrived, _) in enumerate(arrivals):
        crossed = min(reply_len, 8 * (index + 1))  # bytes of the reply on the UART by this report
        assert arrived - began >= (request + crossed) * byte_s * 0.98, index


def test_unplug_fails_open_fds_and_brings_the_device_back_renumbered(simulator):
    sim = simulator("hidraw", baud=0)
    first = os.path.realpath(sim.port)
    assert first.endswith("/hidraw0")
    old = HidrawClient(sim.port)
    try:
        sim.control({"op": "unplug", "seconds": 1.0})
        assert wait_for(lambda: not sim.port.exists(), timeout_s=5)
        with pytest.raises(OSError) as read_error:
            os.read(old.fd, 8)
        assert read_error.value.errno == errno.EIO
        with pytest.raises(OSError) as write_error:
            os.write(old.fd, encode_request("QPI"))
        assert write_error.value.errno == errno.ENODEV
        poller = select.poll()
        poller.register(old.fd, select.POLLIN)
        assert poller.poll(0)[0][1] & (select.POLLERR | select.POLLHUP)
        assert not os.path.exists(first)
        assert wait_for(lambda: sim.port.exists(), timeout_s=10)
    finally:
        old.close()
    assert os.path.realpath(sim.port).endswith("/hidraw1")
    new = HidrawClient(sim.port)
    try:
        assert decode_reply(new.exchange("QPI")).payload == "PI30"
    finally:
        new.close()


def test_sigterm_unmounts_and_removes_everything(simulator):
    sim = simulator("hidraw", baud=0)
    mount_dir = os.path.dirname(os.path.realpath(sim.port))
    assert os.path.ismount(mount_dir)
    client = HidrawClient(sim.port)  # a client still holding the node must not keep it mounted
    blocked = HidrawClient(sim.port, nonblocking=False)
    outcome: list[object] = []

    def read_blocking() -> None:
        try:
            outcome.append(os.read(blocked.fd, 8))
        except OSError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read_blocking, daemon=True)
    reader.start()
    assert sim.stop() == 0  # a reader blocked in read() does not hang the exit
    reader.join(timeout=10)
    assert outcome
    assert isinstance(outcome[0], OSError)
    assert not os.path.ismount(mount_dir)
    with pytest.raises(OSError):
        os.read(client.fd, 8)
    for handle in (client, blocked):
        with contextlib.suppress(OSError):
            handle.close()
    assert not os.path.exists(mount_dir)
    assert not sim.port.is_symlink()


def test_a_gone_fault_swallows_the_request_and_the_node_comes_back_renumbered(simulator):
    sim = simulator("hidraw", baud=0, faults="gone:1:0.5s")
    client = HidrawClient(sim.port)
    try:
        client.write_request("QPIGS")
        with pytest.raises(OSError) as gone:
            client.read_reports(timeout_s=5)
        assert gone.value.errno == errno.EIO
    finally:
        client.close()
    sim.control({"op": "faults", "spec": ""})
    assert wait_for(lambda: os.path.realpath(sim.port).endswith("/hidraw1"), timeout_s=10)
    fresh = HidrawClient(sim.port)
    try:
        assert decode_reply(fresh.exchange("QPI")).payload == "PI30"
    finally:
        fresh.close()
    exchange = next(e for e in sim.truth() if e["event"] == "exchange")
    assert exchange["fault"] == "gone"
    assert exchange["expect"] == "timeout"



def test_an_unusable_mount_directory_fails_with_a_clear_error(simulator, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(SimulatorError, match="cannot mount the hidraw node"):
        simulator("hidraw", extra_args=("--mount-dir", str(blocker)))
    assert blocker.read_text() == "x"  # and nothing of the user's was touched


def test_a_report_starting_with_0x00_loses_it_unless_a_report_number_is_prepended(simulator):
    sim = simulator("hidraw", baud=0, profile="hs-3k")
    frame = encode_request("PCVV24.2")  # its CRC high byte is 0x00 and starts the second report
    assert frame[8] == 0
    chunks = [frame[:8], frame[8:].ljust(8, b"\x00")]
    client = HidrawClient(sim.port)
    try:
        for chunk in chunks:  # naive: the kernel takes the leading 0x00 for report number 0
            os.write(client.fd, chunk)
        client.read_reports()
        for chunk in chunks:  # explicit report number 0: the chunk goes out intact
            os.write(client.fd, b"\x00" + chunk)
        client.read_reports()
    finally:
        client.close()
    naive, numbered = exchanges(sim.truth())
    assert naive["request_hex"] == (frame[:8] + frame[9:]).hex()
    assert naive["request"] is None  # CRC mismatch leaves a non-ASCII byte in the command: NAK
    assert numbered["request_hex"] == frame.hex()
    assert numbered["request"] == "PCVV24.2"
