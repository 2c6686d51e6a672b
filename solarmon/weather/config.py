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
key is optional (the seed's location and a 10-minute interval are the defaults). Read with the
shared typed helper (solarmon/confighelper.py): errors (ConfigError) name the file, the key, the
value and the limit; unknown keys warn.
"""

from __future__ import annotations

import logging
import re
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
    loc, panels, api, forecast = (top.getsection(name) for name in ("location", "panels", "api", "forecast"))
    for name, section in (("location", loc), ("panels", panels), ("api", api)):
        section.warn_unknown(sorted(SECTIONS[name]))
    forecast.warn_unknown(sorted(FORECAST_SECTION_KEYS))
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
    tilt = panels.getfloat("tilt_deg", 40.0, minval=0, maxval=90)
    azimuth = panels.getfloat("azimuth_deg", 0.0, minval=-180, maxval=180)
    prom_file = forecast.getstr("prom_file", DEFAULT_FORECAST_PROM)
    return WeatherConfig(
        location_name=name.strip(),
        latitude=loc.getfloat("latitude", DEFAULT_LOCATION[1], minval=-90, maxval=90),
        longitude=loc.getfloat("longitude", DEFAULT_LOCATION[2], minval=-180, maxval=180),
        tilt_deg=tilt,
        azimuth_deg=azimuth,
        interval_s=top.getfloat("interval_s", 600.0, minval=60, maxval=86400),
        base_url=base_url,
        timeout_s=api.getfloat("timeout_s", 10.0, minval=1, maxval=120),
        retries=api.getint("retries", 3, minval=0, maxval=10),
        backoff_s=api.getfloat("backoff_s", 5.0, minval=0, maxval=600),
        mqtt=mqtt,
        arrays=_arrays(top, tilt, azimuth),
        forecast_enabled=forecast.getbool("enabled", True),
        pv_max_w=forecast.getfloat("pv_max_w", 0.0, minval=0, maxval=100_000),
        forecast_prom=prom_file.strip(),
    )


def _arrays(top: ConfigSection, tilt: float, azimuth: float) -> tuple[ArrayConfig, ...]:
    """The `arrays` list; absent: one array with the panels' orientation (today's behaviour)."""
    raw = top.get("arrays", None)
    if raw is None:
        return (ArrayConfig(tilt_deg=tilt, azimuth_deg=azimuth),)
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ARRAYS:
        raise top.error("arrays", f"must be a list of 1..{MAX_ARRAYS} arrays, got {raw!r}", value=raw,
                        allowed=f"a list of 1..{MAX_ARRAYS} arrays")
    out: list[ArrayConfig] = []
    for index, item in enumerate(raw):
        array = ConfigSection(item, source=top.source, prefix=f"arrays[{index}].")
        array.warn_unknown(sorted(ARRAY_KEYS))
        name = array.getstr("name", DEFAULT_ARRAY_NAME if len(raw) == 1 else f"array{index + 1}")
        if not ARRAY_NAME_RE.match(name):
            raise array.error("name", f"must be 1-32 of a-z, 0-9, _ , got {name!r}", value=name,
                              allowed="1-32 of a-z, 0-9, _")
        if name == "total":
            raise array.error("name", "'total' is reserved (the MQTT topic of all arrays)", value=name)
        if any(other.name == name for other in out):
            raise array.error("name", f"{name!r} is used twice", value=name)
        out.append(ArrayConfig(
            name=name,
            tilt_deg=array.getfloat("tilt_deg", tilt, minval=0, maxval=90),
            azimuth_deg=array.getfloat("azimuth_deg", azimuth, minval=-180, maxval=180),
            peak_kw=array.getfloat("peak_kw", DEFAULT_PEAK_KW, minval=0.01, maxval=1000),
            losses_pct=array.getfloat("losses_pct", DEFAULT_LOSSES_PCT, minval=0, maxval=50),
            tracker=array.getchoice("tracker", "", TRACKERS),
        ))
    return tuple(out)


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
