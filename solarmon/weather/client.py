"""Open-Meteo forecast API client: current conditions and irradiance on the panels' plane.

The only code that speaks HTTP to Open-Meteo. It returns an `Observation` and raises the
project's own `WeatherError` subclasses: `WeatherApiError` (a 4xx with Open-Meteo's
`{"error": true, "reason": ...}`: our request is wrong, retrying will not help),
`WeatherUnavailable` (429, 5xx, timeouts, connection errors: retried with exponential backoff,
honouring Retry-After) and `WeatherDecodeError` (a 200 whose body does not fit).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from solarmon.weather.config import WeatherConfig

LOG = logging.getLogger(__name__)

# Open-Meteo variable -> our name (the MQTT topic weather/<name>, the key in /api/weather).
VARIABLES: dict[str, str] = {
    "temperature_2m": "temperature",
    "relative_humidity_2m": "humidity",
    "apparent_temperature": "apparent_temperature",
    "precipitation": "precipitation",
    "rain": "rain",
    "weather_code": "weather_code",
    "cloud_cover": "cloud_cover",
    "pressure_msl": "pressure",
    "wind_speed_10m": "wind_speed",
    "wind_direction_10m": "wind_direction",
    "wind_gusts_10m": "wind_gusts",
    "shortwave_radiation": "shortwave_radiation",
    "global_tilted_irradiance": "tilted_irradiance",
}
# The hourly forecast's variables (Open-Meteo names); radiation is the mean of the hour that ENDS
# at the stamped time (Open-Meteo: "preceding hour mean"), temperature and wind are instants.
HOURLY_VARIABLES = ("global_tilted_irradiance", "temperature_2m", "wind_speed_10m")
HOUR_S = 3600
MAX_RETRY_AFTER_S = 300.0
MAX_REASON_CHARS = 300


class WeatherError(Exception):
    """A failed fetch; `kind` is stable for counters and /api/status."""

    kind = "error"


class WeatherApiError(WeatherError):
    """Open-Meteo refused the request (4xx other than 429), with its reason."""

    kind = "api"

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


class WeatherUnavailable(WeatherError):
    """Rate limited, server error, timeout or no connection, after the retries."""

    kind = "unavailable"


class WeatherDecodeError(WeatherError):
    """A successful response whose body is not the expected JSON."""

    kind = "decode"


@dataclass(frozen=True)
class Observation:
    """Current conditions: `values` and `units` by our names, `ts` the model time (Unix s)."""

    time: str
    ts: float
    values: dict[str, float]
    units: dict[str, str]
    latitude: float
    longitude: float
    missing: tuple[str, ...] = field(default=())


def _reason(response: requests.Response) -> str:
    """Open-Meteo's error reason, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_REASON_CHARS].strip() or response.reason or "no reason given"
    if isinstance(body, dict) and body.get("reason"):
        return str(body["reason"])[:MAX_REASON_CHARS]
    return str(body)[:MAX_REASON_CHARS]


def parse_observation(body: Any) -> Observation:
    """Turn a forecast response body (parsed JSON) into an Observation; WeatherDecodeError if not."""
    if not isinstance(body, dict):
        raise WeatherDecodeError(f"expected a JSON object, got {type(body).__name__}")
    current, units = body.get("current"), body.get("current_units") or {}
    if not isinstance(current, dict) or not isinstance(units, dict):
        raise WeatherDecodeError('response has no "current" object')
    absent = [var for var in VARIABLES if var not in current]
    if absent or "time" not in current:
        raise WeatherDecodeError(f"response lacks current.{', current.'.join(absent or ['time'])}")
    try:
        local = datetime.fromisoformat(str(current["time"])).replace(tzinfo=UTC)
        ts = local.timestamp() - float(body.get("utc_offset_seconds") or 0)
    except (TypeError, ValueError) as exc:
        raise WeatherDecodeError(f"current.time {current['time']!r} is not an ISO time") from exc
    values, out_units, missing = {}, {}, []
    for var, name in VARIABLES.items():
        raw = current[var]
        if raw is None:
            # Open-Meteo sends null where a model has no value: skip it, keep the others.
            missing.append(name)
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise WeatherDecodeError(f"current.{var} is not a finite number: {raw!r}")
        values[name] = float(raw)
        out_units[name] = str(units.get(var, ""))
    return Observation(
        time=str(current["time"]),
        ts=ts,
        values=values,
        units=out_units,
        latitude=float(body.get("latitude", math.nan)),
        longitude=float(body.get("longitude", math.nan)),
        missing=tuple(missing),
    )


@dataclass(frozen=True)
class HourlyWeather:
    """Hourly forecast on one plane: `start_ts[i]` begins hour i (Unix s, UTC); NaN where null."""

    start_ts: tuple[float, ...]
    gti_w_m2: tuple[float, ...]
    temp_c: tuple[float, ...]
    wind_m_s: tuple[float, ...]
    latitude: float
    longitude: float


def _series(hourly: dict[str, Any], var: str, count: int) -> tuple[float, ...]:
    values = hourly.get(var)
    if not isinstance(values, list) or len(values) != count:
        raise WeatherDecodeError(f"hourly.{var} is not a list of {count} values")
    out = []
    for raw in values:
        if raw is None:
            out.append(math.nan)  # a model without a value for that hour
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise WeatherDecodeError(f"hourly.{var} holds {raw!r}, not a number")
        else:
            out.append(float(raw))
    return tuple(out)


def parse_hourly(body: Any) -> HourlyWeather:
    """Turn an hourly forecast body into HourlyWeather; WeatherDecodeError if it does not fit."""
    if not isinstance(body, dict) or not isinstance(body.get("hourly"), dict):
        raise WeatherDecodeError('response has no "hourly" object')
    hourly = body["hourly"]
    times = hourly.get("time")
    if not isinstance(times, list) or not times:
        raise WeatherDecodeError("hourly.time is not a non-empty list")
    offset = float(body.get("utc_offset_seconds") or 0)
    try:
        # Radiation is the preceding hour's mean: the hour stamped T runs from T - 1 h to T.
        starts = tuple(
            datetime.fromisoformat(str(t)).replace(tzinfo=UTC).timestamp() - offset - HOUR_S for t in times
        )
    except ValueError as exc:
        raise WeatherDecodeError(f"hourly.time holds a value that is not an ISO time: {exc}") from exc
    return HourlyWeather(
        start_ts=starts,
        gti_w_m2=_series(hourly, "global_tilted_irradiance", len(times)),
        temp_c=_series(hourly, "temperature_2m", len(times)),
        wind_m_s=_series(hourly, "wind_speed_10m", len(times)),
        latitude=float(body.get("latitude", math.nan)),
        longitude=float(body.get("longitude", math.nan)),
    )


@dataclass
class OpenMeteoClient:
    """Fetch current conditions for the configured place; `sleep` is injectable for tests."""

    config: WeatherConfig
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep

    def params(self) -> dict[str, str]:
        """The query string: place, variables, the panels' tilt and azimuth, metric units."""
        return {
            "latitude": f"{self.config.latitude:.4f}",
            "longitude": f"{self.config.longitude:.4f}",
            "current": ",".join(VARIABLES),
            "tilt": f"{self.config.tilt_deg:g}",
            "azimuth": f"{self.config.azimuth_deg:g}",
            "timezone": "GMT",
        }

    def fetch(self) -> Observation:
        """One observation, retrying 429 / 5xx / timeouts with exponential backoff."""
        return parse_observation(self._get_json(self.params()))

    def hourly_params(self, tilt_deg: float, azimuth_deg: float) -> dict[str, str]:
        """The hourly forecast query for one plane: yesterday, today and tomorrow (UTC hours)."""
        return {
            "latitude": f"{self.config.latitude:.4f}",
            "longitude": f"{self.config.longitude:.4f}",
            "hourly": ",".join(HOURLY_VARIABLES),
            "tilt": f"{tilt_deg:g}",
            "azimuth": f"{azimuth_deg:g}",
            "wind_speed_unit": "ms",
            "past_days": "1",
            "forecast_days": "2",
            "timezone": "GMT",
        }

    def fetch_hourly(self, tilt_deg: float, azimuth_deg: float) -> HourlyWeather:
        """The hourly forecast on one plane, with the same retries as `fetch`."""
        return parse_hourly(self._get_json(self.hourly_params(tilt_deg, azimuth_deg)))

    def _get_json(self, params: dict[str, str]) -> Any:
        """GET with `params`, retrying 429 / 5xx / timeouts with exponential backoff; the JSON body."""
        attempts = self.config.retries + 1
        last: WeatherError | None = None
        for attempt in range(attempts):
            if attempt:
                delay = self.config.backoff_s * 2 ** (attempt - 1)
                if isinstance(last, _RetryAfter) and last.retry_after_s is not None:
                    delay = max(delay, last.retry_after_s)
                LOG.info("weather: retry %d/%d in %.1f s after: %s", attempt, attempts - 1, delay, last)
                self.sleep(delay)
            try:
                return self._fetch_one(params)
            except _RetryAfter as exc:
                last = exc
        assert last is not None
        raise WeatherUnavailable(str(last)) from last

    def _fetch_one(self, params: dict[str, str]) -> Any:
        try:
            response = self.session.get(self.config.base_url, params=params, timeout=self.config.timeout_s)
        except requests.Timeout as exc:
            raise _RetryAfter(f"no answer within {self.config.timeout_s:g} s", None) from exc
        except requests.RequestException as exc:
            raise _RetryAfter(f"cannot reach {self.config.base_url}: {type(exc).__name__}", None) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _RetryAfter(f"HTTP {response.status_code}: {_reason(response)}", _retry_after(response))
        if response.status_code != 200:
            raise WeatherApiError(response.status_code, _reason(response))
        try:
            body = response.json()
        except ValueError as exc:
            raise WeatherDecodeError(f"body is not JSON: {response.text[:80]!r}") from exc
        return body


class _RetryAfter(WeatherError):
    """Internal: a retryable failure, with the server's Retry-After if it sent one."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return min(float(value), MAX_RETRY_AFTER_S)
    except ValueError:
        return None
