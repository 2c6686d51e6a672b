"""The demo's local HTTP server: Open-Meteo for the real weather fetcher, and an inbox for alerts.

- `GET /v1/forecast?...` answers like Open-Meteo's forecast endpoint: a recorded response body
  (`open_meteo_current.json`, GMT) with `current` filled from the demo world at this moment, so
  `weather_fetcher.py` itself fetches, parses and publishes it. A query for `hourly=` (the PV
  forecast: yesterday, today and tomorrow, docs/FORECAST.md) gets the same body with an `hourly`
  block instead: the world's irradiance on the plane, air temperature and wind per hour, under a
  cloudiness that starts at the sky's current one and relaxes to the simulator's mean with the
  lead time (persistence, then climatology: a forecast that is right now and vaguer later).
- `POST /notify` is an apprise `json://` target: every notification's JSON body is appended, with
  the time it arrived, as one line to the notifications file (`notifications.jsonl`).
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from solarmon.demo.world import World
from solarmon.simulator.environment import CLOUD_REVERSION_PER_S, Weather

BODY_FILE = Path(__file__).with_name("open_meteo_current.json")
FORECAST_PATH = "/v1/forecast"
NOTIFY_PATH = "/notify"
MAX_BODY_BYTES = 65536
OPEN_METEO_INTERVAL_S = 900  # Open-Meteo's "current" is a 15-minute value
HOUR_S = 3600
HOURLY_DAYS = 3  # past_days=1, forecast_days=2: yesterday, today, tomorrow (GMT)
MEAN_CLOUD = Weather().mean  # the simulator's cloudiness drifts back to this
KMH_PER_MS = 3.6


class DemoHttp:
    """Serves both endpoints on 127.0.0.1 (`start()` / `stop()`); `weather_now()` gives
    Open-Meteo's current variables for the demo's time and cloudiness."""

    def __init__(self, weather_now: Callable[[], dict[str, float]], notifications: Path,
                 weather_at: Callable[[float], dict[str, float]] | None = None) -> None:
        """`weather_at(ts)` (Open-Meteo's variables at Unix time `ts`) enables the hourly forecast."""
        self._weather_now = weather_now
        self._weather_at = weather_at
        self._notifications = notifications
        self._lock = threading.Lock()
        self._template = json.loads(BODY_FILE.read_text())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on (after `start()`)."""
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    def forecast_body(self, now: float | None = None) -> dict[str, Any]:
        """The Open-Meteo response for the current 15-minute slot (its `time` in GMT)."""
        now = time.time() if now is None else now
        slot = datetime.fromtimestamp(now - now % OPEN_METEO_INTERVAL_S, UTC)
        body = copy.deepcopy(self._template)
        body["current"] = {"time": slot.strftime("%Y-%m-%dT%H:%M"), "interval": OPEN_METEO_INTERVAL_S,
                           **self._weather_now()}
        return body

    def hourly_body(self, now: float | None = None) -> dict[str, Any]:
        """Open-Meteo's hourly answer for yesterday, today and tomorrow (GMT): each hour stamped
        with its start, its radiation the mean of the hour before the stamp, as Open-Meteo does."""
        assert self._weather_at is not None, "no weather_at: the hourly forecast is off"
        now = time.time() if now is None else now
        first = now - now % 86400 - 86400
        times, gti, temp, wind = [], [], [], []
        for hour in range(24 * HOURLY_DAYS):
            stamp = first + hour * HOUR_S
            mean_of_hour = self._weather_at(stamp - HOUR_S / 2)  # the hour that ends at the stamp
            at_stamp = self._weather_at(stamp)
            times.append(datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M"))
            gti.append(mean_of_hour["global_tilted_irradiance"])
            temp.append(at_stamp["temperature_2m"])
            wind.append(round(at_stamp["wind_speed_10m"] / KMH_PER_MS, 1))
        body = {k: v for k, v in copy.deepcopy(self._template).items()
                if k not in ("current", "current_units")}
        body["hourly_units"] = {"time": "iso8601", "global_tilted_irradiance": "W/m²", "temperature_2m": "°C",
                                "wind_speed_10m": "m/s"}
        body["hourly"] = {"time": times, "global_tilted_irradiance": gti, "temperature_2m": temp,
                          "wind_speed_10m": wind}
        return body

    def record(self, payload: bytes) -> None:
        """Append one notification (its JSON, or its text when it is not JSON) to the file."""
        try:
            body: Any = json.loads(payload)
        except ValueError:
            body = payload.decode("utf-8", "replace")
        line = json.dumps({"received": datetime.now(UTC).isoformat(timespec="seconds"), "body": body})
        with self._lock, self._notifications.open("a") as out:
            out.write(line + "\n")

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and serve from a thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(app: DemoHttp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the fetcher and apprise log on their side."""

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != FORECAST_PATH:
                self._answer(404, {"error": True, "reason": f"no such endpoint {self.path}"})
                return
            if "hourly=" in self.path and app._weather_at is not None:
                self._answer(200, app.hourly_body())
                return
            self._answer(200, app.forecast_body())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path.split("?", 1)[0] != NOTIFY_PATH or not 0 < length <= MAX_BODY_BYTES:
                self._answer(404 if self.path != NOTIFY_PATH else 413, {"error": True})
                return
            app.record(self.rfile.read(length))
            self._answer(200, {"ok": True})

    return Handler


def weather_source(
    world: World, cloud: Callable[[], float], when: Callable[[], datetime]
) -> Callable[[], dict[str, float]]:
    """A `weather_now` for DemoHttp: the world's weather at the demo's time and cloudiness."""
    return lambda: world.weather(when(), cloud())


def weather_forecast(
    world: World, cloud: Callable[[], float], to_model: Callable[[float], datetime],
    clock: Callable[[], float] = time.time,
) -> Callable[[float], dict[str, float]]:
    """A `weather_at` for DemoHttp: the world's weather at Unix time `ts` (in the demo's clock,
    `to_model`) under the cloudiness expected then: today's relaxing to the mean with the lead
    time at the simulator's own rate (the past alike: the stand-in keeps no record of it)."""

    def at(ts: float) -> dict[str, float]:
        lead_s = abs(ts - clock())
        expected = MEAN_CLOUD + (cloud() - MEAN_CLOUD) * math.exp(-lead_s * CLOUD_REVERSION_PER_S)
        return world.weather(to_model(ts), expected)

    return at
