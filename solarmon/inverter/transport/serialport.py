"""RS-232 transport: the inverter's RJ45 serial port or a USB-serial adapter, via pyserial.

2400 baud, 8N1, no flow control (PI30.md §2). The port stays open; reading waits in ``poll()``
on its fd (``select()`` fails on fds above 1023) for the first byte, then takes whatever is
queued, so a reply is returned as soon as its terminator arrives. pyserial's failures (an
unplugged adapter, a pty whose other end went away) become :class:`DeviceGone`; the next exchange
opens the port again.
"""

from __future__ import annotations

import contextlib
import select
import time
from pathlib import Path

import serial

from solarmon.inverter.errors import DeviceGone
from solarmon.inverter.frame import ReplyFrame
from solarmon.inverter.transport.base import DEFAULT_BAUD, Transport
from solarmon.inverter.transport.collector import ReplyCollector

# Bytes per read once data is flowing; a PI30 reply is far shorter.
_READ_CHUNK = 256


class SerialTransport(Transport):
    """A PI30 inverter on a serial device (``/dev/ttyUSB0``, ``/dev/ttyS0``, a pty)."""

    porttype = "serial"

    def __init__(
        self,
        port: str,
        *,
        baud: int = DEFAULT_BAUD,
        exclusive: bool = True,
        lock_dir: str | Path | None = None,
    ) -> None:
        super().__init__(port, baud=baud, exclusive=exclusive, lock_dir=lock_dir)
        self._serial: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        return self._serial is not None

    def _open_device(self) -> tuple[str, int]:
        try:
            # exclusive=False: our own lock (flock on this fd plus the lock file) does that job,
            # and a second flock by pyserial on the same fd would be redundant.
            port = serial.Serial(
                self.port,
                baudrate=self.baud,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                xonxoff=False,
                rtscts=False,
                dsrdtr=False,
                timeout=0,
                write_timeout=None,
                exclusive=False,
            )
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceGone(f"cannot open serial port {self.port}: {err}") from err
        self._serial = port
        return self.port, port.fileno()

    def _close_device(self) -> None:
        if self._serial is None:
            return
        port, self._serial = self._serial, None
        # The adapter may already be gone; the fd is released either way.
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()

    def fileno(self) -> int:
        """The port's file descriptor; DeviceGone when closed."""
        return self._port().fileno()

    def _port(self) -> serial.Serial:
        if self._serial is None:
            raise DeviceGone(f"{self.port} is not open")
        return self._serial

    def _drain(self) -> int:
        port = self._port()
        try:
            waiting = port.in_waiting
            stale = port.read(waiting) if waiting else b""
            # Also drop what the driver holds but has not counted yet.
            port.reset_input_buffer()
        except (serial.SerialException, OSError) as err:
            raise DeviceGone(f"draining {self.port} failed: {err}") from err
        return len(stale)

    def _write(self, request: bytes, deadline: float) -> None:
        port = self._port()
        try:
            port.write(request)
        except (serial.SerialException, OSError) as err:
            raise DeviceGone(f"writing to {self.port} failed: {err}") from err

    def _read_into(self, collector: ReplyCollector, deadline: float) -> ReplyFrame | None:
        port = self._port()
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        poller = select.poll()
        try:
            poller.register(port.fileno(), select.POLLIN)
            events = poller.poll(remaining_ms)
            if not events:
                return None
            # pyserial raises SerialException when a readable fd returns no data (unplugged).
            data = port.read(max(1, min(port.in_waiting, _READ_CHUNK)))
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceGone(f"reading {self.port} failed: {err}") from err
        if not data and events[0][1] & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
            # Hung up with nothing left to read: polling again would spin until the deadline.
            raise DeviceGone(f"{self.port} hung up")
        return collector.feed_stream(data) if data else None
