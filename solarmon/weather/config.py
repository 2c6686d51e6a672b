"""weather.yaml: the weather fetcher's typed, validated configuration.

    location:
      name: Pittsfield, Vermont
      latitude: 43.7776        # -90..90
      longitude: -72.8145      # -180..180
    panels:
      tilt_deg: 40             # 0 horizontal .. 90 vertical
      azimuth_deg: 0           # Open-Meteo convention: 0 south, -90 east, 90 west, +-180 north
    interval_s: 600            # 60..86400
    api:
      base_url: https://api.open-meteo.com/v1/forecast
      timeout_s: 10            # 1..120
      retries: 3               # 0..10, on 429 / 5xx / timeouts
      backoff_s: 5             # 0..600, doubled per retry
    mqtt:                      # see solarmon.mqtt.credentials
      username: solarmon-weather
      password_file: /etc/solarmon/mqtt/solarmon-weather.pass
    arrays:                    # the PV arrays for the forecast (docs/FORECAST.md)
      - name: roof             # [a-z0-9_], unique; the MQTT topic forecast/<name>
        tilt_deg: 40           # 0..90 (default: panels.tilt_deg)
        azimuth_deg: 0         # -180..180, Open-Meteo's convention (default: panels.azimuth_deg)
        peak_kw: 1.0           # 0.01..1000, the array's nameplate (STC) DC power
        losses_pct: 14         # 0..50, wiring, soiling, mismatch, MPPT (PVWatts' default 14 %)
        tracker: ""            # "", pv1 or pv2: which of the inverter's trackers it feeds
    forecast:
      enabled: true            # ask for the hourly forecast and model it (needs pvlib)
      pv_max_w: 0              # 0..100000, the inverter's rated PV power (clipping); 0 unknown
      prom_file: prometheus/forecast.prom   # "" for none

Without `arrays`, one array named `panels` with panels.tilt_deg / azimuth_deg, 1 kWp and 14 %
losses stands for today's single array (the web app's calibration then finds the scale). Every
key is optional (the seed's location and a 10-minute interval are the defaults). Errors
name the file, the key and the limit; unknown keys warn.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from solarmon.mqtt.client import MqttSettings
from solarmon.mqtt.credentials import MqttConfigError, mqtt_settings_from_config

LOG = logging.getLogger(__name__)

OPEN_METEO_FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
DEFAULT_LOCATION = ("Pittsfield, Vermont", 43.7776, -72.8145)
SECTIONS: dict[str, frozenset[str]] = {
    "location": frozenset({"name", "latitude", "longitude"}),
    "panels": frozenset({"tilt_deg", "azimuth_deg"}),
    "api": frozenset({"base_url", "timeout_s", "retries", "backoff_s"}),
}
ARRAY_KEYS = frozenset({"name", "tilt_deg", "azimuth_deg", "peak_kw", "losses_pct", "tracker"})
FORECAST_SECTION_KEYS = frozenset({"enabled", "pv_max_w", "prom_file"})
TOP_KEYS = frozenset({*SECTIONS, "interval_s", "mqtt", "arrays", "forecast"})
TRACKERS = ("", "pv1", "pv2")
MAX_ARRAYS = 8
ARRAY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
DEFAULT_ARRAY_NAME = "panels"
DEFAULT_PEAK_KW = 1.0
DEFAULT_LOSSES_PCT = 14.0
DEFAULT_FORECAST_PROM = "prometheus/forecast.prom"
# The new keys' table (key, default, limits) that docs/CONFIGURATION.md repeats (tests/docs).
FORECAST_KEY_TABLE: tuple[tuple[str, str, str], ...] = (
    ("arrays[].name", DEFAULT_ARRAY_NAME, "lower-case letters, digits, _ (1-32), unique"),
    ("arrays[].tilt_deg", "panels.tilt_deg", "0 to 90"),
    ("arrays[].azimuth_deg", "panels.azimuth_deg", "-180 to 180"),
    ("arrays[].peak_kw", f"{DEFAULT_PEAK_KW:g}", "0.01 to 1000"),
    ("arrays[].losses_pct", f"{DEFAULT_LOSSES_PCT:g}", "0 to 50"),
    ("arrays[].tracker", '""', '"", pv1, pv2'),
    ("forecast.enabled", "true", "true, false"),
    ("forecast.pv_max_w", "0", "0 to 100000"),
    ("forecast.prom_file", DEFAULT_FORECAST_PROM, "a file path, or empty for none"),
)


@dataclass(frozen=True)
class ArrayConfig:
    """One PV array: orientation (Open-Meteo's azimuth convention), size, losses, its tracker."""

    name: str = DEFAULT_ARRAY_NAME
    tilt_deg: float = 40.0
    azimuth_deg: float = 0.0
    peak_kw: float = DEFAULT_PEAK_KW
    losses_pct: float = DEFAULT_LOSSES_PCT
    tracker: str = ""


class WeatherConfigError(ValueError):
    """A bad weather.yaml: the message names file, key and limit (the CLI exits 2)."""


@dataclass(frozen=True)
class WeatherConfig:
    """The fetcher's settings, validated."""

    location_name: str = DEFAULT_LOCATION[0]
    latitude: float = DEFAULT_LOCATION[1]
    longitude: float = DEFAULT_LOCATION[2]
    tilt_deg: float = 40.0
    azimuth_deg: float = 0.0
    interval_s: float = 600.0
    base_url: str = OPEN_METEO_FORECAST_URL
    timeout_s: float = 10.0
    retries: int = 3
    backoff_s: float = 5.0
    mqtt: MqttSettings = field(default_factory=lambda: MqttSettings(client_id="solarmon-weather"))
    arrays: tuple[ArrayConfig, ...] = (ArrayConfig(),)
    forecast_enabled: bool = True
    pv_max_w: float = 0.0
    forecast_prom: str = DEFAULT_FORECAST_PROM


def _number(
    section: Mapping[str, Any], key: str, default: float, low: float, high: float, where: str
) -> float:
    """`where` is "<file>: <section>." (or "<file>: " at the top level)."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise WeatherConfigError(f"{where}{key} must be a number in {low:g}..{high:g}, got {value!r}")
    return float(value)


def _section(data: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    section = data.get(name)
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise WeatherConfigError(f"{source}: {name} must be a mapping, got {type(section).__name__}")
    for key in sorted(set(section) - SECTIONS[name]):
        LOG.warning("%s: unknown key %s.%s ignored", source, name, key)
    return section


def parse_weather_config(
    data: Mapping[str, Any] | None, *, source: str = "weather.yaml", env: Mapping[str, str] | None = None
) -> WeatherConfig:
    """Validate a parsed weather.yaml mapping (None or {} gives the defaults)."""
    data = data or {}
    if not isinstance(data, Mapping):
        raise WeatherConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    for key in sorted(set(data) - TOP_KEYS):
        LOG.warning("%s: unknown key %s ignored (known: %s)", source, key, ", ".join(sorted(TOP_KEYS)))
    loc = _section(data, "location", source)
    panels = _section(data, "panels", source)
    api = _section(data, "api", source)
    name = loc.get("name", DEFAULT_LOCATION[0])
    if not isinstance(name, str) or not name.strip():
        raise WeatherConfigError(f"{source}: location.name must be a non-empty string, got {name!r}")
    base_url = api.get("base_url", OPEN_METEO_FORECAST_URL)
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise WeatherConfigError(f"{source}: api.base_url must be an http(s) URL, got {base_url!r}")
    retries = api.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise WeatherConfigError(f"{source}: api.retries must be an integer in 0..10, got {retries!r}")
    try:
        mqtt = mqtt_settings_from_config(
            data.get("mqtt"),
            source=source,
            client_id="solarmon-weather",
            default_username="solarmon-weather",
            env=env,
        )
    except MqttConfigError as exc:
        raise WeatherConfigError(str(exc)) from exc
    tilt = _number(panels, "tilt_deg", 40, 0, 90, f"{source}: panels.")
    azimuth = _number(panels, "azimuth_deg", 0, -180, 180, f"{source}: panels.")
    forecast = data.get("forecast") or {}
    if not isinstance(forecast, Mapping):
        raise WeatherConfigError(f"{source}: forecast must be a mapping, got {type(forecast).__name__}")
    for key in sorted(set(forecast) - FORECAST_SECTION_KEYS):
        LOG.warning("%s: unknown key forecast.%s ignored", source, key)
    enabled = forecast.get("enabled", True)
    if not isinstance(enabled, bool):
        raise WeatherConfigError(f"{source}: forecast.enabled must be true or false, got {enabled!r}")
    prom_file = forecast.get("prom_file", DEFAULT_FORECAST_PROM)
    if not isinstance(prom_file, str):
        raise WeatherConfigError(f"{source}: forecast.prom_file must be a path or empty, got {prom_file!r}")
    return WeatherConfig(
        location_name=name.strip(),
        latitude=_number(loc, "latitude", DEFAULT_LOCATION[1], -90, 90, f"{source}: location."),
        longitude=_number(loc, "longitude", DEFAULT_LOCATION[2], -180, 180, f"{source}: location."),
        tilt_deg=tilt,
        azimuth_deg=azimuth,
        interval_s=_number(data, "interval_s", 600, 60, 86400, f"{source}: "),
        base_url=base_url,
        timeout_s=_number(api, "timeout_s", 10, 1, 120, f"{source}: api."),
        retries=retries,
        backoff_s=_number(api, "backoff_s", 5, 0, 600, f"{source}: api."),
        mqtt=mqtt,
        arrays=_arrays(data.get("arrays"), tilt, azimuth, source),
        forecast_enabled=enabled,
        pv_max_w=_number(forecast, "pv_max_w", 0, 0, 100_000, f"{source}: forecast."),
        forecast_prom=prom_file.strip(),
    )


def _arrays(raw: Any, tilt: float, azimuth: float, source: str) -> tuple[ArrayConfig, ...]:
    """The `arrays` list; absent: one array with the panels' orientation (today's behaviour)."""
    if raw is None:
        return (ArrayConfig(tilt_deg=tilt, azimuth_deg=azimuth),)
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ARRAYS:
        raise WeatherConfigError(f"{source}: arrays must be a list of 1..{MAX_ARRAYS} arrays, got {raw!r}")
    out: list[ArrayConfig] = []
    for index, item in enumerate(raw):
        where = f"{source}: arrays[{index}]."
        if not isinstance(item, Mapping):
            raise WeatherConfigError(f"{where[:-1]} must be a mapping, got {type(item).__name__}")
        for key in sorted(set(item) - ARRAY_KEYS):
            LOG.warning("%s: unknown key arrays[%d].%s ignored", source, index, key)
        name = item.get("name", DEFAULT_ARRAY_NAME if len(raw) == 1 else f"array{index + 1}")
        if not isinstance(name, str) or not ARRAY_NAME_RE.match(name):
            raise WeatherConfigError(f"{where}name must be 1-32 of a-z, 0-9, _ , got {name!r}")
        if name == "total":
            raise WeatherConfigError(f"{where}name 'total' is reserved (the MQTT topic of all arrays)")
        if any(other.name == name for other in out):
            raise WeatherConfigError(f"{where}name {name!r} is used twice")
        tracker = item.get("tracker", "")
        if tracker not in TRACKERS:
            raise WeatherConfigError(f"{where}tracker must be one of \"\", pv1, pv2, got {tracker!r}")
        out.append(ArrayConfig(
            name=name,
            tilt_deg=_number(item, "tilt_deg", tilt, 0, 90, where),
            azimuth_deg=_number(item, "azimuth_deg", azimuth, -180, 180, where),
            peak_kw=_number(item, "peak_kw", DEFAULT_PEAK_KW, 0.01, 1000, where),
            losses_pct=_number(item, "losses_pct", DEFAULT_LOSSES_PCT, 0, 50, where),
            tracker=tracker,
        ))
    return tuple(out)


def load_weather_config(path: Path, *, env: Mapping[str, str] | None = None) -> WeatherConfig:
    """Read and validate weather.yaml; a missing file is an error (the defaults need no file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WeatherConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WeatherConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_weather_config(data, source=str(path), env=env)
