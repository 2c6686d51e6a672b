"""The demo's world around the inverter: rooms and the weather outside.

Every value is a smooth function of the simulated time (and, for the weather's sun, of the plant
model's cloudiness), so the generated history and the live publishers tell one story and
meet without a step. The curves are plain shapes: the outdoor temperature peaks mid-afternoon, the
rooms follow with a heating schedule, slow multi-day drifts stand in for fronts passing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from solarmon.simulator.environment import clear_sky_fraction

DAY_S = 86400.0
# Rooms with a sensor board each: (name, heating set point °C, humidity base %).
ROOMS: tuple[tuple[str, float, float], ...] = (
    ("living_room", 21.0, 45.0),
    ("bedroom", 18.5, 50.0),
    ("kitchen", 20.0, 55.0),
)
PRESSURE_ROOM = "living_room"  # the one board with a barometer
PEAK_IRRADIANCE_W_M2 = 1000.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor value: the name below its MQTT root, the number, the unit."""

    name: str
    value: float
    unit: str


class World:
    """The deterministic world of one demo seed: ``house(when)``, ``weather(when, cloud)``."""

    def __init__(self, seed: int = 1) -> None:
        rng = random.Random(seed ^ 0xD3E0)
        # Phases of the slow drifts: fixed for the seed.
        self._phases = [rng.uniform(0.0, 2.0 * math.pi) for _ in range(8)]

    def _drift(self, ts: float, index: int, period_days: float) -> float:
        """A slow wave in -1..1 (a front passing): smooth, so a value never jumps."""
        return math.sin(2.0 * math.pi * ts / (period_days * DAY_S) + self._phases[index])

    @staticmethod
    def _hour(when: datetime) -> float:
        return when.hour + when.minute / 60.0 + when.second / 3600.0

    def outdoor_c(self, when: datetime) -> float:
        """Air temperature outside: coolest before dawn, warmest mid-afternoon, fronts on top."""
        ts = when.timestamp()
        daily = 6.0 * math.sin(2.0 * math.pi * (self._hour(when) - 9.0) / 24.0)
        return 11.0 + daily + 4.0 * self._drift(ts, 0, 5.3) + 1.5 * self._drift(ts, 1, 1.7)

    def pressure_hpa(self, when: datetime) -> float:
        """Sea-level pressure drifting with the weather systems."""
        ts = when.timestamp()
        return 1014.0 + 9.0 * self._drift(ts, 2, 4.1) + 2.0 * self._drift(ts, 3, 1.3)

    def house(self, when: datetime) -> list[Reading]:
        """Each room's temperature and humidity, and the living room's pressure."""
        hour, outdoor = self._hour(when), self.outdoor_c(when)
        readings = []
        for index, (room, set_point, humidity) in enumerate(ROOMS):
            # Heated mornings and evenings, a cooler night, a little of the outside coming in.
            heating = (0.9 * math.exp(-(((hour - 7.5) / 1.5) ** 2))
                       + 1.2 * math.exp(-(((hour - 19.0) / 2.5) ** 2)))
            cooking = 1.5 * math.exp(-(((hour - 18.5) / 0.8) ** 2)) if room == "kitchen" else 0.0
            night = -1.0 * math.exp(-(((hour - 4.0) / 2.5) ** 2))
            temperature = set_point + heating + cooking + night + 0.08 * (outdoor - 11.0)
            temperature += 0.3 * self._drift(when.timestamp(), 4 + index, 0.9)
            rh = humidity - 1.5 * (temperature - set_point) + 6.0 * self._drift(when.timestamp(), 7, 3.7)
            rh += 10.0 * math.exp(-(((hour - 7.0) / 0.6) ** 2)) if room == "bedroom" else 0.0
            readings.append(Reading(f"{room}/temperature", round(temperature, 2), "°C"))
            readings.append(Reading(f"{room}/humidity", round(min(95.0, max(20.0, rh)), 1), "%"))
        readings.append(Reading(f"{PRESSURE_ROOM}/pressure", round(self.pressure_hpa(when) - 3.0, 1), "hPa"))
        return readings

    def weather(self, when: datetime, cloud: float) -> dict[str, float]:
        """Open-Meteo's current variables (its own names) for the time and the model's cloudiness."""
        ts = when.timestamp()
        temperature = self.outdoor_c(when)
        wind = 9.0 + 6.0 * self._drift(ts, 5, 2.3) + 4.0 * cloud
        radiation = PEAK_IRRADIANCE_W_M2 * clear_sky_fraction(when) * (1.0 - 0.8 * cloud)
        humidity = min(100.0, max(15.0, 70.0 - 2.0 * (temperature - 11.0) + 20.0 * cloud))
        code = 0 if cloud < 0.15 else 1 if cloud < 0.35 else 2 if cloud < 0.65 else 3
        return {
            "temperature_2m": round(temperature, 1),
            "relative_humidity_2m": round(humidity),
            "apparent_temperature": round(temperature - 0.15 * wind + 0.02 * humidity - 1.0, 1),
            "precipitation": 0.0,
            "rain": 0.0,
            "weather_code": code,
            "cloud_cover": round(100.0 * cloud),
            "pressure_msl": round(self.pressure_hpa(when), 1),
            "wind_speed_10m": round(wind, 1),
            "wind_direction_10m": round((225.0 + 60.0 * self._drift(ts, 6, 2.9)) % 360.0),
            "wind_gusts_10m": round(wind * 1.8, 1),
            "shortwave_radiation": round(radiation, 1),
            "global_tilted_irradiance": round(radiation * 1.08, 1),
        }
