"""Builds a device's inverter link from its config section: the daemon's one door to the device.

Kept apart from the worker so tests and benchmarks can hand the worker another factory (for
instance one pointing at a simulator's device file with a short timeout) without touching config.
"""

from __future__ import annotations

from solarmon.daemon.config import DeviceConfig
from solarmon.inverter.link import InverterLink
from solarmon.inverter.transport import open_transport


def open_link(device: DeviceConfig) -> InverterLink:
    """An InverterLink on the section's port; the device itself is opened by the first exchange.

    ``timeout = 0`` lets the link size each command's timeout from its wire time at this baud.
    A failed exchange closes the transport and the next one re-opens it (``port = auto`` finds a
    renumbered hidraw node again), so the link lives as long as the daemon.
    """
    transport = open_transport(device.porttype, device.port, device.baud)
    return InverterLink(transport, timeout_s=device.timeout_s or None)
