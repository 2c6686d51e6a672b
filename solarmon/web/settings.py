"""The settings the daemon allows, for the settings page: `/api/settings`.

The daemon is the judge of what may be sent (its section's `allowed_settings`, the codec's
ranges); this module only asks it and describes the answer so the page offers nothing else. It
reads the allowed families from the daemon's status request, the battery voltage class from the
live QPIRI values, and the charging-current choices by sending QMCHGCR / QMUCHGCR (queries, always
allowed) when the section allows MCHGC / MUCHGC. The lists a unit accepts do not change while it
runs, so they are kept per device once read.

Each row carries `current_key` (the catalog key of `/api/data` holding the inverter's value now)
and, per choice, `data_value`: the value `/api/data` shows when that choice is set, so the page
presets its control without deriving anything itself. On a parallel system (`units`, from the
daemon's status) the per-unit settings are marked `per_unit`: the page reads each unit's value
from `/api/data?device=<unit device>` and applies a value to all units or one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from solarmon.inverter.policy import family_allows
from solarmon.inverter.setters import describe_settings
from solarmon.inverter.setting_rules import CURRENT_RULES, VOLTAGE_RULES
from solarmon.inverter.unit_settings import UNIT_FAMILIES
from solarmon.web.auth.roles import require_role
from solarmon.web.control import ControlClient, ControlError
from solarmon.web.params import NAME_RE, ApiError
from solarmon.web.runtime import WebContext, get_context
from solarmon.web.state import inverter_source

bp = Blueprint("settings", __name__, url_prefix="/api")


def init_app(app: Flask, ctx: WebContext) -> None:
    """Register `/api/settings` (create_app calls this by name)."""
    ctx.parts.current_lists = CurrentLists()
    app.register_blueprint(bp)


class CurrentLists:
    """The charging currents each device accepts (QMCHGCR / QMUCHGCR), read once per device."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: dict[tuple[str, str], tuple[int, ...]] = {}

    def get(self, control: ControlClient, device: str, query: str) -> tuple[int, ...] | None:
        """The list `query` returns on `device` (asked of the daemon the first time), or None."""
        with self._lock:
            known = self._lists.get((device, query))
        if known is not None:
            return known
        try:
            reply = control.request({"command": query, "device": device})
        except ControlError:
            return None
        values = _int_list(reply.get("reply")) if reply.get("ok") else None
        if values:
            with self._lock:
                self._lists[(device, query)] = values
        return values


def _int_list(reply: Any) -> tuple[int, ...] | None:
    """The list of currents in a QMCHGCR / QMUCHGCR reply (`"010 020 030"` or a list), else None."""
    if not isinstance(reply, Mapping):
        return None
    for value in reply.values():
        items = value.split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            continue
        try:
            return tuple(int(v) for v in items)
        except (TypeError, ValueError):
            continue
    return None


def _commands(entry: Mapping[str, Any]) -> list[str]:
    """Every wire command a describe_settings() entry can send (a range: one well-formed example)."""
    commands = [str(c["command"]) for c in entry.get("choices") or [] if c.get("command")]
    if commands:
        return commands
    # No choices (yet): a range, or a list the unit has not reported. One well-formed example.
    prefix = entry["prefix"]
    if prefix in CURRENT_RULES:
        return [f"{prefix}010"]
    low = entry.get("min")
    return [f"{prefix}{float(low) if low is not None else 0.0:04.1f}"]


def _data_value(entry: Mapping[str, Any], choice: Mapping[str, Any]) -> Any:
    """What /api/data shows for `entry`'s key while `choice` is set (see the module docstring)."""
    prefix = entry["prefix"]
    if entry.get("flag"):
        return 1 if str(choice["command"]).startswith("PE") else 0
    if prefix in CURRENT_RULES or prefix == "F":
        return int(str(choice["value"]))
    if prefix in VOLTAGE_RULES:
        return float(str(choice["value"]))
    return choice["label"]  # the codec decodes a code into the same name the choice carries


def allowed_rows(families: Iterable[str], ratings: Mapping[str, Any] | None,
                 currents: Mapping[str, Iterable[int]] | None) -> list[dict[str, Any]]:
    """The describe_settings() entries the families allow, each keeping only its allowed choices.

    A factory reset (PF) appears only when the families name it: nothing is offered by default.
    """
    families = tuple(families)
    rows: list[dict[str, Any]] = []
    for entry in describe_settings(ratings, currents):
        allowed = [c for c in _commands(entry) if any(family_allows(f, c) for f in families)]
        if not allowed:
            continue
        if entry.get("kind") != "range":
            entry["choices"] = [{**c, "data_value": _data_value(entry, c)}
                                for c in entry.get("choices") or [] if c.get("command") in allowed]
        rows.append(entry)
    return rows


def _ratings(ctx: WebContext, device: str) -> dict[str, Any] | None:
    state = ctx.parts.state
    snap = state.snapshot(inverter_source(device)) if state is not None else None
    return None if snap is None else dict(snap.values)


@bp.get("/settings")
@require_role("operator")
def settings() -> Response:
    """The settings the daemon allows on one inverter, with their ranges or choices."""
    ctx = get_context()
    control = ctx.parts.control
    if control is None:
        raise ApiError(503, "daemon_unavailable", "no daemon is configured")
    try:
        status = control.request({"request": "status"}, timeout_s=2.0)
    except ControlError as exc:
        raise ApiError(exc.status, exc.kind, str(exc)) from exc
    devices = status.get("devices") if isinstance(status.get("devices"), dict) else {}
    if not devices:
        raise ApiError(503, "daemon_unavailable", "the daemon reports no inverter")
    device = request.args.get("device") or next(iter(devices))
    if not NAME_RE.match(device) or device not in devices:
        raise ApiError(404, "unknown_device", f"the daemon has no inverter called {device!r}")
    families = [str(f) for f in devices[device].get("allowed_settings") or []]
    lists = ctx.parts.current_lists or CurrentLists()
    currents = {}
    for prefix, (query, _key, _label) in CURRENT_RULES.items():
        if any(f == prefix for f in families):
            found = lists.get(control, device, query)
            if found is not None:
                currents[prefix] = found
    rows = allowed_rows(families, _ratings(ctx, device), currents)
    units = _units(devices[device])
    if units:
        rows = system_rows(rows)
    return jsonify({"device": device, "devices": sorted(devices), "allowed_settings": families,
                    "units": units, "settings": rows})


def _units(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The units of a parallel system as the daemon found them ([{unit, device}]), else []."""
    found = status.get("units")
    if not isinstance(found, list):
        return []
    return [{"unit": u["unit"], "device": str(u["device"])} for u in found
            if isinstance(u, Mapping) and isinstance(u.get("unit"), int)
            and NAME_RE.match(str(u.get("device")))]


# What the settings page shows of each unit's output mode (read-only, see system_rows).
OUTPUT_MODE_ROW: Mapping[str, Any] = {
    "prefix": "POPM", "label": "Output mode", "kind": "info", "per_unit": True, "read_only": True,
    "current_key": "output_mode", "available": True, "dangerous": False, "choices": [],
    "note": "set it on each unit's panel (program 28) with the system off; the public descriptions "
            "of POPM disagree on whether it carries a unit digit, so it is never sent from here",
}


def system_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A parallel system's rows: the per-unit settings (charging currents, charger priority) marked
    `per_unit` (the page shows each unit's value and sends with `units`), system-wide ones as they
    are (sent once, to the unit on the cable), and each unit's output mode, read-only."""
    for row in rows:
        if row["prefix"] in UNIT_FAMILIES:
            row["per_unit"] = True
    return [*rows, dict(OUTPUT_MODE_ROW)]

