"""Backtest: how well the PV model explains a site's stored history, before and after calibration.

    python -m solarmon.forecast.backtest --db var/history.db [--config weather.yaml] [--json]

Replays the history database: for every hour, the weather fetcher's irradiance on the panels'
plane (`weather` / `tilted_irradiance`, the hour's mean) and air temperature go through the same
pvlib model the fetcher uses (solarmon.weather.pvmodel), and the result is compared with the
inverter's produced energy (the hour's mean of `pv_power_total`). Curtailed hours (battery full
and not discharging: solarmon.forecast.calibration) are left out of both sums, as are hours
without irradiance or PV data. Per day: the error of the day's energy.

- before: the model as configured (weather.yaml's arrays; without one, 1 kWp and 14 % losses);
- after: the same, times a factor fitted, walk-forward, on the `--calibration-days` days before
  each day only (never on the day itself): what the web app's calibration would have known.

Both are scored on the same days: those with a factor and at least `--min-day-kwh` produced in
uncurtailed hours. MAPE = mean of |modelled - produced| / produced per day; bias = sum(modelled -
produced) / sum(produced). Needs pvlib (run it where the weather fetcher runs).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from solarmon.confighelper import ConfigError
from solarmon.forecast.calibration import DAYLIGHT_SHARE, MIN_HOURS, fit_factor, is_curtailed
from solarmon.forecast.hourly import (
    BATTERY_POWER,
    FLOAT_BIT,
    HOUR_S,
    PV_TOTAL,
    SOC,
    WEATHER_GTI,
    WEATHER_SOURCE,
    WEATHER_TEMP,
    inverter_sources,
    open_read_only,
    series_hours,
)
from solarmon.weather.config import ArrayConfig, WeatherConfig, load_weather_config


@dataclass(frozen=True)
class DayResult:
    """One day: energies of its uncurtailed daylight hours, and the factor known before it."""

    date: str
    hours: int
    curtailed_hours: int
    produced_kwh: float
    modelled_kwh: float
    factor: float | None


@dataclass(frozen=True)
class Score:
    """MAPE and bias (%) over `days` days."""

    days: int
    mape_pct: float | None
    bias_pct: float | None


def hourly_pairs(
    conn: sqlite3.Connection, source: str, array: ArrayConfig, start: int, end: int
) -> list[tuple[int, float, float, bool]]:
    """(hour start, modelled W, produced W, curtailed) for every hour with irradiance and PV data."""
    from solarmon.weather.client import HourlyWeather
    from solarmon.weather.pvmodel import model_arrays  # pvlib

    gti = series_hours(conn, WEATHER_SOURCE, WEATHER_GTI, start, end)
    temp = series_hours(conn, WEATHER_SOURCE, WEATHER_TEMP, start, end)
    produced = series_hours(conn, source, PV_TOTAL, start, end)
    soc = series_hours(conn, source, SOC, start, end)
    float_bit = series_hours(conn, source, FLOAT_BIT, start, end)
    battery = series_hours(conn, source, BATTERY_POWER, start, end)
    hours = sorted(set(gti) & set(produced))
    if not hours:
        return []
    weather = HourlyWeather(
        start_ts=tuple(float(h) for h in hours),
        gti_w_m2=tuple(gti[h].avg for h in hours),
        temp_c=tuple(temp[h].avg if h in temp else float("nan") for h in hours),
        wind_m_s=tuple(float("nan") for _ in hours),
        latitude=float("nan"),
        longitude=float("nan"),
    )
    (modelled,) = model_arrays([array], [weather])
    return [
        (h, modelled.power_w[i], produced[h].avg, is_curtailed(soc.get(h), float_bit.get(h), battery.get(h)))
        for i, h in enumerate(hours)
    ]


def daily(
    pairs: Sequence[tuple[int, float, float, bool]], tz: tzinfo, peak_w: float, calibration_days: int
) -> list[DayResult]:
    """Per local day: uncurtailed daylight energy and the walk-forward factor."""
    by_day: dict[str, list[tuple[int, float, float, bool]]] = {}
    for pair in pairs:
        if pair[1] < DAYLIGHT_SHARE * peak_w and pair[2] < DAYLIGHT_SHARE * peak_w:
            continue  # night
        by_day.setdefault(datetime.fromtimestamp(pair[0], tz).date().isoformat(), []).append(pair)
    days = sorted(by_day)
    out = []
    for index, day in enumerate(days):
        used = [(m, p) for _h, m, p, c in by_day[day] if not c]
        train = [(m, p) for d in days[max(0, index - calibration_days):index] for _h, m, p, c in by_day[d]
                 if not c and m >= DAYLIGHT_SHARE * peak_w]
        factor = fit_factor(train) if len(train) >= MIN_HOURS else None
        out.append(DayResult(
            date=day, hours=len(used), curtailed_hours=len(by_day[day]) - len(used),
            produced_kwh=round(sum(p for _m, p in used) / 1000.0, 3),
            modelled_kwh=round(sum(m for m, _p in used) / 1000.0, 3),
            factor=None if factor is None else round(factor, 4),
        ))
    return out


def score(pairs: Sequence[tuple[float, float]]) -> Score:
    """MAPE and bias of (modelled, produced) day energies."""
    if not pairs:
        return Score(0, None, None)
    mape = 100.0 * sum(abs(m - p) / p for m, p in pairs) / len(pairs)
    bias = 100.0 * (sum(m for m, _ in pairs) - sum(p for _, p in pairs)) / sum(p for _, p in pairs)
    return Score(len(pairs), round(mape, 1), round(bias, 1))


def run(
    db: Path, config: WeatherConfig, *, source: str = "", tz: tzinfo | None = None,
    calibration_days: int = 7, min_day_kwh: float = 0.5,
) -> dict[str, Any]:
    """The backtest's result as a JSON-able dict."""
    conn = open_read_only(db)
    try:
        source = source or next(iter(inverter_sources(conn)), "")
        if not source:
            raise SystemExit(f"{db}: no inverter with pv_power_total in this history")
        lo, hi = conn.execute("SELECT min(ts), max(ts) FROM roll_1h").fetchone()
        if lo is None:
            raise SystemExit(f"{db}: the history is empty")
        # All arrays are one plane here: the history holds the irradiance of the panels' plane only.
        first = config.arrays[0]
        array = ArrayConfig("site", first.tilt_deg, first.azimuth_deg, sum(a.peak_kw for a in config.arrays),
                            first.losses_pct)
        pairs = hourly_pairs(conn, source, array, int(lo), int(hi) + HOUR_S)
    finally:
        conn.close()
    tz = tz or datetime.now().astimezone().tzinfo
    assert tz is not None
    days = daily(pairs, tz, array.peak_kw * 1000.0, calibration_days)
    scored = [d for d in days if d.factor is not None and d.produced_kwh >= min_day_kwh]
    before = score([(d.modelled_kwh, d.produced_kwh) for d in scored])
    after = score([(d.modelled_kwh * (d.factor or 1.0), d.produced_kwh) for d in scored])
    return {
        "db": str(db), "source": source, "array": asdict(array), "calibration_days": calibration_days,
        "hours": len(pairs), "curtailed_hours": sum(1 for p in pairs if p[3]),
        "days": len(days), "scored_days": len(scored),
        "before": asdict(before), "after": asdict(after),
        "per_day": [asdict(d) for d in days],
    }


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f} %" if signed else f"{value:.1f} %"


def render(result: dict[str, Any]) -> str:
    """The human-readable report."""
    before, after, array = result["before"], result["after"], result["array"]
    lines = [
        f"history: {result['db']}  source: {result['source']}",
        f"model: {array['peak_kw']:g} kWp, tilt {array['tilt_deg']:g}, azimuth {array['azimuth_deg']:g}, "
        f"losses {array['losses_pct']:g} %",
        f"hours with irradiance and PV: {result['hours']} ({result['curtailed_hours']} curtailed, left out)",
        f"days: {result['days']}, scored: {result['scored_days']} (with a factor from the "
        f"{result['calibration_days']} days before, >= 0.5 kWh produced)",
        "",
        "                        MAPE      bias",
        f"before calibration  {_pct(before['mape_pct']):>8}  {_pct(before['bias_pct'], True):>8}",
        f"after calibration   {_pct(after['mape_pct']):>8}  {_pct(after['bias_pct'], True):>8}",
        "",
        "date        hours  curt  produced  modelled  factor  calibrated",
    ]
    for day in result["per_day"]:
        factor = day["factor"]
        tail = "" if factor is None else f"{factor:6.3f}  {day['modelled_kwh'] * factor:10.2f}"
        lines.append(f"{day['date']}  {day['hours']:5d}  {day['curtailed_hours']:4d}  "
                     f"{day['produced_kwh']:8.2f}  {day['modelled_kwh']:8.2f}  {tail}".rstrip())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; exit 2 on a bad config or database."""
    parser = argparse.ArgumentParser(prog="python -m solarmon.forecast.backtest",
                                     description="Backtest the PV model on a history database.")
    parser.add_argument("--db", type=Path, required=True, help="the web app's history database")
    parser.add_argument("--config", type=Path,
                        help="weather.yaml with the arrays (default: 1 kWp, 14 %% losses)")
    parser.add_argument("--source", default="",
                        help="inverter source, e.g. inverter:main (default: the first)")
    parser.add_argument("--calibration-days", type=int, default=7,
                        help="days before each day the factor uses")
    parser.add_argument("--timezone", default="", help="IANA zone for the days (default: the system's)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"{args.db}: no such file", file=sys.stderr)
        return 2
    try:
        config = load_weather_config(args.config) if args.config else WeatherConfig()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    tz = None
    if args.timezone:
        import zoneinfo

        tz = zoneinfo.ZoneInfo(args.timezone)
    try:
        result = run(args.db, config, source=args.source, tz=tz, calibration_days=args.calibration_days)
    except SystemExit as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
