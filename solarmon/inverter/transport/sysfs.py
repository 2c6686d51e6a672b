"""Finding the inverter's hidraw node by USB vendor/product in sysfs (``port = auto``).

After a disconnect the kernel may give the inverter a new node (hidraw0 → hidraw1, PI30.md §5).
With ``port = auto`` the transport looks the node up again on every open, from
``<sysfs>/class/hidraw/hidrawN/device/uevent``, whose ``HID_ID=0003:00000665:00005161`` line names
the bus, vendor and product. Both roots are parameters so tests point them at a fake tree.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from solarmon.inverter.errors import DeviceGone

INVERTER_VENDOR_ID = 0x0665
INVERTER_PRODUCT_ID = 0x5161
SYSFS_ROOT = Path("/sys")
DEV_ROOT = Path("/dev")
AUTO = "auto"

log = logging.getLogger(__name__)
_NODE_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True, slots=True)
class HidNode:
    """One hidraw node as sysfs describes it."""

    name: str
    bus: int
    vendor: int
    product: int


def parse_hid_id(value: str) -> tuple[int, int, int]:
    """``0003:00000665:00005161`` → (bus, vendor, product). Raises ValueError on anything else."""
    parts = value.strip().split(":")
    if len(parts) != 3:
        raise ValueError(f"HID_ID {value!r} is not bus:vendor:product")
    bus, vendor, product = (int(part, 16) for part in parts)
    return bus, vendor, product


def list_hidraw(sysfs_root: str | Path = SYSFS_ROOT) -> list[HidNode]:
    """Every hidraw node sysfs knows, in node-number order; unreadable entries are skipped."""
    class_dir = Path(sysfs_root) / "class" / "hidraw"
    nodes = []
    for entry in class_dir.glob("hidraw*"):
        try:
            uevent = (entry / "device" / "uevent").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # a node vanishing while we look is normal during a reconnect
        for line in uevent.splitlines():
            key, _, value = line.partition("=")
            if key == "HID_ID":
                try:
                    bus, vendor, product = parse_hid_id(value)
                except ValueError:
                    log.debug("ignoring %s: bad HID_ID %r", entry, value)
                    break
                nodes.append(HidNode(entry.name, bus, vendor, product))
                break
    return sorted(nodes, key=_node_order)


def find_hidraw(
    vendor: int = INVERTER_VENDOR_ID,
    product: int = INVERTER_PRODUCT_ID,
    *,
    sysfs_root: str | Path = SYSFS_ROOT,
    dev_root: str | Path = DEV_ROOT,
) -> Path:
    """The device node of the first hidraw device with ``vendor:product``; DeviceGone when none."""
    matches = [n for n in list_hidraw(sysfs_root) if (n.vendor, n.product) == (vendor, product)]
    present = [Path(dev_root) / n.name for n in matches if (Path(dev_root) / n.name).exists()]
    if not present:
        listed = ", ".join(n.name for n in matches)
        hint = f" (sysfs lists {listed} but {dev_root} has no node)" if matches else ""
        raise DeviceGone(
            f"no hidraw device {vendor:04x}:{product:04x} under {Path(sysfs_root) / 'class' / 'hidraw'}{hint}"
        )
    if len(present) > 1:
        log.warning("several %04x:%04x devices (%s); using %s", vendor, product, present, present[0])
    return present[0]


def _node_order(node: HidNode) -> tuple[int, str]:
    match = _NODE_NUMBER.search(node.name)
    return (int(match.group(1)) if match else 1 << 30, node.name)
