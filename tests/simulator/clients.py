"""Minimal real clients for the simulator's device files: a serial port (pyserial) and a hidraw fd."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import serial

from solarmon.inverter.frame import encode_request


def serial_exchange(port: serial.Serial, command: str | bytes) -> bytes:
    """Write ``command`` (framed if a str) and read up to the first CR (or the port's timeout)."""
    port.write(encode_request(command) if isinstance(command, str) else command)
    return port.read_until(b"\r")


def open_serial(path: Path, timeout_s: float = 3.0) -> serial.Serial:
    """Open the simulator's pty the way a serial client does (2400 8N1)."""
    return serial.Serial(str(path), 2400, timeout=timeout_s)


def wait_for(predicate: object, timeout_s: float = 10.0, step_s: float = 0.02) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():  # type: ignore[operator]
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)


class HidrawClient:
    """An fd on the FUSE hidraw node, used the way a good hidraw transport uses /dev/hidrawN."""

    def __init__(self, path: Path, nonblocking: bool = True) -> None:
        flags = os.O_RDWR | (os.O_NONBLOCK if nonblocking else 0)
        self.fd = os.open(path, flags)

    def close(self) -> None:
        """Close the fd."""
        os.close(self.fd)

    def write_request(self, command: str) -> None:
        """Frame ``command`` and write it in 8-byte reports, the last padded with 0x00."""
        frame = encode_request(command)
        for start in range(0, len(frame), 8):
            os.write(self.fd, frame[start : start + 8].ljust(8, b"\x00"))

    def read_reports(self, timeout_s: float = 5.0) -> list[tuple[float, bytes]]:
        """(arrival time, report) pairs up to the report holding the CR, using poll()."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        reports: list[tuple[float, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while not any(b"\r" in report for _, report in reports):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                break
            reports.append((time.monotonic(), os.read(self.fd, 64)))
        return reports

    def exchange(self, command: str, timeout_s: float = 5.0) -> bytes:
        """Send ``command`` and return the reply up to and including its CR (filler dropped)."""
        self.write_request(command)
        data = b"".join(report for _, report in self.read_reports(timeout_s))
        end = data.find(b"\r")
        return data[: end + 1] if end >= 0 else data
