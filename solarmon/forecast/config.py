"""web.yaml `forecast:`: the web app's forecast part (calibration, battery outlook, the alert).

    forecast:
      enabled: true              # off: no /forecast data, no outlook, no predictive alert
      db_path: var/forecast.db   # the modelled hours kept for calibration (relative: web.yaml's folder)
      source: ""                 # inverter source (inverter:<section>); "": the first with PV history
      battery_usable_kwh: 0      # 0..1000; 0: estimated from history
      cutoff_soc_pct: 20         # 0..90, the state of charge at which the low-voltage cut-off is expected
      calibration_days: 28       # 1..365 days of hours the factors rest on
      load_days: 14              # 2..90 days of load behind the expected load by hour
      evening_from_hour: 17      # 12..23, local hour from which the predictive alert may fire
      recompute_s: 60            # 10..3600, how often calibration and outlook are recomputed

Errors name the file, key and limit (a ConfigError: the web app exits 2); unknown keys warn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from solarmon.web.config import ConfigError

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForecastSettings:
    """The validated `forecast:` section."""

    enabled: bool = True
    db_path: str = "var/forecast.db"
    source: str = ""
    battery_usable_kwh: float = 0.0
    cutoff_soc_pct: float = 20.0
    calibration_days: int = 28
    load_days: int = 14
    evening_from_hour: int = 17
    recompute_s: float = 60.0


# (key, type, default, min, max): the table docs/CONFIGURATION.md repeats (tests/docs).
KEY_TABLE: tuple[tuple[str, str, Any, float | None, float | None], ...] = (
    ("enabled", "bool", True, None, None),
    ("db_path", "str", "var/forecast.db", None, None),
    ("source", "str", "", None, None),
    ("battery_usable_kwh", "float", 0.0, 0, 1000),
    ("cutoff_soc_pct", "float", 20.0, 0, 90),
    ("calibration_days", "int", 28, 1, 365),
    ("load_days", "int", 14, 2, 90),
    ("evening_from_hour", "int", 17, 12, 23),
    ("recompute_s", "float", 60.0, 10, 3600),
)


def parse_forecast_settings(raw: Any, *, where: str = "web.yaml") -> ForecastSettings:
    """Validate `forecast:` (None: the defaults)."""
    if raw is None:
        return ForecastSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: forecast must be a mapping, got {type(raw).__name__}")
    known = {row[0] for row in KEY_TABLE}
    for key in sorted(set(map(str, raw)) - known):
        LOG.warning("%s: unknown key forecast.%s ignored", where, key)
    values: dict[str, Any] = {}
    for key, kind, default, low, high in KEY_TABLE:
        value = raw.get(key, default)
        if kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and low is not None and high is not None:
            ok = low <= value <= high
        if not ok:
            limit = f" in {low:g}..{high:g}" if low is not None and high is not None else ""
            raise ConfigError(f"{where}: forecast.{key} must be a {kind}{limit}, got {value!r}")
        values[key] = float(value) if kind == "float" else value
    return ForecastSettings(**values)
