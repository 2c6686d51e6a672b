"""Transports: the only code that touches the inverter's device file (docs/TRANSPORT.md).

``open_transport(porttype, port, baud, **opts)`` builds the right one from configuration:
``hidraw`` (``/dev/hidrawN`` or ``auto``) or ``serial`` (``/dev/ttyUSB0``, a pty). mppsolar's
names ``usb`` / ``hid`` and ``ttyusb`` are accepted as aliases.
"""

from __future__ import annotations

from typing import Any

from solarmon.inverter.transport.base import DEFAULT_BAUD, Transport, TransportStats
from solarmon.inverter.transport.hidraw import HidrawTransport, hid_write_buffers
from solarmon.inverter.transport.lock import DeviceLock, DeviceLocked
from solarmon.inverter.transport.serialport import SerialTransport
from solarmon.inverter.transport.sysfs import AUTO, find_hidraw
from solarmon.inverter.transport.wire import timeout_for, wire_time_s

_PORTTYPES: dict[str, type[Transport]] = {
    "hidraw": HidrawTransport,
    "usb": HidrawTransport,
    "hid": HidrawTransport,
    "serial": SerialTransport,
    "ttyusb": SerialTransport,
}

__all__ = [
    "AUTO",
    "DEFAULT_BAUD",
    "DeviceLock",
    "DeviceLocked",
    "HidrawTransport",
    "SerialTransport",
    "Transport",
    "TransportStats",
    "find_hidraw",
    "hid_write_buffers",
    "open_transport",
    "timeout_for",
    "wire_time_s",
]


def open_transport(porttype: str, port: str, baud: int = DEFAULT_BAUD, **opts: Any) -> Transport:
    """A transport for ``porttype`` on ``port`` (not opened yet: the first exchange opens it).

    ``opts`` go to the transport's constructor (``lock_dir``, ``exclusive``, and for hidraw
    ``sysfs_root``, ``dev_root``, ``usb_reset``, ``resetter``). Raises ValueError for an unknown
    port type or option, naming the choices.
    """
    try:
        cls = _PORTTYPES[porttype.strip().lower()]
    except KeyError:
        choices = ", ".join(sorted(_PORTTYPES))
        raise ValueError(f"unknown porttype {porttype!r}; choose one of {choices}") from None
    if baud <= 0:
        raise ValueError(f"baud must be a positive number, got {baud}")
    if cls is SerialTransport and port.strip().lower() == AUTO:
        raise ValueError("port = auto only works for porttype hidraw; give the serial device path")
    try:
        return cls(port, baud=baud, **opts)
    except TypeError as err:
        raise ValueError(f"bad option for a {porttype} transport: {err}") from err
