"""The PV model: hourly plane-of-array irradiance and weather -> each array's power, with pvlib.

Runs in the weather fetcher only (pvlib brings numpy, pandas and scipy; the web app stays small).
Per array and hour:
1. cell temperature from irradiance, air temperature and wind (pvlib's Faiman model, the
   PVsyst-style heat balance of an open-rack module);
2. DC power with pvlib's PVWatts model: `peak_kw` at 1000 W/m2 and 25 C, scaled linearly with
   irradiance and by -0.37 %/K of cell temperature (a typical crystalline module);
3. system losses (`losses_pct`: wiring, soiling, mismatch, the charger's MPPT) as one factor;
4. clipping: all arrays together never exceed the inverter's rated PV power (`pv_max_w`), the
   excess taken from each array in proportion to its power.

The hours' power is the mean of the hour, since Open-Meteo's irradiance is the hour's mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pvlib

from solarmon.weather.client import HourlyWeather
from solarmon.weather.config import ArrayConfig

GAMMA_PDC_PER_K = -0.0037  # power temperature coefficient of a typical crystalline module
DEFAULT_WIND_M_S = 1.0  # when the forecast has no wind for an hour


@dataclass(frozen=True)
class ArrayHours:
    """One array's modelled hours: mean power (W, after losses and clipping), irradiance, cell C."""

    name: str
    power_w: tuple[float, ...]
    gti_w_m2: tuple[float, ...]
    cell_c: tuple[float, ...]


def array_dc_w(array: ArrayConfig, weather: HourlyWeather) -> tuple[np.ndarray, np.ndarray]:
    """(DC power after losses in W, cell temperature in C) for each hour of `weather`."""
    gti = np.nan_to_num(np.asarray(weather.gti_w_m2, dtype=float), nan=0.0).clip(min=0.0)
    temp = np.asarray(weather.temp_c, dtype=float)
    temp = np.where(np.isnan(temp), np.nanmean(temp) if np.isfinite(temp).any() else 15.0, temp)
    wind = np.nan_to_num(np.asarray(weather.wind_m_s, dtype=float), nan=DEFAULT_WIND_M_S)
    cell = pvlib.temperature.faiman(poa_global=gti, temp_air=temp, wind_speed=wind)
    dc = pvlib.pvsystem.pvwatts_dc(gti, cell, pdc0=array.peak_kw * 1000.0, gamma_pdc=GAMMA_PDC_PER_K)
    dc = np.asarray(dc, dtype=float) * (1.0 - array.losses_pct / 100.0)
    return np.clip(dc, 0.0, None), np.asarray(cell, dtype=float)


def model_arrays(
    arrays: Sequence[ArrayConfig], weather: Sequence[HourlyWeather], pv_max_w: float = 0.0
) -> list[ArrayHours]:
    """Each array's hours; `weather[i]` is array i's plane (same hours for all). Clipped at
    `pv_max_w` in total when it is > 0."""
    if len(arrays) != len(weather):
        raise ValueError("one HourlyWeather per array")
    powers, cells = [], []
    for array, plane in zip(arrays, weather, strict=True):
        dc, cell = array_dc_w(array, plane)
        powers.append(dc)
        cells.append(cell)
    stacked = np.vstack(powers)
    if pv_max_w > 0:
        total = stacked.sum(axis=0)
        scale = np.where(total > pv_max_w, pv_max_w / np.maximum(total, 1e-9), 1.0)
        stacked = stacked * scale
    return [
        ArrayHours(
            name=array.name,
            power_w=tuple(round(float(v), 1) for v in stacked[index]),
            gti_w_m2=tuple(0.0 if math.isnan(v) else v for v in plane.gti_w_m2),
            cell_c=tuple(round(float(v), 1) for v in cells[index]),
        )
        for index, (array, plane) in enumerate(zip(arrays, weather, strict=True))
    ]
