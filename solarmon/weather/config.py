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

Every key is optional (the seed's location and a 10-minute interval are the defaults). Errors
name the file, the key and the limit; unknown keys warn.
"""

from __future__ import annotations

import logging
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
TOP_KEYS = frozenset({*SECTIONS, "interval_s", "mqtt"})


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
    return WeatherConfig(
        location_name=name.strip(),
        latitude=_number(loc, "latitude", DEFAULT_LOCATION[1], -90, 90, f"{source}: location."),
        longitude=_number(loc, "longitude", DEFAULT_LOCATION[2], -180, 180, f"{source}: location."),
        tilt_deg=_number(panels, "tilt_deg", 40, 0, 90, f"{source}: panels."),
        azimuth_deg=_number(panels, "azimuth_deg", 0, -180, 180, f"{source}: panels."),
        interval_s=_number(data, "interval_s", 600, 60, 86400, f"{source}: "),
        base_url=base_url,
        timeout_s=_number(api, "timeout_s", 10, 1, 120, f"{source}: api."),
        retries=retries,
        backoff_s=_number(api, "backoff_s", 5, 0, 600, f"{source}: api."),
        mqtt=mqtt,
    )


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
