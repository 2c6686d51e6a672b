"""Fixtures for the transport tests: a scripted device on a real pty, a fake sysfs tree, lock dirs.

The scripted pty device answers each request with the exact bytes a test chooses (a late tail,
an echo, noise, silence), which the full simulator does at random rates; the simulator-backed
tests in this directory cover the same behaviour end to end.
"""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from solarmon.inverter.frame import encode_reply, find_terminator

# Device script: request bytes (up to CR) -> list of byte strings to write back, in order.
Script = Callable[[bytes], list[bytes]]


class PtyDevice:
    """A device on a real pty: the transport opens ``path`` (a symlink to the pty's slave)."""

    def __init__(self, path: Path, script: Script) -> None:
        self.path = path
        self.script = script
        self.requests: list[bytes] = []
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._stop_r, self._stop_w = os.pipe()

    def start(self) -> None:
        """Create the pty, point ``path`` at it and answer requests on a thread."""
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        # Hold a slave fd (never read) so the master does not report EIO before the transport
        # opens the slave by name, like a real serial port.
        self._slave = slave
        self.path.unlink(missing_ok=True)
        self.path.symlink_to(os.ttyname(slave))
        self._master = master
        self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        """Send bytes unprompted (a late tail, noise)."""
        assert self._master is not None
        os.write(self._master, data)

    def _serve(self, master: int) -> None:
        import select

        buffer = bytearray()
        while True:
            ready, _, _ = select.select([master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(master, 256)
            except OSError:
                return
            buffer += data
            while (end := find_terminator(buffer)) >= 0:
                request = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                self.requests.append(request)
                for chunk in self.script(request):
                    os.write(master, chunk)

    def stop(self) -> None:
        """Close the pty: the transport's next read fails like an unplugged adapter."""
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._master is not None:
            os.close(self._master)
            self._master = None
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        # Reset the stop pipe so the device can be started again.
        os.read(self._stop_r, 16)


# What the pty_device fixture yields: start a device with a script.
DeviceFactory = Callable[[Script], "PtyDevice"]


def reply(payload: str) -> bytes:
    """A well-formed reply frame for ``payload`` (without the leading "(")."""
    return encode_reply(payload)


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    """A private lock directory (the real one is /run/lock)."""
    path = tmp_path / "lock"
    path.mkdir()
    return path


@pytest.fixture
def pty_device(tmp_path: Path) -> Iterator[Callable[[Script], PtyDevice]]:
    """Factory: start a scripted device on a real pty at tmp_path/ttyINV."""
    devices: list[PtyDevice] = []

    def start(script: Script) -> PtyDevice:
        device = PtyDevice(tmp_path / "ttyINV", script)
        device.start()
        devices.append(device)
        return device

    yield start
    for device in devices:
        if device._master is not None:
            device.stop()
        os.close(device._stop_r)
        os.close(device._stop_w)


def make_sysfs_node(sysfs: Path, name: str, hid_id: str) -> None:
    """Add /sys/class/hidraw/<name>/device/uevent with HID_ID to a fake sysfs tree."""
    device = sysfs / "class" / "hidraw" / name / "device"
    device.mkdir(parents=True, exist_ok=True)
    (device / "uevent").write_text(f"DRIVER=hid-generic\nHID_ID={hid_id}\nHID_NAME=MEC0003\n")


@pytest.fixture
def fake_sysfs(tmp_path: Path) -> Path:
    """An empty fake sysfs root."""
    root = tmp_path / "sys"
    (root / "class" / "hidraw").mkdir(parents=True)
    return root
