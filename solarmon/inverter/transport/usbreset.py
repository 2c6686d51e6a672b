"""The one adapter around pyusb: resetting a wedged inverter USB device.

A Cypress HID bridge sometimes stops sending data after hours, or its hidraw node vanishes until
the device is reset (PI30.md §5). A USB port reset (``USBDEVFS_RESET`` via libusb) re-enumerates
it without unplugging; the kernel then creates a new hidraw node, which ``port = auto`` finds.
Only this module imports pyusb; its failures become :class:`DeviceGone`.
"""

from __future__ import annotations

import logging
from typing import Protocol

import usb.core
import usb.util

from solarmon.inverter.errors import DeviceGone
from solarmon.inverter.transport.sysfs import INVERTER_PRODUCT_ID, INVERTER_VENDOR_ID

log = logging.getLogger(__name__)


class UsbResetter(Protocol):
    """Something that can reset the inverter's USB device (pyusb in production)."""

    def reset(self) -> None:
        """Reset the device; raise DeviceGone when it cannot be done."""


class PyUsbResetter:
    """Resets the first USB device with ``vendor:product`` via pyusb/libusb (root or a udev rule)."""

    def __init__(self, vendor: int = INVERTER_VENDOR_ID, product: int = INVERTER_PRODUCT_ID) -> None:
        self.vendor = vendor
        self.product = product

    def reset(self) -> None:
        """Find the device and reset it; DeviceGone when it is absent or libusb refuses."""
        ident = f"{self.vendor:04x}:{self.product:04x}"
        try:
            device = usb.core.find(idVendor=self.vendor, idProduct=self.product)
        except usb.core.NoBackendError as err:
            raise DeviceGone(f"cannot reset USB device {ident}: no libusb backend ({err})") from err
        except (usb.core.USBError, OSError) as err:
            raise DeviceGone(f"cannot list USB devices to reset {ident}: {err}") from err
        if device is None:
            raise DeviceGone(f"cannot reset USB device {ident}: not on the bus")
        try:
            device.reset()
        except (usb.core.USBError, OSError) as err:
            raise DeviceGone(f"USB reset of {ident} failed: {err}") from err
        finally:
            usb.util.dispose_resources(device)
        log.warning("reset USB device %s (bus %s address %s)", ident, device.bus, device.address)
