"""Be told when a folder's .prom files change: Linux inotify through ctypes (no dependency).

`DirWatch.open(folder)` returns a watch, or None where inotify is unavailable (not Linux, no
libc symbol, the folder missing, the watch limit reached); the caller then polls as before.
`wait(timeout_s)` blocks until a file whose name ends in `suffix` was written (closed after
writing), renamed into the folder or removed, or until `timeout_s` or `wake()`; it drains every
pending event and returns True when one of them concerned such a file. A watch whose folder was
removed or replaced reports `broken`: the caller drops it and opens a new one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import select
import struct
import sys
import threading

# <sys/inotify.h>
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
WATCH_MASK = (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
              | IN_DELETE_SELF | IN_MOVE_SELF)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then `len` bytes of NUL-padded name
_READ_SIZE = 65536


def _libc() -> ctypes.CDLL | None:
    """The C library with the inotify calls, or None (not Linux, or too old a libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        for name in ("inotify_init1", "inotify_add_watch"):
            getattr(libc, name)
    except (OSError, AttributeError):
        return None
    libc.inotify_init1.argtypes = [ctypes.c_int]
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return libc


class DirWatch:
    """An inotify watch on one folder plus a pipe that `wake()` writes to (to end a wait early)."""

    def __init__(self, fd: int, suffix: str) -> None:
        self._fd = fd
        self._suffix = suffix.encode()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._lock = threading.Lock()  # wake() from another thread never writes to a closed fd
        self._closed = False
        self.broken = False

    @classmethod
    def open(cls, folder: str | os.PathLike[str], suffix: str = ".prom") -> DirWatch | None:
        """A watch on `folder`, or None where inotify cannot watch it (then poll)."""
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(folder), WATCH_MASK) < 0:
            os.close(fd)
            return None
        return cls(fd, suffix)

    def wait(self, timeout_s: float) -> bool:
        """Block until a matching file changed (True), or `timeout_s` / `wake()` (False)."""
        try:
            ready, _, _ = select.select([self._fd, self._wake_r], [], [], max(0.0, timeout_s))
        except InterruptedError:
            return False
        if self._wake_r in ready:
            self._drain(self._wake_r)
        return self._fd in ready and self._read_events()

    def wake(self) -> None:
        """End a `wait()` in another thread now (used by stop())."""
        with self._lock, contextlib.suppress(BlockingIOError):  # full: a wake-up is pending
            if not self._closed:
                os.write(self._wake_w, b"x")

    def close(self) -> None:
        """Release the inotify descriptor and the wake pipe."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for fd in (self._fd, self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _read_events(self) -> bool:
        relevant = False
        while True:
            try:
                buf = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                return relevant
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                self.broken = True
                return True
            offset = 0
            while offset + _EVENT.size <= len(buf):
                _, mask, _, length = _EVENT.unpack_from(buf, offset)
                name = buf[offset + _EVENT.size: offset + _EVENT.size + length].rstrip(b"\0")
                offset += _EVENT.size + length
                if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF):
                    self.broken = True  # the folder itself went away: a new watch is needed
                    relevant = True
                elif mask & IN_Q_OVERFLOW or name.endswith(self._suffix):
                    relevant = True

    @staticmethod
    def _drain(fd: int) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass
