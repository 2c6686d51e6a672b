"""The world outside the inverter: sunshine by time of day and season, clouds, and the household load.

Everything random draws from a ``random.Random`` handed in by the caller, so one seed gives one
reproducible day. The curves are plain textbook shapes, tuned to look like a real site's charts:
a clear-sky bell from sunrise to sunset, clouds as a mean-reverting random walk that dims it,
and a load with a night base, a morning and an evening peak and the odd kettle.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

# Clouds revert to their mean over about two hours; sigma sets how fast they drift.
CLOUD_REVERSION_PER_S = 1.0 / 7200.0
CLOUD_SIGMA_PER_SQRT_S = 0.012
# A cloud in front of the sun takes this share of the clear-sky power at cloudiness 1.
CLOUD_MAX_DIMMING = 0.8
# Kettles, washing machines: a few appliance bursts a day.
BURST_RATE_PER_S = 4.0 / 86400.0
BURST_MIN_S = 120.0
BURST_MAX_S = 900.0


def day_length_h(when: datetime) -> float:
    """Hours of daylight at a mid-northern latitude: 8 h at midwinter, 16 h at midsummer."""
    day_of_year = when.timetuple().tm_yday
    return 12.0 + 4.0 * math.sin(2.0 * math.pi * (day_of_year - 80) / 365.0)


def clear_sky_fraction(when: datetime) -> float:
    """Share (0..1) of the array's peak power a cloudless sky gives at ``when`` (solar noon = 12:00)."""
    hour = when.hour + when.minute / 60.0 + when.second / 3600.0
    length = day_length_h(when)
    sunrise = 12.0 - length / 2.0
    if not sunrise < hour < sunrise + length:
        return 0.0
    elevation = math.sin(math.pi * (hour - sunrise) / length)
    # Winter sun stands lower: scale the noon peak with the day length.
    season = 0.55 + 0.45 * (length - 8.0) / 8.0
    return season * elevation**1.3


def household_load_w(when: datetime, scale: float) -> float:
    """The typical household draw at ``when`` before noise, for a site sized by ``scale`` (1 = 5 kW unit)."""
    hour = when.hour + when.minute / 60.0
    base = 250.0
    morning = 600.0 * math.exp(-(((hour - 7.5) / 1.0) ** 2))
    midday = 250.0 * math.exp(-(((hour - 13.0) / 2.5) ** 2))
    evening = 1100.0 * math.exp(-(((hour - 19.5) / 1.8) ** 2))
    return scale * (base + morning + midday + evening)


@dataclass(slots=True)
class Weather:
    """Cloudiness 0 (clear) .. 1 (overcast) drifting around ``mean`` unless pinned."""

    cloud: float = 0.3
    mean: float = 0.3
    pinned: bool = False

    def step(self, rng: random.Random, dt_s: float) -> None:
        """Advance the random walk by ``dt_s`` seconds (no draw for a zero step: re-evaluation only)."""
        if self.pinned or dt_s <= 0:
            return
        drift = (self.mean - self.cloud) * CLOUD_REVERSION_PER_S * dt_s
        noise = CLOUD_SIGMA_PER_SQRT_S * math.sqrt(dt_s) * rng.gauss(0.0, 1.0)
        self.cloud = min(1.0, max(0.0, self.cloud + drift + noise))

    def pv_fraction(self, when: datetime, flicker: float) -> float:
        """Share of the array's peak power available now: clear sky dimmed by cloud, times ``flicker``."""
        clear = clear_sky_fraction(when)
        if clear <= 0.0:
            return 0.0
        return max(0.0, clear * (1.0 - CLOUD_MAX_DIMMING * self.cloud) * flicker)


@dataclass(slots=True)
class Household:
    """The loads behind the inverter: a daily profile, noise, and appliance bursts."""

    scale: float = 1.0
    noise_w: float = 0.0
    burst_w: float = 0.0
    burst_left_s: float = 0.0
    fixed_w: float | None = None  # set by the control socket: the load stays at this value
    power_factor: float = 0.9

    def step(self, rng: random.Random, dt_s: float) -> None:
        """Advance noise and bursts by ``dt_s`` seconds (nothing for a zero step)."""
        if dt_s <= 0:
            return
        # Noise is a slow random walk pulled back to zero, so the chart looks like a real meter.
        self.noise_w += -self.noise_w * min(1.0, dt_s / 300.0) + 40.0 * math.sqrt(dt_s / 60.0) * rng.gauss(
            0, 1
        )
        self.burst_left_s = max(0.0, self.burst_left_s - dt_s)
        if self.burst_left_s == 0.0:
            self.burst_w = 0.0
            if rng.random() < BURST_RATE_PER_S * dt_s:
                self.burst_w = self.scale * rng.uniform(800.0, 2000.0)
                self.burst_left_s = rng.uniform(BURST_MIN_S, BURST_MAX_S)
        self.power_factor = min(0.99, max(0.75, self.power_factor + 0.01 * rng.gauss(0.0, 1.0)))

    def demand_w(self, when: datetime) -> float:
        """Active power the loads draw now (W)."""
        if self.fixed_w is not None:
            return self.fixed_w
        return max(40.0, household_load_w(when, self.scale) + self.noise_w + self.burst_w)
