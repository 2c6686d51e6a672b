"""The two device files the simulator serves: a raw pty (serial semantics) and a FUSE hidraw node.

Both publish the device under a stable path (a symlink, like a udev ``/dev/inverter`` rule) and
move it on a replug: the symlink vanishes while the device is away and comes back pointing to a
new node, a new ``/dev/pts/N`` or the next ``hidrawN``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shutil
import subprocess
import tempfile
import threading
import tty
from collections.abc import Callable
from pathlib import Path

from solarmon.simulator.hidraw_fs import HidrawFS


def publish_link(link: Path, target: str) -> None:
    """Point the symlink ``link`` at ``target`` atomically (a client never sees a half-made link)."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


def withdraw_link(link: Path) -> None:
    """Remove the symlink ``link`` if it is one (never a file someone else put there)."""
    if link.is_symlink():
        link.unlink()


class _Pty:
    """One pty pair, the slave in raw mode (no echo, no CR/NL translation), as a serial port is."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.name = os.ttyname(self.slave)

    def close(self) -> None:
        """Hang up: clients' reads on the slave end with EIO / hangup."""
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class PtyPort:
    """A serial port on a pty; the client opens ``link`` (a symlink to the slave)."""

    chunk_size = 1
    report_interval_s = 0.0

    def __init__(self, link: Path, on_bytes: Callable[[bytes], None]) -> None:
        self.link = link
        self._on_bytes = on_bytes
        self._pty: _Pty | None = None
        self._next: _Pty | None = None
        self._retired: list[_Pty] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def node(self) -> str:
        """The slave's device path (``/dev/pts/N``), or "" while unplugged."""
        current = self._pty
        return current.name if current is not None else ""

    def start(self) -> None:
        """Open the pty, publish the link and start reading requests."""
        self._pty = _Pty()
        publish_link(self.link, self._pty.name)
        self._thread = threading.Thread(target=self._read_loop, name="sim-pty-reader", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                # Only this thread selects on the masters, so only it closes a retired one: a
                # closed fd number reused elsewhere can then never be read by mistake.
                for retired in self._retired:
                    retired.close()
                self._retired.clear()
                current = self._pty
            fds = [self._wake_r] + ([current.master] if current is not None else [])
            ready, _, _ = select.select(fds, [], [], 0.5)
            if self._wake_r in ready:
                os.read(self._wake_r, 64)
            if current is None or current.master not in ready:
                continue
            try:
                data = os.read(current.master, 4096)
            except OSError as exc:
                if exc.errno == errno.EIO:
                    continue  # no client has the slave open right now
                raise
            if data:
                self._on_bytes(data)

    def send(self, data: bytes) -> None:
        """Write reply bytes to the master: the client reads them from the slave."""
        with self._lock:
            current = self._pty
            if current is None:
                return
            view = memoryview(data)
            while view:
                try:
                    written = os.write(current.master, view)
                except OSError:
                    return  # hung up meanwhile
                view = view[written:]

    def unplug(self) -> None:
        """Hang up and withdraw the link; the next pty is opened now so it gets a new number."""
        with self._lock:
            self._next = _Pty()
            withdraw_link(self.link)
            if self._pty is not None:
                self._retired.append(self._pty)  # the reader closes it (hang-up) right away
            self._pty = None
        os.write(self._wake_w, b"x")

    def replug(self) -> None:
        """Publish the link again, pointing to the new pty."""
        with self._lock:
            self._pty, self._next = self._next or _Pty(), None
            publish_link(self.link, self._pty.name)
        os.write(self._wake_w, b"x")

    def close(self) -> None:
        """Stop reading, hang up and remove the link."""
        self._closed.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        withdraw_link(self.link)
        for pty in (self._pty, self._next, *self._retired):
            if pty is not None:
                pty.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)


class HidrawPort:
    """A hidraw node on FUSE; the client opens ``link`` (a symlink into the mount)."""

    chunk_size = 8
    report_interval_s = 0.012  # the bridge's interrupt IN endpoint: bInterval 12 ms (PI30.md §2)

    def __init__(
        self, link: Path, on_bytes: Callable[[bytes], None], mount_dir: Path | None = None
    ) -> None:
        self.link = link
        self.fs = HidrawFS(on_bytes)
        self._own_mount_dir = mount_dir is None
        self.mount_dir = mount_dir or Path(tempfile.mkdtemp(prefix="solarmon-hidraw-"))

    @property
    def node(self) -> str:
        """The node's path inside the mount, or "" while unplugged."""
        return str(self.mount_dir / self.fs.node_name) if self.fs.present else ""

    def send(self, data: bytes) -> None:
        """Queue one input report (``data`` is at most 8 bytes; the rest is zero filler)."""
        self.fs.push_report(data)

    def unplug(self) -> None:
        """Withdraw the link and remove the node."""
        withdraw_link(self.link)
        self.fs.unplug()

    def replug(self) -> None:
        """The next node number appears; the link points to it."""
        self.fs.replug()
        publish_link(self.link, self.node)

    def wait_mounted(self, timeout_s: float, stop: threading.Event) -> bool:
        """Block until the node can be stat()ed through the kernel (the mount is live), then link it."""
        node = self.mount_dir / self.fs.node_name
        deadline_steps = int(timeout_s / 0.01)
        for _ in range(deadline_steps):
            if stop.is_set():
                return False
            with contextlib.suppress(OSError):
                if os.path.ismount(self.mount_dir) and node.exists():
                    publish_link(self.link, str(node))
                    return True
            stop.wait(0.01)
        return False

    def serve(self) -> int:
        """Mount and serve until SIGTERM/SIGINT (blocks the calling thread, which must be the main one)."""
        self.mount_dir.mkdir(parents=True, exist_ok=True)
        return self.fs.serve(str(self.mount_dir))

    def close(self) -> None:
        """Remove the link, make sure the mount is gone, remove the mount directory we created."""
        withdraw_link(self.link)
        if os.path.ismount(self.mount_dir):
            # libfuse's own unmount fails (EBUSY) while a client still holds the node open; a lazy
            # unmount detaches it now, as unplugging a USB device does.
            fusermount = shutil.which("fusermount3") or "fusermount3"
            subprocess.run([fusermount, "-u", "-z", "-q", str(self.mount_dir)], check=False)
        if self._own_mount_dir and not os.path.ismount(self.mount_dir):
            shutil.rmtree(self.mount_dir, ignore_errors=True)
