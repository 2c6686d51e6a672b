"""Exclusive access: a second owner of the device gets DeviceBusy naming the holder's pid."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from solarmon.inverter.errors import DeviceBusy
from solarmon.inverter.transport.hidraw import HidrawTransport
from solarmon.inverter.transport.lock import DeviceLock, DeviceLocked, default_lock_dir, lock_file_name

pytestmark = pytest.mark.timeout(30)

HOLDER = """
import sys
from solarmon.inverter.transport.hidraw import HidrawTransport
t = HidrawTransport(sys.argv[1], lock_dir=sys.argv[2])
t.open()
print("locked", flush=True)
sys.stdin.read()
t.close()
"""


@pytest.fixture
def device_file(tmp_path: Path) -> Path:
    """A stand-in device node (locking does not care what the file is)."""
    path = tmp_path / "hidraw0"
    path.write_bytes(b"")
    return path


def test_second_transport_in_this_process_is_busy(device_file: Path, lock_dir: Path) -> None:
    with HidrawTransport(str(device_file), lock_dir=lock_dir):
        second = HidrawTransport(str(device_file), lock_dir=lock_dir)
        with pytest.raises(DeviceLocked) as caught:
            second.open()
        assert caught.value.holder_pid == os.getpid()
        assert not second.is_open
    # Released on close: now it works.
    with HidrawTransport(str(device_file), lock_dir=lock_dir) as third:
        assert third.is_open


def test_second_process_is_busy_with_holder_pid(device_file: Path, lock_dir: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(device_file), str(lock_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=repo,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DeviceBusy, match=f"pid {holder.pid}"):
            HidrawTransport(str(device_file), lock_dir=lock_dir).open()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    # The holder is gone, and so is its lock (flock dies with the process).
    with HidrawTransport(str(device_file), lock_dir=lock_dir) as transport:
        assert transport.is_open


def test_symlink_and_real_path_collide(device_file: Path, lock_dir: Path, tmp_path: Path) -> None:
    link = tmp_path / "inverter"
    link.symlink_to(device_file)
    assert lock_file_name(link) == lock_file_name(device_file)
    with HidrawTransport(str(link), lock_dir=lock_dir), pytest.raises(DeviceLocked):
        HidrawTransport(str(device_file), lock_dir=lock_dir).open()


def test_foreign_flock_on_the_device_is_busy(device_file: Path, lock_dir: Path) -> None:
    # Another program (pyserial exclusive=True, minicom) flocks the device without our lock file.
    fd = os.open(device_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DeviceLocked, match="another program") as caught:
            HidrawTransport(str(device_file), lock_dir=lock_dir).open()
        assert caught.value.holder_pid is None
    finally:
        os.close(fd)
    # Our lock file was given back when the device flock failed.
    lock = DeviceLock(device_file, lock_dir=lock_dir)
    lock.acquire()
    assert lock.held
    lock.release()


def test_lock_file_holds_pid_and_is_cleared(device_file: Path, lock_dir: Path) -> None:
    lock = DeviceLock(device_file, lock_dir=lock_dir)
    lock.acquire()
    assert lock.lock_path.read_text().strip() == str(os.getpid())
    lock.release()
    assert lock.lock_path.read_text() == ""
    assert lock.lock_path.exists()  # never unlinked: see lock.py


def test_unusable_lock_dir_is_a_clear_error(device_file: Path, tmp_path: Path) -> None:
    with pytest.raises(DeviceBusy, match="cannot create lock file"):
        HidrawTransport(str(device_file), lock_dir=tmp_path / "missing").open()


def test_long_paths_give_short_lock_names(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["x" * 50] * 8), "hidraw0")
    name = lock_file_name(deep)
    assert len(name) < 200
    assert name.endswith(".lock")
    assert name != lock_file_name(tmp_path / "hidraw0")


def test_exclusive_false_skips_the_lock(device_file: Path, lock_dir: Path) -> None:
    with (
        HidrawTransport(str(device_file), lock_dir=lock_dir),
        HidrawTransport(str(device_file), lock_dir=lock_dir, exclusive=False) as other,
    ):
        assert other.is_open


def test_default_lock_dir_is_writable(device_file: Path) -> None:
    directory = default_lock_dir()
    assert os.access(directory, os.W_OK)
    assert DeviceLock(device_file).lock_path.parent == directory
