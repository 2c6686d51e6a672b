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

Every key is optional (the seed's location and a 10-minute interval are the defaults). Read with
the shared typed helper (solarmon/confighelper.py): errors (ConfigError) name the file, the key,
the value and the limit; unknown keys warn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from solarmon.confighelper import ConfigError, ConfigSection
from solarmon.mqtt.client import MqttSettings
from solarmon.mqtt.credentials import mqtt_settings_from_config

LOG = logging.getLogger(__name__)

OPEN_METEO_FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
DEFAULT_LOCATION = ("Pittsfield, Vermont", 43.7776, -72.8145)
SECTIONS: dict[str, frozenset[str]] = {
    "location": frozenset({"name", "latitude", "longitude"}),
    "panels": frozenset({"tilt_deg", "azimuth_deg"}),
    "api": frozenset({"base_url", "timeout_s", "retries", "backoff_s"}),
}
TOP_KEYS = frozenset({*SECTIONS, "interval_s", "mqtt"})


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


def parse_weather_config(
    data: Mapping[str, Any] | None, *, source: str = "weather.yaml", env: Mapping[str, str] | None = None
) -> WeatherConfig:
    """Validate a parsed weather.yaml mapping (None or {} gives the defaults); raises ConfigError."""
    data = data or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}",
                          source=source, value=data, allowed="a mapping of keys")
    top = ConfigSection(data, source=source)
    top.warn_unknown(sorted(TOP_KEYS))
    loc, panels, api = (top.getsection(name) for name in ("location", "panels", "api"))
    for name, section in (("location", loc), ("panels", panels), ("api", api)):
        section.warn_unknown(sorted(SECTIONS[name]))
    name = loc.getstr("name", DEFAULT_LOCATION[0], nonempty=True)
    if not name.strip():
        raise loc.error("name", f"must be a non-empty string, got {name!r}", value=name)
    base_url = api.getstr("base_url", OPEN_METEO_FORECAST_URL, nonempty=True)
    if not base_url.startswith(("http://", "https://")):
        raise api.error("base_url", f"must be an http(s) URL, got {base_url!r}", value=base_url,
                        allowed="http://... or https://...")
    mqtt = mqtt_settings_from_config(
        data.get("mqtt"), source=source, client_id="solarmon-weather", default_username="solarmon-weather",
        env=env,
    )
    return WeatherConfig(
        location_name=name.strip(),
        latitude=loc.getfloat("latitude", DEFAULT_LOCATION[1], minval=-90, maxval=90),
        longitude=loc.getfloat("longitude", DEFAULT_LOCATION[2], minval=-180, maxval=180),
        tilt_deg=panels.getfloat("tilt_deg", 40.0, minval=0, maxval=90),
        azimuth_deg=panels.getfloat("azimuth_deg", 0.0, minval=-180, maxval=180),
        interval_s=top.getfloat("interval_s", 600.0, minval=60, maxval=86400),
        base_url=base_url,
        timeout_s=api.getfloat("timeout_s", 10.0, minval=1, maxval=120),
        retries=api.getint("retries", 3, minval=0, maxval=10),
        backoff_s=api.getfloat("backoff_s", 5.0, minval=0, maxval=600),
        mqtt=mqtt,
    )


def load_weather_config(path: Path, *, env: Mapping[str, str] | None = None) -> WeatherConfig:
    """Read and validate weather.yaml; a missing file is an error (the defaults need no file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})", source=str(path)) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", source=str(path)) from exc
    return parse_weather_config(data, source=str(path), env=env)
