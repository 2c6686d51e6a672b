"""A FUSE file that behaves like a Linux ``/dev/hidrawN`` node of the inverter's USB-HID bridge.

Semantics copied from the kernel's drivers/hid/hidraw.c (PI30.md §2):

- each ``read()`` returns exactly one 8-byte report; with O_NONBLOCK and nothing queued it fails
  with EAGAIN, without it blocks until a report comes (or the device goes: EIO);
- every open file handle gets its own copy of every report sent while it is open (a queue of at
  most 64 reports per handle: the kernel drops new ones when it is full);
- a write is one output report: a leading 0x00 is the report number 0 and is stripped, the rest
  goes to the device (the device itself ignores the zero padding);
- ``poll()``/``select()`` report POLLIN when a report is queued, POLLERR|POLLHUP once the device
  is gone; FUSE poll notifications wake a sleeping poller when a report arrives;
- unplugging removes the node (open handles get EIO on read and ENODEV on write); plugging back
  in creates the next node number (``hidraw0`` -> ``hidraw1``), as a re-enumerated USB device does.

The file system runs in the thread that calls :meth:`HidrawFS.serve` (libfuse's multithreaded
loop, which also handles SIGTERM/SIGINT by unmounting and returning).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mfusepy

REPORT_SIZE = 8
QUEUE_LIMIT = 64  # HIDRAW_BUFFER_SIZE in the kernel
WAIT_SLICE_S = 0.1
_lib = mfusepy._libfuse  # the loaded libfuse3: poll notification is not wrapped by mfusepy
_lib.fuse_notify_poll.argtypes = [ctypes.c_void_p]
_lib.fuse_pollhandle_destroy.argtypes = [ctypes.c_void_p]
_lib.fuse_get_session.argtypes = [ctypes.c_void_p]
_lib.fuse_get_session.restype = ctypes.c_void_p
_lib.fuse_session_exited.argtypes = [ctypes.c_void_p]


@dataclass(slots=True)
class _Handle:
    """One open file description: its own report queue and pending poll handle."""

    generation: int
    reports: deque[bytes] = field(default_factory=deque)
    poll_handle: int | None = None
    dropped: int = 0


def _session_exiting() -> bool:
    """True when libfuse is shutting down (SIGTERM): blocked reads must return so it can unmount."""
    context = _lib.fuse_get_context()
    fuse = context.contents.fuse if context else None
    if not fuse:
        return True
    session = _lib.fuse_get_session(fuse)
    return bool(session) and bool(_lib.fuse_session_exited(session))


class HidrawFS(mfusepy.Operations):
    """The file system: a directory holding one ``hidrawN`` node while the device is plugged in."""

    use_ns = True

    def __init__(self, on_write: Callable[[bytes], None]) -> None:
        self._on_write = on_write
        self._lock = threading.Condition()
        self._handles: dict[int, _Handle] = {}
        self._next_fh = 1
        self._generation = 0  # bumped on every unplug: handles of an older generation are dead
        self.node_number = 0
        self.present = True
        self._started = time.time()

    @property
    def node_name(self) -> str:
        """The current node's file name (``hidraw0``, ``hidraw1`` after a replug, ...)."""
        return f"hidraw{self.node_number}"

    # --- device side -------------------------------------------------------------------------

    def push_report(self, data: bytes) -> None:
        """Deliver one input report (padded with 0x00 to 8 bytes) to every open handle."""
        report = bytes(data[:REPORT_SIZE]).ljust(REPORT_SIZE, b"\x00")
        with self._lock:
            if not self.present:
                return
            for handle in self._handles.values():
                if handle.generation != self._generation:
                    continue
                if len(handle.reports) >= QUEUE_LIMIT:
                    handle.dropped += 1
                    continue
                handle.reports.append(report)
                self._notify(handle)
            self._lock.notify_all()

    def unplug(self) -> None:
        """The USB device vanishes: the node goes, open handles fail from now on."""
        with self._lock:
            self.present = False
            self._generation += 1
            for handle in self._handles.values():
                self._notify(handle)
            self._lock.notify_all()

    def replug(self) -> None:
        """The device comes back, enumerated as the next node number."""
        with self._lock:
            self.node_number += 1
            self.present = True

    def open_handles(self) -> int:
        """How many file handles are open on the current node."""
        with self._lock:
            return sum(1 for h in self._handles.values() if h.generation == self._generation)

    @staticmethod
    def _notify(handle: _Handle) -> None:
        # One notification wakes every poller of this handle; the kernel asks again with a new handle.
        if handle.poll_handle is not None:
            _lib.fuse_notify_poll(handle.poll_handle)
            _lib.fuse_pollhandle_destroy(handle.poll_handle)
            handle.poll_handle = None

    # --- file system side --------------------------------------------------------------------

    def _is_node(self, path: str) -> bool:
        return self.present and path == "/" + self.node_name

    def getattr(self, path: str, fh: Any = None) -> dict[str, int]:
        """A directory at the root and a character-device-like regular file for the node."""
        now = int(self._started * 1e9)
        base = {
            "st_uid": os.getuid(),
            "st_gid": os.getgid(),
            "st_atime": now,
            "st_mtime": now,
            "st_ctime": now,
        }
        if path == "/":
            return {**base, "st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if self._is_node(path) or fh is not None:
            return {**base, "st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": 0}
        raise mfusepy.FuseOSError(errno.ENOENT)

    def readdir(self, path: str, fh: int) -> list[str]:
        """The node, if the device is plugged in."""
        return [".", "..", *([self.node_name] if self.present else [])]

    def open(self, path: str, fi: Any) -> int:
        """Open the node: direct I/O (no page cache, a read returns what we give), not seekable."""
        with self._lock:
            if not self._is_node(path):
                raise mfusepy.FuseOSError(errno.ENOENT)
            fh = self._next_fh
            self._next_fh += 1
            self._handles[fh] = _Handle(generation=self._generation)
        fi.fh = fh
        fi.direct_io = 1
        fi.nonseekable = 1
        return 0

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        """Opening with O_TRUNC is harmless on a device."""
        return 0

    def release(self, path: str, fi: Any) -> int:
        """Forget the handle and its queued reports."""
        with self._lock:
            handle = self._handles.pop(fi.fh, None)
            if handle is not None and handle.poll_handle is not None:
                _lib.fuse_pollhandle_destroy(handle.poll_handle)
        return 0

    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        """One report per read (cut to ``size``), EAGAIN/blocking like hidraw_read()."""
        nonblocking = bool(fi.flags & os.O_NONBLOCK)
        with self._lock:
            while True:
                handle = self._handles.get(fi.fh)
                if handle is None:
                    raise mfusepy.FuseOSError(errno.EBADF)
                if handle.reports:
                    return handle.reports.popleft()[:size]
                if handle.generation != self._generation:
                    raise mfusepy.FuseOSError(errno.EIO)
                if nonblocking:
                    raise mfusepy.FuseOSError(errno.EAGAIN)
                self._lock.wait(WAIT_SLICE_S)
                if _lib.fuse_interrupted():
                    raise mfusepy.FuseOSError(errno.EINTR)
                if _session_exiting():
                    raise mfusepy.FuseOSError(errno.EIO)

    def write(self, path: str, data: bytes, offset: int, fi: Any) -> int:
        """One output report: strip report number 0, hand the bytes to the device."""
        with self._lock:
            handle = self._handles.get(fi.fh)
            if handle is None or handle.generation != self._generation:
                raise mfusepy.FuseOSError(errno.ENODEV)
        payload = data[1:] if data[:1] == b"\x00" else data
        self._on_write(payload)
        return len(data)

    def poll(self, path: str, fi: Any, ph: int | None, reventsp: Any) -> int:
        """Readiness like hidraw_poll(); keep ``ph`` to wake the poller when a report arrives."""
        with self._lock:
            handle = self._handles.get(fi.fh)
            mask = select.POLLOUT | select.POLLWRNORM
            if handle is None or handle.generation != self._generation:
                mask |= select.POLLERR | select.POLLHUP
            elif handle.reports:
                mask |= select.POLLIN | select.POLLRDNORM
            if ph:
                if handle is not None and handle.generation == self._generation:
                    if handle.poll_handle is not None:
                        _lib.fuse_pollhandle_destroy(handle.poll_handle)
                    handle.poll_handle = ph
                else:
                    _lib.fuse_pollhandle_destroy(ph)
            reventsp[0] = mask
        return 0

    def serve(self, mount_dir: str) -> int:
        """Mount at ``mount_dir`` and run until unmounted or SIGTERM/SIGINT (blocks); libfuse's status.

        libfuse reports a loop ended by a signal as a non-zero status; the caller decides whether
        that was the shutdown it asked for.
        """
        try:
            self._serve(mount_dir)
        except RuntimeError as exc:
            return int(exc.args[0]) if exc.args and isinstance(exc.args[0], int) else 1
        return 0

    def _serve(self, mount_dir: str) -> None:
        mfusepy.FUSE(
            self,
            mount_dir,
            raw_fi=True,
            foreground=True,
            nothreads=False,
            fsname="solarmon-hidraw",
            auto_unmount=True,
            entry_timeout=0,
            attr_timeout=0,
            negative_timeout=0,
        )
