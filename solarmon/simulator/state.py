"""The model's state as JSON, so a simulator can carry on where another run (or a generated history)
stopped: ``python -m solarmon.simulator --state FILE``.

Everything that makes the next reading follow from the last one is kept: the simulated time, the
battery (charge, voltage, current, float stage), the heat sink and the other flows, clouds, the
household's noise and appliance bursts, the energy counters, the settings and the random
generator, so a resumed run is the same world, not a new one drawn from the seed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from solarmon.simulator.environment import Household, Weather
from solarmon.simulator.model import Battery, Flows, PlantModel
from solarmon.simulator.settings import Settings

STATE_VERSION = 1


class StateError(ValueError):
    """A state file that does not fit this simulator (other profile, version or a broken file)."""


def export_state(model: PlantModel) -> dict[str, Any]:
    """A JSON-able copy of everything :func:`restore_state` needs."""
    version, internal, gauss_next = model.rng.getstate()
    return {
        "version": STATE_VERSION,
        "profile": model.profile.name,
        "time": model.now.isoformat(),
        "battery": asdict(model.battery),
        "flows": asdict(model.flows),
        "weather": asdict(model.weather),
        "household": asdict(model.household),
        "settings": asdict(model.settings),
        "mode": model.mode,
        "grid_available": model.grid_available,
        "fault": model.fault,
        "undervoltage": model.undervoltage,
        "warnings": sorted(model.warnings),
        "energy": {day.isoformat(): list(wh) for day, wh in model.energy.items()},
        "lifetime_pv_wh": model.lifetime_pv_wh,
        "lifetime_load_wh": model.lifetime_load_wh,
        "rng": [version, list(internal), gauss_next],
    }


def _build(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise StateError(f"state {where}: expected an object")
    names = {f.name for f in fields(kind)}
    try:
        return kind(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise StateError(f"state {where}: {exc}") from exc


def restore_state(model: PlantModel, data: dict[str, Any]) -> None:
    """Put the state from :func:`export_state` into ``model`` (built for the same profile)."""
    if data.get("version") != STATE_VERSION:
        raise StateError(f"state version {data.get('version')!r}, this simulator reads {STATE_VERSION}")
    if data.get("profile") != model.profile.name:
        raise StateError(f"state is for profile {data.get('profile')!r}, not {model.profile.name!r}")
    try:
        model.now = datetime.fromisoformat(data["time"])
        version, internal, gauss_next = data["rng"]
        model.rng.setstate((version, tuple(internal), gauss_next))
        model.energy = {date.fromisoformat(day): [float(pv), float(load)]
                        for day, (pv, load) in data["energy"].items()}
        model.lifetime_pv_wh = float(data["lifetime_pv_wh"])
        model.lifetime_load_wh = float(data["lifetime_load_wh"])
        model.mode = str(data["mode"])
        model.grid_available = bool(data["grid_available"])
        model.fault = data["fault"]
        model.undervoltage = bool(data["undervoltage"])
        model.warnings = {int(bit) for bit in data["warnings"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"state: {type(exc).__name__}: {exc}") from exc
    model.battery = _build(Battery, data.get("battery"), "battery")
    model.flows = _build(Flows, data.get("flows"), "flows")
    model.weather = _build(Weather, data.get("weather"), "weather")
    model.household = _build(Household, data.get("household"), "household")
    model.settings = _build(Settings, data.get("settings"), "settings")


def save_state(model: PlantModel, path: Path) -> None:
    """Write the state to ``path`` atomically (temp file + rename)."""
    body = json.dumps(export_state(model))
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(model: PlantModel, path: Path) -> None:
    """Restore ``model`` from the state file at ``path``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read the state file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StateError(f"state file {path}: not a JSON object")
    restore_state(model, data)
