"""Fixtures for the forecast tests: recorded Open-Meteo hourly bodies moved to another date, a
forecast document made by the fetcher's own code from them, and simulator-made history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from solarmon.weather.client import HourlyWeather, parse_hourly
from solarmon.weather.config import ArrayConfig, WeatherConfig
from solarmon.weather.forecast import Forecaster

DATA = Path(__file__).resolve().parents[1] / "weather" / "data"
FIRST_DAY = {"hourly_mixed_toulouse.json": date(2026, 6, 17), "hourly_cloudy_south.json": date(2026, 11, 25),
             "hourly_clear_south.json": date(2026, 6, 17)}


def redated(name: str, first_day: date) -> dict[str, Any]:
    """A recorded hourly body with its 72 stamps moved by whole days so they start at `first_day`
    (yesterday, when the test pretends it is today); the values stay as recorded."""
    data = json.loads((DATA / name).read_text(encoding="utf-8"))
    shift = timedelta(days=(first_day - FIRST_DAY[name]).days)
    data["hourly"]["time"] = [
        (datetime.fromisoformat(t) + shift).strftime("%Y-%m-%dT%H:%M") for t in data["hourly"]["time"]
    ]
    return data


class _Client:
    """The fetcher's client interface, answering from parsed bodies by plane."""

    def __init__(self, planes: dict[tuple[float, float], HourlyWeather]) -> None:
        self.planes = planes

    def fetch_hourly(self, tilt_deg: float, azimuth_deg: float) -> HourlyWeather:
        return self.planes[(tilt_deg, azimuth_deg)]


def forecast_doc(
    name: str, now: float, arrays: tuple[ArrayConfig, ...], pv_max_w: float = 0
) -> dict[str, Any]:
    """The document the fetcher would publish at `now` from body `name` (every array on its plane)."""
    today = datetime.fromtimestamp(now, UTC).date()
    weather = parse_hourly(redated(name, today - timedelta(days=1)))
    config = WeatherConfig(arrays=arrays, pv_max_w=pv_max_w)
    forecaster = Forecaster(config, _Client({(a.tilt_deg, a.azimuth_deg): weather for a in arrays}),
                            clock=lambda: now)
    assert forecaster.run(), forecaster.last_error
    assert forecaster.last is not None
    return forecaster.last
