"""The fetcher's forecast job: hourly irradiance per array from Open-Meteo, pvlib's model, publish.

Every fetch round (solarmon.weather.fetcher) runs `Forecaster.run()`: one hourly request per
distinct plane (tilt, azimuth) for yesterday, today and tomorrow, the model of
solarmon.weather.pvmodel (pvlib, imported here only: this module runs in the fetcher process), then:
- MQTT, retained: `forecast/<array>/hourly` and `forecast/hourly` (the forecast as JSON, split
  to fit the broker's 4 KiB message limit: solarmon/weather/forecast_wire.py; the web app's input) and
  `forecast/<array>/energy_today_kwh`, `.../energy_tomorrow_kwh` and `forecast/total/...` as
  plain numbers (for Home Assistant and friends);
- `forecast.prom` (Prometheus textfile, written atomically): energy per array and day, the
  current hour's power, when the forecast was made and the failures.
A failed forecast keeps the last one (its `generated_ts` says how old it is) and logs once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from solarmon.atomicfile import write_atomic
from solarmon.weather import forecast_wire as wire
from solarmon.weather.client import HourlyWeather, WeatherError
from solarmon.weather.config import WeatherConfig

LOG = logging.getLogger(__name__)

FORECAST_TOPIC = wire.INDEX_TOPIC
TOPIC_ROOT = "forecast"
TOTAL = "total"
HOUR_S = 3600
ATTRIBUTION = "Weather data by Open-Meteo.com (CC BY 4.0); PV model: pvlib"


class FetchesHourly(Protocol):
    """What the forecaster needs from a client (OpenMeteoClient in production)."""

    def fetch_hourly(self, tilt_deg: float, azimuth_deg: float) -> HourlyWeather:
        """The hourly forecast on one plane or a WeatherError."""
        ...


class Publishes(Protocol):
    """What the forecaster needs from an MQTT connection."""

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> bool:
        """Queue one message."""
        ...


def local_day_bounds(now_s: float, days_ahead: int) -> tuple[float, float]:
    """[start, end) in Unix s of the local calendar day `days_ahead` after today's."""
    today = datetime.fromtimestamp(now_s).astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    start = (today + timedelta(days=days_ahead)).replace(hour=0)
    end = (start + timedelta(days=1, hours=3)).replace(hour=0)  # DST-safe: a 23 h or 25 h day
    return start.timestamp(), end.timestamp()


def energy_kwh(hours: Sequence[dict[str, Any]], key: str, start: float, end: float) -> float:
    """kWh of one array (or `total`) over the hours that start in [start, end)."""
    wh = 0.0
    for hour in hours:
        if start <= hour["start_ts"] < end:
            wh += hour["total_w"] if key == TOTAL else hour["power_w"].get(key, 0.0)
    return round(wh / 1000.0, 3)


@dataclass
class Forecaster:
    """Builds, publishes and writes the forecast; thread-safe `snapshot()` of the last one."""

    config: WeatherConfig
    client: FetchesHourly
    publisher: Publishes | None = None
    prom_path: Path | None = None
    clock: Callable[[], float] = time.time
    last: dict[str, Any] | None = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0
    _prom_failing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> bool:
        """One forecast: fetch each plane, model, publish, write the file; True on success."""
        try:
            forecast = self.build()
        except (WeatherError, ValueError) as exc:
            with self._lock:
                first = self.last_error is None
                self.last_error = str(exc)
                self.failures += 1
            if first:
                LOG.warning("forecast failed: %s; keeping the last forecast", exc)
            self._write_prom()
            return False
        with self._lock:
            if self.last_error is not None:
                LOG.info("forecast: Open-Meteo answers again")
            self.last, self.last_error = forecast, None
            self.runs += 1
        self._publish(forecast)
        self._write_prom()
        return True

    def build(self) -> dict[str, Any]:
        """The forecast document (see docs/FORECAST.md, "forecast/hourly")."""
        from solarmon.weather.pvmodel import model_arrays  # pvlib: only where a forecast is made

        planes: dict[tuple[float, float], HourlyWeather] = {}
        for array in self.config.arrays:
            key = (array.tilt_deg, array.azimuth_deg)
            if key not in planes:
                planes[key] = self.client.fetch_hourly(*key)
        weather = [planes[(a.tilt_deg, a.azimuth_deg)] for a in self.config.arrays]
        first = weather[0]
        if any(w.start_ts != first.start_ts for w in weather):
            raise ValueError("the planes' hourly forecasts cover different hours")
        modelled = model_arrays(self.config.arrays, weather, self.config.pv_max_w)
        hours = []
        for index, start in enumerate(first.start_ts):
            power = {m.name: m.power_w[index] for m in modelled}
            temp = first.temp_c[index]
            hours.append({
                "start_ts": int(start),
                "power_w": power,
                "total_w": round(sum(power.values()), 1),
                "gti_w_m2": {m.name: m.gti_w_m2[index] for m in modelled},
                "temp_c": None if math.isnan(temp) else temp,
            })
        return {
            "generated_ts": round(self.clock(), 3),
            "location": {"name": self.config.location_name, "latitude": self.config.latitude,
                         "longitude": self.config.longitude},
            "pv_max_w": self.config.pv_max_w,
            "arrays": [
                {"name": a.name, "tilt_deg": a.tilt_deg, "azimuth_deg": a.azimuth_deg,
                 "peak_kw": a.peak_kw, "losses_pct": a.losses_pct, "tracker": a.tracker}
                for a in self.config.arrays
            ],
            "hours": hours,
            "attribution": ATTRIBUTION,
        }

    def daily(self, forecast: dict[str, Any]) -> dict[str, dict[str, float]]:
        """{array or total: {"today": kWh, "tomorrow": kWh}} by the local calendar."""
        now = self.clock()
        days = {"today": local_day_bounds(now, 0), "tomorrow": local_day_bounds(now, 1)}
        names = [a["name"] for a in forecast["arrays"]] + [TOTAL]
        return {name: {day: energy_kwh(forecast["hours"], name, *b) for day, b in days.items()}
                for name in names}

    def _publish(self, forecast: dict[str, Any]) -> None:
        if self.publisher is None:
            return
        for topic, payload in wire.split(forecast):
            self.publisher.publish(topic, payload, retain=True, qos=1)
        for name, days in self.daily(forecast).items():
            for day, kwh in days.items():
                self.publisher.publish(f"{TOPIC_ROOT}/{name}/energy_{day}_kwh", repr(kwh), retain=True, qos=1)

    def snapshot(self) -> dict[str, Any]:
        """A summary for the fetcher's `--once` output."""
        with self._lock:
            last, error = self.last, self.last_error
        return {
            "generated_ts": last["generated_ts"] if last else None,
            "hours": len(last["hours"]) if last else 0,
            "energy_kwh": self.daily(last) if last else {},
            "error": error,
        }

    def _write_prom(self) -> None:
        if self.prom_path is None:
            return
        registry = CollectorRegistry(auto_describe=False)
        with self._lock:
            registry.register(_ForecastCollector(self, self.last, self.failures))
        try:
            self.prom_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.prom_path, generate_latest(registry).decode("utf-8"), mode=0o644)
        except OSError as exc:
            if not self._prom_failing:
                LOG.warning("cannot write %s: %s", self.prom_path, exc)
            self._prom_failing = True
        else:
            self._prom_failing = False


class _ForecastCollector:
    """forecast.prom's families, from one forecast document (a fresh registry per write)."""

    def __init__(self, owner: Forecaster, forecast: dict[str, Any] | None, failures: int) -> None:
        self.owner, self.forecast, self.failures = owner, forecast, failures

    def collect(self) -> Iterator[Metric]:
        """Energy per array and day, the current hour's power, the forecast's time, failures."""
        energy = GaugeMetricFamily("solarmon_forecast_energy_kwh", "Forecast PV energy of a local day",
                                   labels=["array", "day"])
        power = GaugeMetricFamily("solarmon_forecast_power_watts",
                                  "Forecast mean PV power of the current hour", labels=["array"])
        made = GaugeMetricFamily("solarmon_forecast_generated_timestamp_seconds",
                                 "When the forecast was made (Unix time)")
        if self.forecast is not None:
            for name, days in self.owner.daily(self.forecast).items():
                for day, kwh in days.items():
                    energy.add_metric([name, day], kwh)
            now = self.owner.clock()
            for hour in self.forecast["hours"]:
                if hour["start_ts"] <= now < hour["start_ts"] + HOUR_S:
                    for name, watts in hour["power_w"].items():
                        power.add_metric([name], watts)
                    power.add_metric([TOTAL], hour["total_w"])
            made.add_metric([], self.forecast["generated_ts"])
        yield energy
        yield power
        yield made
        failed = CounterMetricFamily("solarmon_forecast_failures", "Forecast rounds that failed")
        failed.add_metric([], self.failures)
        yield failed
