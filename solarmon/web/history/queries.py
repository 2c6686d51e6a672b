"""History queries: tier choice, server-side downsampling and the CSV export's row stream.

A chart asks for a time range and a point budget. The tier is the coarsest one whose resolution
still fits the budget and that still holds the whole range (raw 30 days, 1-minute rollups a year,
15-minute forever, by default); the bucket width is then a multiple of that tier's resolution, so
buckets line up with the rollups. Each metric is one GROUP BY over one primary-key range, and
SQLite does the averaging and rounding in C: 8 metrics over 30 days read ~23k rollup rows.
"""

from __future__ import annotations

import heapq
import math
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from solarmon.web.history.rollups import MINUTE_S, QUARTER_S, Retention

# (name, table, resolution in seconds), finest first.
TIERS: tuple[tuple[str, str, int], ...] = (
    ("raw", "raw", 1),
    ("1m", "roll_1m", MINUTE_S),
    ("15m", "roll_15m", QUARTER_S),
)
_RESOLUTION = {name: resolution for name, _table, resolution in TIERS}
MAX_POINTS = 100_000

_BUCKET_SQL = {
    "raw": "SELECT (ts - ?) / ? AS b, round(avg(value), 3), round(min(value), 3), round(max(value), 3)"
    " FROM raw WHERE series = ? AND ts >= ? AND ts < ? GROUP BY b",
    "1m": "SELECT (ts - ?) / ? AS b, round(sum(vavg * n) / sum(n), 3), round(min(vmin), 3),"
    " round(max(vmax), 3) FROM roll_1m WHERE series = ? AND ts >= ? AND ts < ? GROUP BY b",
    "15m": "SELECT (ts - ?) / ? AS b, round(sum(vavg * n) / sum(n), 3), round(min(vmin), 3),"
    " round(max(vmax), 3) FROM roll_15m WHERE series = ? AND ts >= ? AND ts < ? GROUP BY b",
}
_EXPORT_SQL = {
    "raw": "SELECT ts, value FROM raw WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
    "1m": "SELECT ts, vavg FROM roll_1m WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
    "15m": "SELECT ts, vavg FROM roll_15m WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
}


def choose_tier(start: int, end: int, points: int, retention: Retention, now: float) -> tuple[str, int]:
    """Return (tier name, bucket width in seconds) for a range and a point budget."""
    want = (end - start) / points
    for index, (name, _table, resolution) in enumerate(TIERS):
        cutoff = retention.cutoff(name, now)
        holds_range = cutoff is None or start >= cutoff
        coarser = TIERS[index + 1][2] if index + 1 < len(TIERS) else None
        if not holds_range or (coarser is not None and want >= coarser):
            continue
        return name, max(resolution, math.ceil(want / resolution) * resolution)
    name, _table, resolution = TIERS[-1]
    return name, max(resolution, math.ceil(want / resolution) * resolution)


def check_range(start: float, end: float, points: int) -> tuple[int, int]:
    """Validate a query's range and budget; return integer [start, end)."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError("start and end must be finite Unix times")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if not 1 <= points <= MAX_POINTS:
        raise ValueError(f"points must be 1..{MAX_POINTS}, not {points}")
    return math.floor(start), math.ceil(end)


def historical(
    conn: sqlite3.Connection,
    series: dict[str, tuple[int, str]],
    source: str,
    metrics: Sequence[str],
    start: float,
    end: float,
    points: int,
    retention: Retention,
    now: float,
) -> dict[str, Any]:
    """Downsample `metrics` of `source` over [start, end) into at most ~`points` buckets.

    `series` maps each metric that has data to its (series id, unit). Returns the JSON-ready
    structure documented in docs/INTERFACES.md ("Web data path").
    """
    lo, hi = check_range(start, end, points)
    tier, step = choose_tier(lo, hi, points, retention, now)
    base = lo // step * step
    # A rollup row at t covers [t, t + resolution): the first one overlapping the range starts
    # before `lo`, so the scan starts at lo rounded down to the tier's resolution.
    scan_lo = lo // _RESOLUTION[tier] * _RESOLUTION[tier]
    sql = _BUCKET_SQL[tier]
    per_metric: dict[str, dict[int, tuple[float, float, float]]] = {}
    for metric in metrics:
        if metric in series and metric not in per_metric:
            rows = conn.execute(sql, (base, step, series[metric][0], scan_lo, hi))
            per_metric[metric] = {b: (a, mn, mx) for b, a, mn, mx in rows}
    buckets = sorted(set().union(*(d.keys() for d in per_metric.values()))) if per_metric else []
    out_series: dict[str, dict[str, Any]] = {}
    for metric, rows in per_metric.items():
        if len(rows) == len(buckets):
            vals = [rows[b] for b in buckets]
        else:
            vals = [rows.get(b, (None, None, None)) for b in buckets]  # type: ignore[misc]
        out_series[metric] = {
            "unit": series[metric][1],
            "avg": [v[0] for v in vals],
            "min": [v[1] for v in vals],
            "max": [v[2] for v in vals],
        }
    return {
        "source": source,
        "tier": tier,
        "step_s": step,
        "start": lo,
        "end": hi,
        "t": [base + b * step for b in buckets],
        "series": out_series,
        "unknown": [m for m in dict.fromkeys(metrics) if m not in series],
    }


def export_rows(
    conn: sqlite3.Connection,
    series_ids: Sequence[int | None],
    start: float,
    end: float,
    retention: Retention,
    now: float,
) -> Iterator[tuple[int, list[float | None]]]:
    """Yield (ts, [value per requested series]) in time order: raw rows where the range is still
    kept raw, else 1-minute (then 15-minute) averages. Each series is its own ordered range scan;
    heapq.merge joins them without sorting the whole range in memory."""
    lo, hi = check_range(start, end, 1)
    cutoffs = [(name, retention.cutoff(name, now)) for name, _table, _res in TIERS]
    tier = next((name for name, cut in cutoffs if cut is None or lo >= cut), TIERS[-1][0])
    sql = _EXPORT_SQL[tier]
    cursors = [_tagged(conn.execute(sql, (sid, lo, hi)), idx) for idx, sid in enumerate(series_ids)
               if sid is not None]
    current: int | None = None
    row: list[float | None] = [None] * len(series_ids)
    for ts, idx, value in heapq.merge(*cursors):
        if ts != current:
            if current is not None:
                yield current, row
            current, row = ts, [None] * len(series_ids)
        row[idx] = value
    if current is not None:
        yield current, row


def _tagged(rows: Iterator[tuple[int, float]], index: int) -> Iterator[tuple[int, int, float]]:
    """(ts, index, value) from one series' ordered rows, for heapq.merge."""
    for ts, value in rows:
        yield ts, index, value
