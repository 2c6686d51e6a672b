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

Read with the shared typed helper (solarmon/confighelper.py): errors (ConfigError) name the file,
the key, the value and the limit (the web app exits 2); unknown keys warn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from solarmon.confighelper import ConfigSection

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
    """Validate `forecast:` (None: the defaults) with the shared typed helper; ConfigError names
    the file, the key, the value and the limit (`web.yaml: forecast.load_days must be ...`)."""
    section = ConfigSection(raw, source=where, prefix="forecast.")
    section.warn_unknown(key for key, *_ in KEY_TABLE)
    values: dict[str, Any] = {}
    for key, kind, default, low, high in KEY_TABLE:
        if kind == "bool":
            values[key] = section.getbool(key, default)
        elif kind == "str":
            values[key] = section.getstr(key, default)
        elif kind == "int":
            values[key] = section.getint(key, default, minval=low, maxval=high)
        else:
            values[key] = section.getfloat(key, default, minval=low, maxval=high)
    return ForecastSettings(**values)
