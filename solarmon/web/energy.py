"""Energy: kWh per day and per month for PV, load, battery charge / discharge and grid.

Power per kind comes from one reading's derived values (`power_flows`), computed once on ingest by
the catalog's `derive()` (solarmon/inverter/catalog.py holds the rules: PV total of every tracker,
signed battery power, grid import from the power balance, load):
- pv: `pv_power_total`; load: `load_power`;
- battery: `battery_power`, positive is `battery_charge`, negative `battery_discharge`;
- grid: `grid_power` (PI30 units do not measure it: estimated, 0 without grid).

A parallel / three-phase system's own device (docs/SYSTEMS.md) carries the system's values, which the
daemon computes once (solarmon/inverter/system.py) and the power flow shows
(solarmon/web/systems.py's `FLOW_KEYS`: `system_pv_power` for `pv_power_total`...): its energy is
integrated from those, on its own source, like an inverter's. While a unit is missing the system
withholds them, so nothing is counted for the system then (a gap, as for an inverter that stops
answering), never a total over fewer units. Each unit's own energy stays on the unit's source.

Integration (`EnergyIntegrator`) is the trapezoid rule between consecutive samples of one source;
a gap longer than `max_gap_s` is not bridged. Energy is kept in 15-minute UTC buckets (the history's
`energy` table): every time zone's midnight falls on a quarter hour, so a local day — 23, 24 or
25 hours long — and a month are sums of whole buckets. Where the inverter counts energy itself
(QED/QEM, QLD/QLM on MAX-class firmware), `Energy.report` uses the counter instead and says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import sqlite3
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from solarmon.inverter import catalog
from solarmon.web.state import Value
from solarmon.web.systems import FLOW_KEYS, SYSTEM_KEY

KINDS = ("pv", "load", "battery_charge", "battery_discharge", "grid")
BUCKET_S = 900
MAX_GAP_S = 300.0
# The inverter's own counters (Wh), by period and kind.
COUNTER_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "day": {"pv": ("pv_energy_day",), "load": ("load_energy_day",)},
    "month": {"pv": ("pv_energy_month",), "load": ("load_energy_month",)},
    "year": {"pv": ("pv_energy_year",), "load": ("load_energy_year",)},
}
# Metrics the backfill reads from raw history to rebuild energy after an upgrade: the derived
# values where the history has them, else the measurements derive() needs.
POWER_INPUTS = (
    *catalog.DERIVED_KEYS, "pv_input_power", "pv2_charging_power", "pv_input_current_for_battery",
    "battery_voltage_from_scc", "ac_output_active_power", "battery_voltage",
    "battery_charging_current", "battery_discharge_current", "ac_input_voltage",
    SYSTEM_KEY, *FLOW_KEYS.values(),
)  # fmt: skip


def _num(values: Mapping[str, Value], key: str) -> float | None:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def power_flows(values: Mapping[str, Value]) -> dict[str, float]:
    """Return watts per energy kind from one reading's derived values (missing kinds omitted).

    A reading that carries no derived value (raw history rows read at a schema upgrade) is derived
    here with the same `catalog.derive`, so there is one rule either way. A system's own reading
    gives the system's values that stand for them (`FLOW_KEYS`), only those: never a unit's.
    """
    derived: Mapping[str, Value]
    if SYSTEM_KEY in values:
        derived = {key: values[system_key] for key, system_key in FLOW_KEYS.items() if system_key in values}
    else:
        derived = {k: values[k] for k in catalog.DERIVED_KEYS if k in values}
        if not derived:
            derived = catalog.derive(values)
    flows: dict[str, float] = {}
    pv = _num(derived, "pv_power_total")
    if pv is not None:
        flows["pv"] = max(0.0, pv)
    load = _num(derived, "load_power")
    if load is not None:
        flows["load"] = max(0.0, load)
    battery = _num(derived, "battery_power")
    if battery is not None:
        flows["battery_charge"] = max(0.0, battery)
        flows["battery_discharge"] = max(0.0, -battery)
    grid = _num(derived, "grid_power")
    if grid is not None:
        flows["grid"] = max(0.0, grid)
    return flows


def split_trapezoid(t0: float, p0: float, t1: float, p1: float) -> dict[int, float]:
    """Return Wh per 15-minute bucket of the straight line from (t0, p0 W) to (t1, p1 W)."""
    out: dict[int, float] = {}
    ta, pa = t0, p0
    while ta < t1:
        bucket = int(ta // BUCKET_S) * BUCKET_S
        tb = min(t1, bucket + BUCKET_S)
        pb = p0 + (p1 - p0) * (tb - t0) / (t1 - t0)
        out[bucket] = out.get(bucket, 0.0) + (pa + pb) / 2.0 * (tb - ta) / 3600.0
        ta, pa = tb, pb
    return out


class EnergyIntegrator:
    """Trapezoid integration per (source, kind) into 15-minute buckets; gaps > max_gap_s not bridged."""

    def __init__(
        self, *, max_gap_s: float = MAX_GAP_S, last: dict[tuple[str, str], tuple[float, float]] | None = None
    ) -> None:
        self.max_gap_s = max_gap_s
        self.last: dict[tuple[str, str], tuple[float, float]] = dict(last or {})

    def add(self, source: str, ts: float, flows: Mapping[str, float]) -> dict[tuple[str, str, int], float]:
        """Feed one reading's flows; return Wh to add per (source, kind, bucket)."""
        out: dict[tuple[str, str, int], float] = {}
        for kind, watts in flows.items():
            prev = self.last.get((source, kind))
            if prev is not None and ts <= prev[0]:
                continue  # an old or repeated reading: integrating it would count energy twice
            self.last[(source, kind)] = (ts, watts)
            if prev is None or ts - prev[0] > self.max_gap_s:
                continue
            for bucket, wh in split_trapezoid(prev[0], prev[1], ts, watts).items():
                out[(source, kind, bucket)] = out.get((source, kind, bucket), 0.0) + wh
        return out


def store_energy(conn: sqlite3.Connection, increments: Mapping[tuple[str, str, int], float]) -> None:
    """Add Wh increments to the `energy` table (inside the caller's transaction)."""
    conn.executemany(
        "INSERT INTO energy (source, kind, ts, wh) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source, kind, ts) DO UPDATE SET wh = wh + excluded.wh",
        [(src, kind, bucket, wh) for (src, kind, bucket), wh in increments.items()],
    )


def save_integrator(conn: sqlite3.Connection, integrator: EnergyIntegrator) -> None:
    """Persist the integrator's last samples so integration resumes after a restart."""
    conn.executemany(
        "INSERT OR REPLACE INTO energy_state (source, kind, ts, watts) VALUES (?, ?, ?, ?)",
        [(src, kind, ts, w) for (src, kind), (ts, w) in integrator.last.items()],
    )


def load_integrator(conn: sqlite3.Connection, max_gap_s: float = MAX_GAP_S) -> EnergyIntegrator:
    """Return an integrator that continues from the saved last samples."""
    rows = conn.execute("SELECT source, kind, ts, watts FROM energy_state").fetchall()
    return EnergyIntegrator(max_gap_s=max_gap_s, last={(s, k): (t, w) for s, k, t, w in rows})


def backfill_energy(conn: sqlite3.Connection, max_gap_s: float = MAX_GAP_S) -> None:
    """Rebuild energy buckets from the raw samples (schema upgrade; inside its transaction)."""
    marks = ",".join("?" * len(POWER_INPUTS))
    sources = [r[0] for r in conn.execute("SELECT DISTINCT source FROM series ORDER BY source")]
    integrator = EnergyIntegrator(max_gap_s=max_gap_s)
    for source in sources:
        # Only "?" placeholders are formatted into the statement; the names travel as parameters.
        rows = conn.execute(
            "SELECT r.ts, s.metric, r.value FROM raw r JOIN series s ON s.id = r.series"  # noqa: S608
            f" WHERE s.source = ? AND s.metric IN ({marks}) ORDER BY r.ts",
            (source, *POWER_INPUTS),
        )
        current_ts: int | None = None
        values: dict[str, Value] = {}
        for ts, metric, value in [*rows, (None, "", 0.0)]:
            if ts != current_ts and current_ts is not None:
                store_energy(conn, integrator.add(source, current_ts, power_flows(values)))
                values = {}
            current_ts = ts
            values[metric] = value
    save_integrator(conn, integrator)


class EnergySource(Protocol):
    """What `Energy` needs from the history (implemented by `History`)."""

    def energy_sums(
        self, bounds: Sequence[tuple[int, int]], source: str | None = None
    ) -> dict[tuple[str, str], list[float | None]]:
        """Return Wh per (source, kind) in each [start, end) of `bounds` (None: nothing there)."""
        ...

    def period_max(self, source: str, metric: str, bounds: list[tuple[int, int]]) -> list[float | None]:
        """Return the largest value of one metric in each [start, end) range (None: no data)."""
        ...

    def metrics(self, source: str | None = None) -> list[dict[str, str]]:
        """Return the (source, metric, unit) series known."""
        ...


def period_bounds(
    period: str, count: int, now: float, tz: dt.tzinfo
) -> tuple[list[str], list[tuple[int, int]]]:
    """Return labels and [start, end) Unix times of the last `count` local days or months, oldest
    first. Boundaries are local midnights computed by zoneinfo, so DST days are 23 or 25 h long."""
    today = dt.datetime.fromtimestamp(now, tz).date()
    firsts: list[dt.date] = []
    if period == "day":
        firsts = [today - dt.timedelta(days=i) for i in range(count - 1, -2, -1)]
    elif period == "month":
        month_index = today.year * 12 + today.month - 1
        firsts = [dt.date(m // 12, m % 12 + 1, 1) for m in range(month_index - count + 1, month_index + 2)]
    elif period == "year":
        firsts = [dt.date(y, 1, 1) for y in range(today.year - count + 1, today.year + 2)]
    else:
        raise ValueError(f"period must be 'day', 'month' or 'year', not {period!r}")
    starts = [int(dt.datetime.combine(d, dt.time(), tz).timestamp()) for d in firsts]
    label_format = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[period]
    labels = [d.strftime(label_format) for d in firsts[:-1]]
    return labels, list(itertools.pairwise(starts))


class Energy:
    """kWh per local day or month, per device and in total, from the history's energy buckets."""

    def __init__(self, history: EnergySource, timezone: str | None = None) -> None:
        self._history = history
        self._tz: dt.tzinfo = zoneinfo.ZoneInfo(timezone) if timezone else _system_tz()
        self.timezone = timezone or str(getattr(self._tz, "key", "UTC"))

    def report(
        self, period: str = "day", *, source: str | None = None, count: int | None = None,
        now: float | None = None, units: Collection[str] = (),
    ) -> dict[str, Any]:
        """Return kWh per kind for the last `count` periods (31 days / 12 months / 5 years by default),
        and the self-sufficiency of each period in percent. A parallel / three-phase system's source
        reports its own energy (its system values, integrated by :func:`power_flows`); `units` are
        the sources that are units of a system: listed among the devices, but not added to the
        total, where their system counts them once."""
        count = count or {"day": 31, "month": 12}.get(period, 5)
        now = dt.datetime.now().timestamp() if now is None else now
        labels, bounds = period_bounds(period, count, now, self._tz)
        query = source
        wanted = {source} if source is not None else None
        devices: dict[str, dict[str, Any]] = {}
        for (src, kind), sums in self._history.energy_sums(bounds, query).items():
            if kind in KINDS and (wanted is None or src in wanted):
                dev = devices.setdefault(src, _empty(len(bounds)))
                dev[kind] = [None if wh is None else wh / 1000.0 for wh in sums]
        known = {(m["source"], m["metric"]) for m in self._history.metrics(query)}
        for src in sorted({s for s, _ in known if wanted is None or s in wanted}):
            for kind, names in COUNTER_FIELDS[period].items():
                name = next((n for n in names if (src, n) in known), None)
                if name is None:
                    continue
                dev = devices.setdefault(src, _empty(len(bounds)))
                dev[kind] = [None if v is None else v / 1000.0 for v in
                             self._history.period_max(src, name, bounds)]
                dev["method"][kind] = "counter"
        total = _empty(len(bounds))
        del total["method"]
        for src, dev in devices.items():
            for kind in KINDS:
                dev[kind] = [None if v is None else round(v, 3) for v in dev[kind]]
                if src not in units:
                    total[kind] = [_add(a, b) for a, b in zip(total[kind], dev[kind], strict=True)]
        return {
            "period": period, "timezone": self.timezone, "kinds": list(KINDS), "periods": labels,
            "devices": devices, "total": total,
            "self_sufficiency_percent": [self_sufficiency(load, grid)
                                         for load, grid in zip(total["load"], total["grid"], strict=True)],
        }


    def today_wh(self, now: float | None = None) -> dict[tuple[str, str], float]:
        """Wh so far today (the local day of `report`) per (source, kind), only where there is data:
        `report`'s own figures (counters where the inverter has them), for `/metrics`."""
        day = self.report("day", count=1, now=now)
        return {(source, kind): round(kwh[0] * 1000.0, 3)
                for source, dev in day["devices"].items() for kind in KINDS
                if (kwh := dev[kind])[0] is not None}


def self_sufficiency(load_kwh: float | None, grid_kwh: float | None) -> float | None:
    """The share of the load not bought from the grid, in percent (None without load or grid data):
    the one rule the dashboard shows, served rather than computed in the browser."""
    if load_kwh is None or grid_kwh is None or load_kwh <= 0:
        return None
    return round(max(0.0, min(100.0, 100.0 * (1.0 - grid_kwh / load_kwh))), 1)


def _empty(n: int) -> dict[str, Any]:
    dev: dict[str, Any] = {kind: [None] * n for kind in KINDS}
    dev["method"] = dict.fromkeys(KINDS, "integrated")
    return dev


def _add(a: float | None, b: float | None) -> float | None:
    return a if b is None else (b if a is None else round(a + b, 3))


def _system_tz() -> dt.tzinfo:
    """Return the system's zone: $TZ, else /etc/timezone (Debian), else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            with open("/etc/timezone", encoding="utf-8") as fh:
                name = fh.read().strip()
        except OSError:
            name = ""
    try:
        return zoneinfo.ZoneInfo(name) if name else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC
