"""Battery outlook: the state of charge projected hour by hour until tomorrow evening.

Inputs, all from the site itself:
- the expected load by hour of day: the median of each local hour's mean `load_power` over the
  last `days` days, weekdays and weekends apart (a class with fewer than MIN_DAYS days of data
  borrows the other's);
- the forecast PV of each hour, already multiplied by the calibration factors;
- the battery's usable capacity: configured (kWh), else estimated from history as the energy
  that left the battery per percent of state of charge lost, over the discharging hours;
- the state of charge now and the cut-off (the SoC at which the inverter's low-voltage cut-off
  is expected, configured: the PI30 units cut off by voltage, and their SoC is itself read from
  the voltage).

The energy balance per step: the load draws `load / INVERTER_EFFICIENCY` of DC; PV beyond it
charges the battery at CHARGE_EFFICIENCY; a deficit comes out of the battery. At full, the excess
is *surplus* (an off-grid charger throws it away: the hours to run the washing machine); at the
cut-off the projection stops falling (the inverter drops the load). Plain Python (the web app).
"""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from solarmon.forecast.hourly import BATTERY_POWER, HOUR_S, LOAD_POWER, SOC, hour_floor, series_hours

INVERTER_EFFICIENCY = 0.92
CHARGE_EFFICIENCY = 0.95
MIN_DAYS = 2
SUNRISE_SHARE = 0.02  # the first hour whose forecast PV reaches 2 % of the peak is "sunrise"
EVENING_END_HOUR = 20  # the projection runs until tomorrow 20:00 local time
MIN_CAPACITY_DROP_PCT = 20.0  # capacity estimate: at least this much SoC lost in the sample


@dataclass(frozen=True)
class LoadProfile:
    """Expected load (W) by local hour of day, weekdays and weekends; `days` of data behind it."""

    weekday: tuple[float, ...]
    weekend: tuple[float, ...]
    days: int

    def at(self, when: datetime) -> float:
        """The expected load at a local time."""
        return (self.weekend if when.weekday() >= 5 else self.weekday)[when.hour]


def load_profile(
    conn: sqlite3.Connection, source: str, now: float, tz: tzinfo, days: int = 14
) -> LoadProfile | None:
    """The median load by hour of day over the last `days` days; None without any load history."""
    hours = series_hours(conn, source, LOAD_POWER, hour_floor(now) - days * 86400, hour_floor(now))
    if not hours:
        return None
    buckets: dict[tuple[bool, int], list[float]] = {}
    dates: dict[bool, set[Any]] = {False: set(), True: set()}
    for ts, stat in hours.items():
        local = datetime.fromtimestamp(ts, tz)
        weekend = local.weekday() >= 5
        buckets.setdefault((weekend, local.hour), []).append(stat.avg)
        dates[weekend].add(local.date())

    def profile(weekend: bool) -> tuple[float, ...]:
        use = weekend if len(dates[weekend]) >= MIN_DAYS or not dates[not weekend] else not weekend
        overall = statistics.median([v for vs in buckets.values() for v in vs])
        return tuple(
            round(statistics.median(buckets.get((use, h)) or buckets.get((not use, h)) or [overall]), 1)
            for h in range(24)
        )

    return LoadProfile(profile(False), profile(True), len(dates[False] | dates[True]))


def estimate_capacity_wh(conn: sqlite3.Connection, source: str, now: float, days: int = 14) -> float | None:
    """Usable capacity from history: Wh out of the battery per % of SoC lost, times 100.

    Uses the hours in which the battery only discharged (highest battery power <= 0) and the SoC
    fell; None with less than MIN_CAPACITY_DROP_PCT of SoC lost in all (too little to tell)."""
    start, end = hour_floor(now) - days * 86400, hour_floor(now)
    power = series_hours(conn, source, BATTERY_POWER, start, end)
    soc = series_hours(conn, source, SOC, start, end + HOUR_S)
    energy_wh = drop_pct = 0.0
    for ts, stat in power.items():
        here, after = soc.get(ts), soc.get(ts + HOUR_S)
        if stat.vmax > 0 or here is None or after is None:
            continue
        fall = here.avg - after.avg
        if fall <= 0:
            continue
        energy_wh += -stat.avg  # mean W over one hour = Wh
        drop_pct += fall
    if drop_pct < MIN_CAPACITY_DROP_PCT:
        return None
    return energy_wh / drop_pct * 100.0


@dataclass
class Outlook:
    """The projection and what it says; times are Unix seconds, None when it does not happen."""

    start_ts: float
    end_ts: float
    soc_now_pct: float
    capacity_kwh: float
    capacity_source: str  # "configured" or "estimated"
    cutoff_pct: float
    sunrise_ts: float | None = None
    soc_at_sunrise_pct: float | None = None
    full_at_ts: float | None = None
    cutoff_at_ts: float | None = None
    cutoff_before_sunrise: bool = False
    surplus: list[dict[str, float]] = field(default_factory=list)  # tomorrow's windows
    points: list[dict[str, float]] = field(default_factory=list)  # {ts, soc_pct, pv_w, load_w}

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)


def next_sunrise(now: float, pv_w: Mapping[int, float], peak_w: float) -> float | None:
    """The start of the first hour after the coming night whose PV reaches SUNRISE_SHARE of peak."""
    threshold = max(10.0, SUNRISE_SHARE * peak_w)
    night_seen = pv_w.get(hour_floor(now), 0.0) < threshold
    for hour in sorted(h for h in pv_w if h > hour_floor(now)):
        if pv_w[hour] < threshold:
            night_seen = True
        elif night_seen:
            return float(hour)
    return None


def tomorrow_evening(now: float, tz: tzinfo) -> float:
    """Tomorrow EVENING_END_HOUR:00 local time."""
    local = datetime.fromtimestamp(now, tz)
    day = (local + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, EVENING_END_HOUR, tzinfo=tz).timestamp()


def project(
    now: float,
    soc_pct: float,
    capacity_wh: float,
    cutoff_pct: float,
    pv_w: Mapping[int, float],
    load: LoadProfile,
    tz: tzinfo,
    *,
    peak_w: float,
    capacity_source: str = "configured",
) -> Outlook:
    """Step the battery from `now` to tomorrow evening; `pv_w[hour start]` is calibrated PV (W)."""
    end = tomorrow_evening(now, tz)
    out = Outlook(start_ts=now, end_ts=end, soc_now_pct=soc_pct, capacity_kwh=round(capacity_wh / 1000.0, 2),
                  capacity_source=capacity_source, cutoff_pct=cutoff_pct)
    out.sunrise_ts = next_sunrise(now, pv_w, peak_w)
    tomorrow = (datetime.fromtimestamp(now, tz) + timedelta(days=1)).date()
    soc, t = soc_pct, now
    out.points.append({"ts": now, "soc_pct": round(soc, 1)})
    while t < end - 1e-6:
        step_end = min(hour_floor(t) + HOUR_S, end)
        dt_h = (step_end - t) / 3600.0
        local = datetime.fromtimestamp(t, tz)
        pv, demand = pv_w.get(hour_floor(t), 0.0), load.at(local)
        net_dc = pv - demand / INVERTER_EFFICIENCY
        before = soc
        surplus_wh = 0.0
        # Where in the step the battery is full or cut off: from the unclamped change, so a
        # step that crosses the limit gives the moment it does, not the step's end.
        if net_dc >= 0:
            room_wh = (100.0 - soc) / 100.0 * capacity_wh
            charge_wh = net_dc * dt_h * CHARGE_EFFICIENCY
            soc += min(charge_wh, room_wh) / capacity_wh * 100.0
            surplus_wh = max(0.0, charge_wh - room_wh) / CHARGE_EFFICIENCY
            if out.full_at_ts is None and before < 100.0 and charge_wh >= room_wh > 0:
                out.full_at_ts = t + (step_end - t) * room_wh / charge_wh
        elif soc > cutoff_pct:
            raw = soc + net_dc * dt_h / capacity_wh * 100.0
            if out.cutoff_at_ts is None and raw <= cutoff_pct:
                out.cutoff_at_ts = t + (step_end - t) * (before - cutoff_pct) / (before - raw)
            soc = max(cutoff_pct, raw)
        if out.sunrise_ts is not None and out.soc_at_sunrise_pct is None and step_end >= out.sunrise_ts:
            out.soc_at_sunrise_pct = round(soc, 1)
        if surplus_wh > 1.0 and local.date() == tomorrow:
            _add_surplus(out.surplus, t, step_end, surplus_wh)
        out.points.append({"ts": step_end, "soc_pct": round(soc, 1), "pv_w": round(pv, 1),
                           "load_w": round(demand, 1)})
        t = step_end
    out.cutoff_before_sunrise = (
        out.cutoff_at_ts is not None and (out.sunrise_ts is None or out.cutoff_at_ts < out.sunrise_ts)
    )
    return out


def _add_surplus(windows: list[dict[str, float]], start: float, end: float, wh: float) -> None:
    """Extend the last window when this hour follows it, else open a new one."""
    if windows and abs(windows[-1]["end_ts"] - start) < 1:
        windows[-1]["end_ts"] = end
        windows[-1]["surplus_kwh"] = round(windows[-1]["surplus_kwh"] + wh / 1000.0, 2)
    else:
        windows.append({"start_ts": start, "end_ts": end, "surplus_kwh": round(wh / 1000.0, 2)})
