"""The inverter link's own exceptions. Every adapter maps its failures onto these.

Each carries ``kind``: a short, stable name used as the ``kind`` label of error counters
(``mpp_solar_errors_total{kind=...}``) and in logs.
"""

from __future__ import annotations


class InverterError(Exception):
    """Base class of everything the inverter link raises."""

    kind = "error"


class DeviceTimeout(InverterError):
    """No complete reply within the command's timeout."""

    kind = "timeout"


class DeviceGone(InverterError):
    """The device file vanished or failed (ENODEV, EIO, EPIPE, not found); the link re-opens it."""

    kind = "device_gone"


class DeviceBusy(InverterError):
    """Another process holds the device's lock."""

    kind = "busy"


class CommandRefused(InverterError):
    """The inverter answered NAK."""

    kind = "nak"


class CommandEchoed(CommandRefused):
    """The device sent the command back instead of a reply (PI30.md §5).

    Some firmware does this for a command it does not know, a badly wired adapter for every
    command; either way the command was not answered. A :class:`CommandRefused`, so callers that
    treat "not supported" alike need not care, with its own kind so the counters tell it from NAK.
    """

    kind = "echo"


class DecodeError(InverterError):
    """A frame passed its CRC but its payload does not fit the command (wrong field count, bad number)."""

    kind = "decode"


class SettingRejected(InverterError, ValueError):
    """A setting command or value that must not be sent (unknown, out of range, not allowed)."""

    kind = "rejected"
