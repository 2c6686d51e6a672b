"""The weather fetcher service: fetch every `interval_s`, publish to MQTT, keep last values.

The forecast (solarmon/weather/forecast.py) runs after the current conditions in each round.

Publishes, all retained so a subscriber that connects later gets the latest picture:
- `weather/<name>`: each value as a plain number (`-3.4`);
- `weather/current`: the whole set as JSON (values, units, time, location, stale flag, error);
- `weather/status`: `online` while connected, `offline` as the last will / on stop.

On failure the last values are kept, `weather/current` is re-published with `"stale": true` and
the error, and the service keeps running. Errors are logged once per transition.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from solarmon.weather.client import Observation, WeatherApiError, WeatherError
from solarmon.weather.config import WeatherConfig
from solarmon.weather.forecast import Forecaster

LOG = logging.getLogger(__name__)

TOPIC_ROOT = "weather"
STATUS_TOPIC = "weather/status"
DIGEST_TOPIC = "weather/current"
ATTRIBUTION = "Weather data by Open-Meteo.com (CC BY 4.0)"


class Fetches(Protocol):
    """What the fetcher needs from a client (OpenMeteoClient in production)."""

    def fetch(self) -> Observation:
        """One observation or a WeatherError."""
        ...


class Publishes(Protocol):
    """What the fetcher needs from an MQTT connection (MqttConnection in production)."""

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> bool:
        """Queue one message."""
        ...


@dataclass
class WeatherFetcher:
    """Fetch-and-publish loop; `start()` runs it on a thread, `fetch_once()` runs one round."""

    config: WeatherConfig
    client: Fetches
    publisher: Publishes | None = None
    forecaster: Forecaster | None = None
    clock: Callable[[], float] = time.time
    last: Observation | None = None
    last_ok_s: float | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    fetches: int = 0
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fetch_once(self) -> bool:
        """Fetch and publish current conditions, then the forecast (when configured); on failure
        keep the last values, mark them stale; True when both succeeded."""
        ok = self._fetch_current()
        if self.forecaster is not None:
            ok = self.forecaster.run() and ok
        return ok

    def _fetch_current(self) -> bool:
        try:
            observation = self.client.fetch()
        except WeatherError as exc:
            self._failed(exc)
            return False
        with self._lock:
            recovered = self.last_error is not None
            self.last, self.last_ok_s = observation, self.clock()
            self.last_error = self.last_error_kind = None
            self.fetches += 1
        if recovered:
            LOG.info("weather: Open-Meteo answers again")
        if observation.missing:
            LOG.info("weather: no value for %s in this response", ", ".join(observation.missing))
        self._publish(observation)
        return True

    def _failed(self, exc: WeatherError) -> None:
        with self._lock:
            first = self.last_error_kind != exc.kind
            self.last_error, self.last_error_kind = str(exc), exc.kind
            self.failures += 1
        if first:
            # A 4xx means our request is wrong: the reason tells the user which setting to fix.
            hint = " (check weather.yaml)" if isinstance(exc, WeatherApiError) else ""
            LOG.warning("weather fetch failed: %s%s; keeping the last values as stale", exc, hint)
        self._publish_digest()

    def _publish(self, observation: Observation) -> None:
        if self.publisher is None:
            return
        # The digest first: it carries the units a subscriber attaches to the bare numbers after it.
        self._publish_digest()
        for name, value in observation.values.items():
            self.publisher.publish(f"{TOPIC_ROOT}/{name}", _number(value), retain=True, qos=1)

    def _publish_digest(self) -> None:
        if self.publisher is not None:
            self.publisher.publish(DIGEST_TOPIC, json.dumps(self.digest()), retain=True, qos=1)

    def digest(self) -> dict[str, Any]:
        """The JSON published on weather/current (and shown by `--once`)."""
        with self._lock:
            obs = self.last
            return {
                "location": {
                    "name": self.config.location_name,
                    "latitude": self.config.latitude,
                    "longitude": self.config.longitude,
                },
                "panels": {"tilt_deg": self.config.tilt_deg, "azimuth_deg": self.config.azimuth_deg},
                "time": obs.time if obs else None,
                "ts": obs.ts if obs else None,
                "fetched_ts": self.last_ok_s,
                "values": dict(obs.values) if obs else {},
                "units": dict(obs.units) if obs else {},
                "stale": self.last_error is not None or obs is None,
                "error": self.last_error,
                "attribution": ATTRIBUTION,
            }

    def start(self) -> None:
        """Run fetch_once now and then every interval_s on a thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="weather-fetcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop (returns within one HTTP timeout at worst)."""
        self._stop.set()
        if self._thread is not None:
            # Retry sleeps end at once (they wait on the stop event); an HTTP request in flight
            # may take up to timeout_s. Well inside systemd's TimeoutStopSec (30 s).
            self._thread.join(timeout=min(self.config.timeout_s + 1, 20))
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.fetch_once()
            self._stop.wait(self.config.interval_s)

    def wait(self, timeout_s: float) -> bool:
        """Sleep that ends early on stop(): the client uses it between retries."""
        return self._stop.wait(timeout_s)


def _number(value: float) -> str:
    """A plain number: integers without `.0` (weather_code 3, not 3.0)."""
    return str(int(value)) if value.is_integer() else repr(value)
