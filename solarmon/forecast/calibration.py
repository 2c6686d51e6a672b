"""Calibration: how the site's real production compares with the model, hour by hour.

The model knows the sky and the panels' nameplate; it does not know the shading, the dirt, the
real losses or a nameplate that was optimistic. So the web app compares, for every daylight hour
of the last weeks, the modelled energy (the forecast's past hours, kept by solarmon.forecast.store)
with the energy the inverter reported (the mean of the catalog's derived `pv_power_total` over the
hour = its integral in Wh), and keeps one factor per array: sum(produced) / sum(modelled).

Hours when the system could not use all the sun are left out: an off-grid charger throttles the
panels once the battery is full and the load takes less than the panels could give. An hour is
*curtailed* when the battery was full at some moment of it (state of charge >= FULL_SOC_PCT, or
the float status bit `is_charging_to_float` set) and it was not, on the whole, discharging (mean
`battery_power` above -DISCHARGE_W: had the load taken more than the sun gave, the panels would
have been used to the full).

Which production an array is compared with: when every array names its own tracker (`pv1`,
`pv2`), each tracker's power (`pv_input_power`, `pv2_charging_power`) against that array; else
all arrays together against the total, and they share one factor. Plain Python (the web app).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from solarmon.forecast.hourly import (
    BATTERY_POWER,
    FLOAT_BIT,
    PV_TOTAL,
    SOC,
    TRACKER_KEYS,
    HourStat,
    series_hours,
)

FULL_SOC_PCT = 98.0
DISCHARGE_W = 50.0
MIN_HOURS = 12  # fewer daylight hours than this: no factor (1.0), said so
# Wide: without `arrays` the model is 1 kWp and the factor IS the size; outside, say so and clamp.
FACTOR_LIMITS = (0.05, 25.0)
DAYLIGHT_SHARE = 0.02  # hours whose modelled power is below 2 % of the peak say nothing of the scale


def is_curtailed(soc: HourStat | None, float_bit: HourStat | None, battery: HourStat | None) -> bool:
    """True when the system could not take all the sun in this hour (see the module docstring)."""
    full = (soc is not None and soc.vmax >= FULL_SOC_PCT) or (float_bit is not None and float_bit.vmax >= 0.5)
    if not full:
        return False
    return battery is None or battery.avg > -DISCHARGE_W


@dataclass(frozen=True)
class ArrayCalibration:
    """One array's correction factor and what it rests on."""

    array: str
    factor: float
    hours: int  # daylight hours used
    curtailed_hours: int  # daylight hours left out as curtailed
    compared_with: str  # the catalog key of the production it is compared with
    modelled_kwh: float
    produced_kwh: float
    status: str  # "ok", "too_few_hours", "clamped"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)


def fit_factor(pairs: Sequence[tuple[float, float]]) -> float | None:
    """sum(produced) / sum(modelled) over (modelled, produced) pairs; None when nothing modelled."""
    modelled = sum(m for m, _p in pairs)
    return None if modelled <= 0 else sum(p for _m, p in pairs) / modelled


def groups(arrays: Sequence[Mapping[str, Any]]) -> list[tuple[list[str], str]]:
    """[(array names, catalog key of their production)]: per tracker when each array has its own."""
    trackers = [a.get("tracker") or "" for a in arrays]
    if all(trackers) and len(set(trackers)) == len(trackers):
        return [([a["name"]], TRACKER_KEYS[t]) for a, t in zip(arrays, trackers, strict=True)]
    return [([a["name"] for a in arrays], PV_TOTAL)]


def calibrate(
    conn: sqlite3.Connection,
    source: str,
    arrays: Sequence[Mapping[str, Any]],
    modelled: Mapping[str, Mapping[int, float]],
    start: int,
    end: int,
    *,
    min_hours: int = MIN_HOURS,
) -> list[ArrayCalibration]:
    """Per-array factors from the hours in [start, end); `modelled[array][hour start]` in W."""
    soc = series_hours(conn, source, SOC, start, end)
    float_bit = series_hours(conn, source, FLOAT_BIT, start, end)
    battery = series_hours(conn, source, BATTERY_POWER, start, end)
    out: list[ArrayCalibration] = []
    for names, key in groups(arrays):
        produced = series_hours(conn, source, key, start, end)
        peak_w = sum(1000.0 * float(a.get("peak_kw", 1.0)) for a in arrays if a["name"] in names)
        pairs, curtailed = [], 0
        for hour, stat in produced.items():
            values = [modelled.get(name, {}).get(hour) for name in names]
            if any(v is None for v in values):
                continue
            model_w = sum(v for v in values if v is not None)
            if model_w < DAYLIGHT_SHARE * peak_w:
                continue
            if is_curtailed(soc.get(hour), float_bit.get(hour), battery.get(hour)):
                curtailed += 1
                continue
            pairs.append((model_w, stat.avg))
        factor = fit_factor(pairs)
        status = "ok"
        if factor is None or len(pairs) < min_hours:
            factor, status = 1.0, "too_few_hours"
        elif not FACTOR_LIMITS[0] <= factor <= FACTOR_LIMITS[1]:
            factor, status = min(max(factor, FACTOR_LIMITS[0]), FACTOR_LIMITS[1]), "clamped"
        for name in names:
            out.append(ArrayCalibration(
                array=name, factor=round(factor, 3), hours=len(pairs), curtailed_hours=curtailed,
                compared_with=key, modelled_kwh=round(sum(m for m, _ in pairs) / 1000.0, 2),
                produced_kwh=round(sum(p for _, p in pairs) / 1000.0, 2), status=status,
            ))
    return out
