"""Exclusive access to an inverter: one process owns the device, the others get DeviceBusy.

A hidraw node hands every report to every open fd, so two processes polling one inverter read
each other's replies (PI30.md §2). Two advisory locks prevent that:

- a lock file in ``/run/lock`` (or a configured directory; the temp dir where /run/lock is
  missing) named after the device's *real* path,
  so ``/dev/inverter`` (a udev symlink) and ``/dev/hidraw0`` collide; it holds the owner's pid for
  the error message. ``flock`` locks vanish with their process, so a crash leaves no stale lock;
  the file itself is never unlinked (unlinking a flock file lets two owners hold two inodes).
- ``flock(LOCK_EX | LOCK_NB)`` on the device fd itself, which also keeps out other programs that
  lock the device (pyserial's ``exclusive=True``, minicom) without knowing our lock directory.

A renumbered node (hidraw0 → hidraw1) is locked under its new real path when the transport
re-opens it; a second process that finds it via ``port = auto`` resolves the same path.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from solarmon.inverter.errors import DeviceBusy

DEFAULT_LOCK_DIR = Path("/run/lock")
LOCK_PREFIX = "solarmon-"
# Keep lock file names well under NAME_MAX even for deep test paths.
_MAX_KEY_CHARS = 120
# flock on a file system that does not support it (some FUSE mounts) is not "busy".
_UNSUPPORTED = frozenset({errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOLCK})


class DeviceLocked(DeviceBusy):
    """The device is held by another owner; ``holder_pid`` is its pid when known."""

    def __init__(self, message: str, holder_pid: int | None) -> None:
        super().__init__(message)
        self.holder_pid = holder_pid


def default_lock_dir() -> Path:
    """``/run/lock`` when usable, else the temp dir (minimal containers lack /run/lock).

    Every process computes the same answer on one machine, so they still meet at one lock file;
    and the flock on the device fd protects even processes that disagree.
    """
    if os.access(DEFAULT_LOCK_DIR, os.W_OK | os.X_OK):
        return DEFAULT_LOCK_DIR
    return Path(tempfile.gettempdir())


def lock_file_name(device_path: str | Path) -> str:
    """The lock file name for a device: its real path, flattened, hashed when long."""
    real = os.path.realpath(device_path)
    key = real.strip("/").replace("/", "_") or "root"
    if len(key) > _MAX_KEY_CHARS:
        digest = hashlib.sha256(real.encode()).hexdigest()[:16]
        key = f"{key[-(_MAX_KEY_CHARS - 17):]}-{digest}"
    return f"{LOCK_PREFIX}{key}.lock"


class DeviceLock:
    """The lock file plus the device-fd flock for one open of one device."""

    def __init__(self, device_path: str | Path, *, lock_dir: str | Path | None = None) -> None:
        self.device_path = str(device_path)
        directory = default_lock_dir() if lock_dir is None else Path(lock_dir)
        self.lock_path = directory / lock_file_name(device_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True between a successful acquire() and release()."""
        return self._fd is not None

    def acquire(self, device_fd: int | None = None) -> None:
        """Take the lock file, then flock ``device_fd``; raise DeviceLocked when someone holds either."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise DeviceBusy(f"cannot create lock file {self.lock_path}: {err.strerror}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DeviceLocked(
                f"{self.device_path} is in use by pid {holder or 'unknown'} (lock {self.lock_path})",
                holder,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        if device_fd is not None:
            self._flock_device(device_fd)

    def _flock_device(self, device_fd: int) -> None:
        try:
            fcntl.flock(device_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise DeviceLocked(
                f"{self.device_path} is locked by another program (flock on the device)", None
            ) from None
        except OSError as err:
            if err.errno not in _UNSUPPORTED:
                self.release()
                raise
            # The lock file alone still keeps our own processes apart.

    def release(self) -> None:
        """Give the lock back (the device-fd flock goes with the device fd's close)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # A read-only or vanished lock dir must not stop a close.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
