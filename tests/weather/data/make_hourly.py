"""Regenerate the hourly Open-Meteo bodies (hourly_*.json) of this folder: see README.md.

    .venv/bin/python tests/weather/data/make_hourly.py

Clear-sky irradiance from pvlib (Ineichen model with Linke turbidity from pvlib's climatology)
transposed onto the array's plane (Hay-Davies), averaged over each preceding hour as Open-Meteo
does, then dimmed hour by hour by a seeded cloud factor; temperature a diurnal sine, wind a seeded
walk. The JSON has exactly the fields and order of a real `hourly=` answer with
`wind_speed_unit=ms&timezone=GMT&past_days=1&forecast_days=2`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

HERE = Path(__file__).parent

# name: (lat, lon, elevation, tilt, Open-Meteo azimuth, first day, cloud factor range, mean temp C)
CASES = {
    "hourly_clear_south.json": (43.7776, -72.8145, 262.0, 40, 0, "2026-06-17", (0.92, 1.0), 21.0),
    "hourly_cloudy_south.json": (43.7776, -72.8145, 262.0, 40, 0, "2026-11-25", (0.12, 0.35), -2.0),
    "hourly_southern_north_facing.json": (-33.8688, 151.2093, 39.0, 30, 180, "2026-12-20", (0.85, 1.0), 24.0),
    "hourly_east.json": (43.7776, -72.8145, 262.0, 30, -90, "2026-06-17", (0.6, 1.0), 21.0),
    "hourly_west.json": (43.7776, -72.8145, 262.0, 30, 90, "2026-06-17", (0.6, 1.0), 21.0),
    "hourly_mixed_toulouse.json": (43.6047, 1.4442, 146.0, 35, 0, "2026-06-17", (0.4, 1.0), 22.0),
}


def hourly_gti(lat: float, lon: float, elevation: float, tilt: float, om_azimuth: float,
               first_day: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """72 hourly stamps (UTC) and the clear-sky plane irradiance of the hour ending at each."""
    stamps = pd.date_range(first_day, periods=72, freq="1h", tz="UTC")
    minutes = pd.date_range(stamps[0] - pd.Timedelta("1h"), stamps[-1], freq="1min", tz="UTC")
    site = pvlib.location.Location(lat, lon, altitude=elevation)
    sun = site.get_solarposition(minutes)
    sky = site.get_clearsky(minutes, model="ineichen")
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=tilt, surface_azimuth=180.0 + om_azimuth,  # Open-Meteo 0 = south = pvlib 180
        solar_zenith=sun["apparent_zenith"], solar_azimuth=sun["azimuth"],
        dni=sky["dni"], ghi=sky["ghi"], dhi=sky["dhi"], model="haydavies",
        dni_extra=pvlib.irradiance.get_extra_radiation(minutes),
    )["poa_global"].fillna(0.0).clip(lower=0.0)
    # The value stamped T is the mean of (T - 1 h, T]: label each hour by its right edge.
    means = poa.iloc[1:].resample("1h", label="right", closed="right").mean()
    return stamps, means.reindex(stamps).fillna(0.0).to_numpy()


def body(lat: float, lon: float, elevation: float, tilt: float, om_azimuth: float, first_day: str,
         clouds: tuple[float, float], mean_c: float, seed: int) -> dict[str, object]:
    """One Open-Meteo hourly response."""
    rng = random.Random(seed)
    stamps, gti = hourly_gti(lat, lon, elevation, tilt, om_azimuth, first_day)
    factor = [rng.uniform(*clouds) for _ in stamps]
    local_hour = (stamps.hour + lon / 15.0) % 24
    temp = mean_c + 5.0 * np.sin(2 * np.pi * (local_hour - 9.0) / 24.0)
    wind, winds = 3.0, []
    for _ in stamps:
        wind = min(12.0, max(0.2, wind + rng.gauss(0.0, 0.6)))
        winds.append(round(wind, 2))
    return {
        "latitude": round(lat, 6), "longitude": round(lon, 6), "generationtime_ms": 0.2379417419433594,
        "utc_offset_seconds": 0, "timezone": "GMT", "timezone_abbreviation": "GMT", "elevation": elevation,
        "hourly_units": {"time": "iso8601", "global_tilted_irradiance": "W/m²", "temperature_2m": "°C",
                         "wind_speed_10m": "m/s"},
        "hourly": {
            "time": [t.strftime("%Y-%m-%dT%H:%M") for t in stamps],
            "global_tilted_irradiance": [round(float(g * f), 1) for g, f in zip(gti, factor, strict=True)],
            "temperature_2m": [round(float(t), 1) for t in temp],
            "wind_speed_10m": winds,
        },
    }


def main() -> None:
    """Write every case."""
    for seed, (name, case) in enumerate(CASES.items(), start=1):
        (HERE / name).write_text(json.dumps(body(*case, seed=seed), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
