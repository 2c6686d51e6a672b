"""The battery management systems the web app knows: read from the daemon's BMS files, described
for /api/battery and the battery page.

A BMS section of mpp-solar.conf (``type = jkbms|dalybms``) writes ``mpp-solar-<section>.prom`` like
an inverter, so the reader makes it the source ``inverter:<section>``; what tells it apart is its
values: keys that only the BMS catalog (:mod:`solarmon.bms.catalog`) has. This module picks those
sources and shapes them once (pack, cells with their balancing, temperatures, switches, alarms in
words from the catalog), so the page only renders. The BMS's state of charge is coulomb-counted:
:func:`preferred_soc` gives it, with its source, wherever SoC is shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from solarmon.bms import catalog
from solarmon.inverter import catalog as inverter_catalog

# Keys only a BMS reports (absent from the inverter catalog): one of them marks a BMS source.
MARKERS = frozenset(k for k in ("pack_voltage", "cell_voltage_min", "cell_count")
                    if k not in inverter_catalog.CATALOG)
PACK_KEYS = ("pack_voltage", "pack_current", "pack_power", "soc", "remaining_capacity", "full_capacity",
             "cycle_count", "cell_count", "cell_voltage_min", "cell_voltage_max", "cell_voltage_delta",
             "cell_voltage_average", "cell_min_index", "cell_max_index", "charge_state")
SWITCH_KEYS = ("charge_mosfet", "discharge_mosfet", "balancer_active", "balancer_enabled",
               "charge_enabled", "discharge_enabled", "charger_connected", "load_connected")
_CELL = re.compile(r"cell_voltage_(\d{2})")
_TEMPERATURE = re.compile(r"temperature_(\d+)")


def is_bms(values: Mapping[str, Any]) -> bool:
    """True when ``values`` come from a BMS (a key only the BMS catalog has)."""
    return any(key in values for key in MARKERS)


def _item(key: str, value: Any) -> dict[str, Any]:
    entry = catalog.info(key)
    return {"key": key, "value": value, "label": entry.label if entry else key,
            "unit": entry.unit if entry else "", "precision": entry.precision if entry else 0}


def describe(source: str, snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """One BMS source for /api/battery: its pack, cells, temperatures, switches and alarms in words."""
    values: Mapping[str, Any] = snapshot.get("values", {})
    cells = []
    for key, value in values.items():
        match = _CELL.fullmatch(key)
        if match:
            number = int(match.group(1))
            balancing = values.get(f"cell_balancing_{number:02d}")
            cells.append({"n": number, "voltage": value,
                          "balancing": bool(balancing) if balancing is not None else None})
    cells.sort(key=lambda cell: cell["n"])
    temperatures = [_item(k, values[k]) for k in ("mos_temperature",) if k in values]
    temperatures += sorted((_item(k, v) for k, v in values.items() if _TEMPERATURE.fullmatch(k)),
                           key=lambda item: int(item["key"].rsplit("_", 1)[1]))
    faults, warnings = catalog.classify_alarms(values)
    return {
        "source": source,
        "name": source.split(":", 1)[-1],
        "ok": snapshot.get("ok", True),
        "error": snapshot.get("error"),
        "age_s": snapshot.get("age_s"),
        "pack": {key: _item(key, values[key]) for key in PACK_KEYS if key in values},
        "cells": cells,
        "balancer": {"active": values.get("balancer_active"), "enabled": values.get("balancer_enabled"),
                     "current_a": values.get("balance_current")},
        "switches": [_item(key, bool(values[key])) for key in SWITCH_KEYS if key in values],
        "temperatures": temperatures,
        "alarms": [{"key": k, "label": _item(k, True)["label"], "kind": "fault"} for k in faults]
                  + [{"key": k, "label": _item(k, True)["label"], "kind": "warning"} for k in warnings],
    }


def describe_all(snapshots: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every BMS among ``snapshots`` (source -> SourceSnapshot), described, in source order."""
    found = {}
    for source, snap in snapshots.items():
        if is_bms(snap.values):
            found[source] = describe(source, snap.to_json())
    return found


def preferred_soc(snapshots: Mapping[str, Any]) -> dict[str, Any] | None:
    """The state of charge to show: a BMS's (coulomb-counted) when one reports, else None.

    With several BMSs (one per pack) it is their capacity-weighted mean when every pack reports
    its full capacity, else their plain mean; ``source`` names where it comes from.
    """
    packs = [(source, snap.values) for source, snap in snapshots.items()
             if is_bms(snap.values) and isinstance(snap.values.get("soc"), int | float)]
    if not packs:
        return None
    weights = [values.get("full_capacity") for _source, values in packs]
    if all(isinstance(w, int | float) and w > 0 for w in weights):
        weighted = sum(float(v["soc"]) * float(w) for (_s, v), w in zip(packs, weights, strict=True))
        soc = weighted / sum(weights)
    else:
        soc = sum(float(v["soc"]) for _s, v in packs) / len(packs)
    names = ", ".join(source.split(":", 1)[-1] for source, _values in packs)
    return {"value": round(soc, 1), "unit": "%", "source": "bms", "label": f"BMS ({names})",
            "sources": [source for source, _values in packs]}
