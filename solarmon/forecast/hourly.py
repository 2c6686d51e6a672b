"""Hourly figures from the history database: the input of calibration, outlook and backtest.

Reads the 1-hour rollup tier (`roll_1h`: mean, min, max per hour, kept forever) of the history
written by the web app (solarmon/web/history), through plain SQL on a connection the caller owns,
so the web app, the backtest and the tests share one reading. An hour starts at `ts` (UTC, a
multiple of 3600). No numpy: this module runs in the web app.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HOUR_S = 3600
INVERTER_PREFIX = "inverter:"

# Catalog keys the forecast reads (solarmon/inverter/catalog.py): the derived PV, battery and
# load power, the per-tracker PV, the state of charge and the float status bit.
PV_TOTAL = "pv_power_total"
TRACKER_KEYS = {"pv1": "pv_input_power", "pv2": "pv2_charging_power"}
BATTERY_POWER = "battery_power"
LOAD_POWER = "load_power"
SOC = "battery_capacity"
FLOAT_BIT = "is_charging_to_float"
WEATHER_SOURCE = "weather"
WEATHER_GTI = "tilted_irradiance"
WEATHER_TEMP = "temperature"


def open_read_only(path: str | Path, timeout_s: float = 10.0) -> sqlite3.Connection:
    """A connection to the history database that can only read (for the backtest and scripts; the
    web app passes its own, solarmon.web.history.schema.connect). The web app may be writing: the
    busy timeout waits for its commit instead of failing."""
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    conn.execute("PRAGMA query_only = 1")
    return conn


@dataclass(frozen=True, slots=True)
class HourStat:
    """One hour of one series: mean, lowest and highest sample, sample count."""

    avg: float
    vmin: float
    vmax: float
    n: int


def series_hours(
    conn: sqlite3.Connection, source: str, metric: str, start: int, end: int
) -> dict[int, HourStat]:
    """{hour start: HourStat} of one series for hours starting in [start, end); {} if unknown."""
    row = conn.execute("SELECT id FROM series WHERE source = ? AND metric = ?", (source, metric)).fetchone()
    if row is None:
        return {}
    rows = conn.execute(
        "SELECT ts, vavg, vmin, vmax, n FROM roll_1h WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
        (row[0], start, end),
    )
    return {int(ts): HourStat(float(a), float(lo), float(hi), int(n)) for ts, a, lo, hi, n in rows}


def inverter_sources(conn: sqlite3.Connection) -> list[str]:
    """The inverter sources (`inverter:<section>`) that have a PV power series, sorted."""
    rows = conn.execute(
        "SELECT DISTINCT source FROM series WHERE source LIKE ? AND metric = ? ORDER BY source",
        (f"{INVERTER_PREFIX}%", PV_TOTAL),
    )
    return [r[0] for r in rows]


def hour_floor(ts: float) -> int:
    """The start of the hour holding `ts`."""
    return int(ts // HOUR_S) * HOUR_S


def hours_between(start: int, end: int) -> Iterable[int]:
    """Every hour start in [start, end)."""
    return range(hour_floor(start), end, HOUR_S)
