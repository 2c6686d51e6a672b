"""Transport.exchange_bytes (another protocol on the port, a BMS): on a real pty, with the device
lock; an answer in pieces is read until whole, a multi-frame answer until the line goes quiet, a
partial one returned at the deadline for the codec to reject, silence is a timeout."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.inverter.errors import DeviceBusy, DeviceTimeout
from solarmon.inverter.transport.serialport import SerialTransport


class Device:
    """A pty that answers every request with ``pieces`` (bytes, pause after in seconds)."""

    def __init__(self, path: Path) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        path.symlink_to(os.ttyname(self.slave))
        self.pieces: list[tuple[bytes, float]] = []
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import select
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            self.requests.append(os.read(self.master, 256))
            for data, pause in self.pieces:
                os.write(self.master, data)
                time.sleep(pause)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def device(tmp_path: Path) -> Iterator[tuple[Device, SerialTransport]]:
    dev = Device(tmp_path / "ttyBMS")
    lock_dir = tmp_path / "lock"
    lock_dir.mkdir()
    transport = SerialTransport(str(tmp_path / "ttyBMS"), baud=9600, lock_dir=lock_dir)
    yield dev, transport
    transport.close()
    dev.close()


def test_an_answer_in_pieces_is_read_until_complete(device) -> None:
    dev, transport = device
    dev.pieces = [(b"\xa5\x01\x90", 0.05), (b"\x08" + bytes(9), 0.0)]
    started = time.monotonic()
    data = transport.exchange_bytes(b"\xa5\x40\x90", timeout_s=2.0, complete=lambda d: len(d) >= 13)
    assert data == b"\xa5\x01\x90\x08" + bytes(9)
    assert time.monotonic() - started < 1.0  # returned when whole, not at the deadline
    assert dev.requests == [b"\xa5\x40\x90"]


def test_a_multi_frame_answer_is_read_until_the_line_is_quiet(device) -> None:
    dev, transport = device
    dev.pieces = [(b"A" * 13, 0.03), (b"B" * 13, 0.03), (b"C" * 13, 0.0)]
    data = transport.exchange_bytes(b"?", timeout_s=2.0, complete=lambda d: len(d) >= 13, quiet_s=0.2)
    assert data == b"A" * 13 + b"B" * 13 + b"C" * 13


def test_a_partial_answer_comes_back_at_the_deadline(device) -> None:
    dev, transport = device
    dev.pieces = [(b"\xa5\x01", 0.0)]
    started = time.monotonic()
    data = transport.exchange_bytes(b"?", timeout_s=0.4, complete=lambda d: len(d) >= 13)
    assert data == b"\xa5\x01"
    assert time.monotonic() - started >= 0.35


def test_silence_is_a_timeout_and_the_lock_holds(device, tmp_path: Path) -> None:
    _dev, transport = device
    with pytest.raises(DeviceTimeout):
        transport.exchange_bytes(b"?", timeout_s=0.3, complete=lambda d: True)
    other = SerialTransport(str(tmp_path / "ttyBMS"), baud=9600, lock_dir=tmp_path / "lock")
    with pytest.raises(DeviceBusy):
        other.exchange_bytes(b"?", timeout_s=0.3, complete=lambda d: True)
