"""The totals of a site with several inverters: the dashboard's "System totals" panel, computed once.

Several independent inverters on one site (an east and a west array, a shed and a house, each with
its own section) add up to what the site makes and uses. Each inverter's share is the catalog's
derived value (:data:`solarmon.inverter.catalog.DERIVED_KEYS`: PV, load, battery and grid power,
computed once on ingest); a parallel / three-phase system counts once, by its own system values
(solarmon/web/systems.py's ``flow``, which the daemon computes), never its units again. Here, once,
and served in /api/data's ``totals`` block, so the browser only shows them.

The rule of every total in this project: a total that depends on a device that is not answering,
stale (its newest value older than ``data.stale_after_s``) or withholding its own totals (a system
with a unit missing) is withheld — ``null``, never a sum over fewer devices shown as live; so is a
total one device does not report live (its value stale or absent): ``withheld`` names the devices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from solarmon.inverter import catalog
from solarmon.web import systems
from solarmon.web.state import SourceSnapshot, inverter_source

# Total key (the panel's tile) -> the derived key each device gives it (the catalog's).
TOTALS: Mapping[str, str] = {f"total_{key.removesuffix('_total')}": key for key in catalog.DERIVED_KEYS}


def _shares(device: str, snap: SourceSnapshot | None, units: list[str] | None,
            snapshots: Mapping[str, SourceSnapshot]) -> tuple[dict[str, Any] | None, list[str]]:
    """(the device's derived values, live, or None; who is not answering) of one top-level device."""
    if snap is None or not (snap.health.ok and snap.fresh):
        return None, [device]
    if units is None:
        return {key: snap.values[key] for key in catalog.DERIVED_KEYS if key in snap.values}, []
    block = systems.describe(device, snap, units, snapshots)
    if block is None or not block["totals_complete"]:
        return None, (block["missing"] if block is not None and block["missing"] else [device])
    return block["flow"], []


def site_totals(devices: Sequence[str], snapshots: Mapping[str, SourceSnapshot]) -> dict[str, Any] | None:
    """The ``totals`` block over the inverter sections ``devices`` (a system once, its units not), or
    None with fewer than two of them (one inverter is its own total).

    ``values``: each total key of :data:`TOTALS` -> W, or None while withheld; ``missing``: the
    devices (a system's units) not answering; ``withheld``: total key -> the devices it waits for;
    ``complete``: every total given."""
    found = systems.units_of(devices)
    members = {unit for units in found.values() for unit in units}
    top = [device for device in devices if device not in members]
    if len(top) < 2:
        return None
    sums: dict[str, float] = dict.fromkeys(TOTALS, 0.0)
    withheld: dict[str, list[str]] = {}
    missing: list[str] = []
    for device in top:
        shares, down = _shares(device, snapshots.get(inverter_source(device)), found.get(device), snapshots)
        missing += down
        for total, key in TOTALS.items():
            value = shares.get(key) if shares is not None else None
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                sums[total] += float(value)
            else:
                withheld.setdefault(total, []).append(device)
    return {
        "devices": top,
        "values": {total: None if total in withheld else round(watts, 1) for total, watts in sums.items()},
        "units": {total: info.unit if (info := catalog.info(key)) else "" for total, key in TOTALS.items()},
        "complete": not withheld,
        "missing": missing,
        "withheld": withheld,
    }


def expires(devices: Sequence[str], snapshots: Mapping[str, SourceSnapshot]) -> float:
    """When, without a new reading, a value the totals use would age out (the body's expiry). A device
    already stale stays so until its next reading, which changes its version instead."""
    return min((snap.expires for device in devices
                if (snap := snapshots.get(inverter_source(device))) is not None and snap.fresh),
               default=math.inf)
