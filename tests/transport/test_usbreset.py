"""The pyusb reset adapter and the hidraw transport's reset path, on this machine's real USB stack.

No inverter is plugged in here, so a reset must fail cleanly as DeviceGone naming the device, and
the link must count it instead of crashing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from solarmon.inverter.errors import DeviceGone
from solarmon.inverter.link import InverterLink
from solarmon.inverter.transport import HidrawTransport, open_transport
from solarmon.inverter.transport.usbreset import PyUsbResetter

ABSENT_VENDOR, ABSENT_PRODUCT = 0xFFFE, 0xFFFD  # reserved ids no device uses


def test_reset_of_an_absent_device_is_device_gone() -> None:
    with pytest.raises(DeviceGone, match="fffe:fffd"):
        PyUsbResetter(ABSENT_VENDOR, ABSENT_PRODUCT).reset()


def test_usb_reset_option_builds_the_pyusb_adapter(tmp_path: Path, lock_dir: Path) -> None:
    transport = open_transport(
        "hidraw", str(tmp_path / "hidraw0"), 2400, lock_dir=lock_dir, usb_reset=True,
        vendor=ABSENT_VENDOR, product=ABSENT_PRODUCT,
    )
    assert isinstance(transport, HidrawTransport)
    with pytest.raises(DeviceGone, match="fffe:fffd"):
        transport.reset_device()


def test_failed_reset_is_counted_not_raised(tmp_path: Path, lock_dir: Path) -> None:
    transport = HidrawTransport(
        str(tmp_path / "hidraw0"), lock_dir=lock_dir, resetter=PyUsbResetter(ABSENT_VENDOR, ABSENT_PRODUCT)
    )
    link = InverterLink(transport, reset_after=2)
    for _ in range(2):
        with pytest.raises(DeviceGone, match="cannot open"):
            link.query("QPIGS")
    counters = link.counters()
    assert counters.errors == {"device_gone": 2, "reset_failed": 1}
    assert counters.resets == 0


def test_without_reset_support_nothing_happens(tmp_path: Path, lock_dir: Path) -> None:
    assert HidrawTransport(str(tmp_path / "hidraw0"), lock_dir=lock_dir).reset_device() is False
    assert open_transport("serial", str(tmp_path / "tty"), 2400, lock_dir=lock_dir).reset_device() is False
