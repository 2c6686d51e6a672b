"""USB HID transport: the inverter's Cypress bridge behind ``/dev/hidrawN`` (PI30.md §2).

The fd stays open between commands and is non-blocking; waiting is ``poll()`` on it, never a fixed
sleep, so a reply is read as its last report arrives.

Writes. The request goes out as 8-byte output reports, the last one zero-padded. The kernel reads
the first byte of a hidraw write as the report number and, when it is 0x00, strips it (the
device has no numbered reports). A report whose first *data* byte is 0x00 — possible when a CRC
byte lands on offset 8 or 16, e.g. ``PCVV24.2`` or ``PBDV27.5`` — would lose that byte. We
guarantee the device gets every byte by writing such a report as 9 bytes, an explicit report
number 0x00 followed by the 8 data bytes: the kernel strips exactly that prefix. Every other
report is written as its 8 bytes, like mppsolar and NUT do, so no write we make ever has a data
byte 0x00 in the position the kernel strips.

Reads. Each ``read()`` returns one 8-byte input report; the reply ends at the first CR (or LF) and
the rest of that report is filler (see :class:`ReplyCollector.feed_report`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import time
from pathlib import Path

from solarmon.inverter.errors import DeviceGone
from solarmon.inverter.frame import ReplyFrame
from solarmon.inverter.transport.base import DEFAULT_BAUD, Transport
from solarmon.inverter.transport.collector import ReplyCollector
from solarmon.inverter.transport.sysfs import (
    AUTO,
    DEV_ROOT,
    INVERTER_PRODUCT_ID,
    INVERTER_VENDOR_ID,
    SYSFS_ROOT,
    find_hidraw,
)
from solarmon.inverter.transport.usbreset import PyUsbResetter, UsbResetter

REPORT_BYTES = 8
REPORT_ID = 0x00
# Larger than any report so one read() never truncates one.
_READ_SIZE = 64
# Errors that mean the node is dead (unplugged, wedged, or the wrong node): close and re-open.
GONE_ERRNOS = frozenset({errno.ENODEV, errno.EIO, errno.EPIPE, errno.ESHUTDOWN, errno.ENXIO, errno.ENOENT})
# Bound the drain so a device that never stops talking cannot hold us forever.
_MAX_DRAIN_REPORTS = 4096
# Some files (a FUSE file without poll support) report "readable" although read() says EAGAIN;
# then wait this long before polling again rather than spin on the CPU.
_SPURIOUS_READY_WAIT_S = 0.001


def hid_write_buffers(request: bytes) -> list[bytes]:
    """The ``write()`` buffers for one request: 8-byte reports, zero-padded, report-ID-safe.

    A report whose first byte is 0x00 gets an explicit report number 0x00 in front (9 bytes),
    which the kernel strips; the device always receives exactly the 8 data bytes.
    """
    buffers = []
    for start in range(0, len(request), REPORT_BYTES):
        report = request[start : start + REPORT_BYTES].ljust(REPORT_BYTES, b"\x00")
        buffers.append(bytes((REPORT_ID,)) + report if report[0] == 0x00 else report)
    return buffers


def kernel_output_reports(buffers: list[bytes]) -> list[bytes]:
    """What the kernel hands the device for these writes (a leading 0x00 is a stripped report ID).

    The model of hidraw's write path that tests check :func:`hid_write_buffers` against.
    """
    return [buf[1:] if buf[:1] == b"\x00" else buf for buf in buffers]


class HidrawTransport(Transport):
    """A PI30 inverter on a hidraw node, or found by vendor/product when ``port = "auto"``."""

    porttype = "hidraw"

    def __init__(
        self,
        port: str = AUTO,
        *,
        baud: int = DEFAULT_BAUD,
        exclusive: bool = True,
        lock_dir: str | Path | None = None,
        vendor: int = INVERTER_VENDOR_ID,
        product: int = INVERTER_PRODUCT_ID,
        sysfs_root: str | Path = SYSFS_ROOT,
        dev_root: str | Path = DEV_ROOT,
        resetter: UsbResetter | None = None,
        usb_reset: bool = False,
    ) -> None:
        # "auto" in any case, as a hand-written config may spell it.
        port = AUTO if port.strip().lower() == AUTO else port
        super().__init__(port, baud=baud, exclusive=exclusive, lock_dir=lock_dir)
        self.vendor = vendor
        self.product = product
        self._sysfs_root = Path(sysfs_root)
        self._dev_root = Path(dev_root)
        if resetter is None and usb_reset:
            resetter = PyUsbResetter(vendor, product)
        self._resetter = resetter
        self._fd: int | None = None
        self._poller = select.poll()
        self.path: Path | None = None  # the node actually open (differs from port when auto)

    @property
    def is_open(self) -> bool:
        """True while the node is open."""
        return self._fd is not None

    def resolve(self) -> Path:
        """The node to open: ``port`` itself, or the sysfs match for ``auto``."""
        if self.port == AUTO:
            return find_hidraw(
                self.vendor, self.product, sysfs_root=self._sysfs_root, dev_root=self._dev_root
            )
        return Path(self.port)

    def _open_device(self) -> tuple[str, int]:
        path = self.resolve()
        try:
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise DeviceGone(f"cannot open {path}: {err.strerror}") from err
        self._fd = fd
        self.path = path
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)
        return str(path), fd

    def _close_device(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # The node may already be gone; the fd is released either way.
        with contextlib.suppress(OSError):
            os.close(fd)

    def fileno(self) -> int:
        """The node's file descriptor; DeviceGone when closed."""
        return self._require_fd()

    def _require_fd(self) -> int:
        if self._fd is None:
            raise DeviceGone(f"{self.port} is not open")
        return self._fd

    def _gone(self, err: OSError, doing: str) -> DeviceGone:
        return DeviceGone(f"{doing} {self.path or self.port} failed: {err.strerror or err}")

    def _read_report(self, fd: int) -> bytes | None:
        """One report, or None when nothing is queued."""
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as err:
            raise self._gone(err, "reading") from err
        if not data:
            raise DeviceGone(f"{self.path or self.port} reached end of file")
        return data

    def _drain(self) -> int:
        fd = self._require_fd()
        drained = 0
        for _ in range(_MAX_DRAIN_REPORTS):
            report = self._read_report(fd)
            if report is None:
                break
            drained += len(report)
        return drained

    def _write(self, request: bytes, deadline: float) -> None:
        fd = self._require_fd()
        for buffer in hid_write_buffers(request):
            while True:
                try:
                    os.write(fd, buffer)
                    break
                except BlockingIOError:
                    # The output queue is full: wait for room, bounded by the command's deadline.
                    if not self._wait(fd, select.POLLOUT, deadline):
                        return
                except OSError as err:
                    raise self._gone(err, "writing to") from err

    def _wait(self, fd: int, events: int, deadline: float) -> bool:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        poller = select.poll()
        poller.register(fd, events | select.POLLERR | select.POLLHUP)
        ready = poller.poll(remaining_ms)
        return any(mask & events for _, mask in ready)

    def _read_into(self, collector: ReplyCollector, deadline: float) -> ReplyFrame | None:
        fd = self._require_fd()
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        events = self._poller.poll(remaining_ms)
        if not events:
            return None
        mask = events[0][1]
        if mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) and not mask & select.POLLIN:
            raise DeviceGone(f"{self.path or self.port} hung up")
        got_any = False
        # Read every report that is queued before waiting again.
        while (report := self._read_report(fd)) is not None:
            got_any = True
            frame = collector.feed_report(report)
            if frame is not None:
                return frame
        if not got_any:
            time.sleep(min(_SPURIOUS_READY_WAIT_S, max(0.0, deadline - time.monotonic())))
        return None

    def reset_device(self) -> bool:
        """Close the node and reset the USB device (needs a resetter); True when done."""
        if self._resetter is None:
            return False
        with self._mutex:
            self.close()
            self._resetter.reset()
            return True
