"""History queries: tier choice, server-side downsampling and the CSV export's row stream.

A chart asks for a time range and a point budget (a maximum). Two ways to answer, cheapest first:
1. a rollup tier whose stored rows already fit the budget well (at least MIN_FILL of it) is read
   as stored: one primary-key range per metric, no GROUP BY (30 days / 1000 points reads the
   720 rows of the 1-hour tier, 7 days the 672 rows of the 15-minute tier, 24 hours the 720 rows
   of the 2-minute tier);
2. otherwise the coarsest tier whose resolution is still fine enough is grouped into buckets of
   a multiple of its resolution (so buckets line up with the rollups).
Only tiers that still hold the whole range are considered (raw 30 days, 1- and 2-minute rollups a
year,
15 minutes and 1 hour forever, by default). SQLite builds the JSON arrays itself
(json_group_array, in C), so the body of /api/historical never becomes Python floats.
"""

from __future__ import annotations

import heapq
import json
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from solarmon.web.history.blockcache import BLOCK_BUCKETS, BlockCache
from solarmon.web.history.rollups import HOUR_S, MINUTE_S, QUARTER_S, TWO_MINUTES_S, Retention

# (name, table, resolution in seconds), finest first.
TIERS: tuple[tuple[str, str, int], ...] = (
    ("raw", "raw", 1),
    ("1m", "roll_1m", MINUTE_S),
    ("2m", "roll_2m", TWO_MINUTES_S),
    ("15m", "roll_15m", QUARTER_S),
    ("1h", "roll_1h", HOUR_S),
)
_RESOLUTION = {name: resolution for name, _table, resolution in TIERS}
_TABLE = {name: table for name, table, _resolution in TIERS}
MAX_POINTS = 100_000
MIN_FILL = 0.4  # a stored tier is used as is when it fills at least this share of the budget

# The four arrays as JSON text, built by SQLite: printf('%!.3f') is SQLite's own round(x, 3)
# (its round() formats with the same conversion) without the trailing zeros, and formats ~2x
# faster than json_group_array(round(x, 3)), which converts the rounded double back to text with
# 15 significant digits; formatting was most of a 24-hour query's time (bench/README.md).
_ARRAYS = (
    "SELECT '[' || coalesce(group_concat(t), '') || ']',"
    " '[' || coalesce(group_concat(printf('%!.3f', a)), '') || ']',"
    " '[' || coalesce(group_concat(printf('%!.3f', mn)), '') || ']',"
    " '[' || coalesce(group_concat(printf('%!.3f', mx)), '') || ']' FROM "
)
# Grouped: ?1 bucket base, ?2 bucket width, ?3 series, ?4 scan start, ?5 end (exclusive).
_GROUPED_RAW = (
    _ARRAYS  # noqa: S608 -- fixed text, no input
    + "(SELECT (ts - ?1) / ?2 * ?2 + ?1 AS t, avg(value) AS a, min(value) AS mn, max(value) AS mx"
    " FROM raw WHERE series = ?3 AND ts >= ?4 AND ts < ?5 GROUP BY t ORDER BY t)"
)
_GROUPED_ROLLUP = (
    _ARRAYS  # noqa: S608 -- fixed text, no input
    + "(SELECT (ts - ?1) / ?2 * ?2 + ?1 AS t, sum(vavg * n) / sum(n) AS a, min(vmin) AS mn,"
    " max(vmax) AS mx FROM {table} WHERE series = ?3 AND ts >= ?4 AND ts < ?5 GROUP BY t ORDER BY t)"
)
# Stored rows as they are: ?1 series, ?2 scan start, ?3 end (exclusive).
_STORED_ROLLUP = (
    _ARRAYS  # noqa: S608 -- fixed text, no input
    + "(SELECT ts AS t, vavg AS a, vmin AS mn, vmax AS mx FROM {table}"
    " WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts)"
)
_EXPORT_SQL = {
    name: f"SELECT ts, {'value' if name == 'raw' else 'vavg'} FROM {table}"  # noqa: S608 -- fixed names
    " WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts"
    for name, table, _resolution in TIERS
}


def _holds(retention: Retention, tier: str, start: int, now: float) -> bool:
    cutoff = retention.cutoff(tier, now)
    return cutoff is None or start >= cutoff


def choose_tier(start: int, end: int, points: int, retention: Retention, now: float) -> tuple[str, int]:
    """Return (tier name, bucket width in seconds) for a range and a point budget.

    A bucket width equal to a rollup tier's resolution means its rows are read as stored.
    """
    span = end - start
    want = span / points
    holding = [(name, res) for name, _table, res in TIERS if _holds(retention, name, start, now)]
    for name, res in holding:
        if name != "raw" and span / res <= points:
            if span / res >= points * MIN_FILL:
                return name, res
            break
    fine_enough = [(name, res) for name, res in holding if res <= want]
    if fine_enough:
        name, res = fine_enough[-1]
    else:  # the budget asks for more than the finest tier holding the range can give
        name, res = holding[0] if holding else (TIERS[-1][0], TIERS[-1][2])
    return name, max(res, math.ceil(want / res) * res)


def check_range(start: float, end: float, points: int) -> tuple[int, int]:
    """Validate a query's range and budget; return integer [start, end)."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError("start and end must be finite Unix times")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if not 1 <= points <= MAX_POINTS:
        raise ValueError(f"points must be 1..{MAX_POINTS}, not {points}")
    return math.floor(start), math.ceil(end)


def historical_json(
    conn: sqlite3.Connection,
    series: dict[str, tuple[int, str]],
    source: str,
    metrics: Sequence[str],
    start: float,
    end: float,
    points: int,
    retention: Retention,
    now: float,
    extra: dict[str, Any] | None = None,
    cache: BlockCache | None = None,
) -> bytes:
    """Downsample `metrics` of `source` over [start, end) into at most `points` buckets; return the
    JSON body documented in docs/INTERFACES.md ("Web data path").

    `series` maps each metric that has data to its (series id, unit); `extra` keys (JSON-able)
    are appended to the document. With `cache`, whole blocks of buckets are served from it
    (blockcache.py); the body is the same either way.
    """
    lo, hi = check_range(start, end, points)
    tier, step = choose_tier(lo, hi, points, retention, now)
    resolution = _RESOLUTION[tier]
    base = lo // step * step
    # A rollup row at t covers [t, t + resolution): the first one overlapping the range starts
    # before `lo`, so the scan starts at lo rounded down to the tier's resolution.
    scan_lo = lo // resolution * resolution
    stored = tier != "raw" and step == resolution
    if tier == "raw":
        sql = _GROUPED_RAW
    else:
        sql = (_STORED_ROLLUP if stored else _GROUPED_ROLLUP).format(table=_TABLE[tier])
    arrays: dict[str, tuple[str, str, str, str]] = {}
    for metric in dict.fromkeys(metrics):
        if metric in series:
            sid = series[metric][0]

            def read(lo_ts: int, hi_ts: int, sid: int = sid) -> tuple[str, str, str, str]:
                params = (sid, lo_ts, hi_ts) if stored else (base, step, sid, lo_ts, hi_ts)
                return conn.execute(sql, params).fetchone()

            arrays[metric] = read(scan_lo, hi) if cache is None else _blocks(cache, read, sid, tier, step,
                                                                               base, scan_lo, hi)
    times = {a[0] for a in arrays.values()}
    if len(times) > 1:
        return _merge_uneven(source, tier, step, lo, hi, arrays, series, metrics, extra)
    parts = [
        f'{json.dumps(metric)}:{{"unit":{json.dumps(series[metric][1])},"avg":{avg},"min":{low},"max":{high}}}'
        for metric, (_t, avg, low, high) in arrays.items()
    ]
    unknown = [m for m in dict.fromkeys(metrics) if m not in series]
    axis = times.pop() if times else "[]"
    body = (
        f'{{"source":{json.dumps(source)},"tier":"{tier}","step_s":{step},"start":{lo},"end":{hi},'
        f'"t":{axis},"series":{{{",".join(parts)}}},"unknown":{json.dumps(unknown)}'
        + "".join(f",{json.dumps(key)}:{json.dumps(value)}" for key, value in (extra or {}).items())
        + "}"
    )
    return body.encode()


def _blocks(
    cache: BlockCache, read: Callable[[int, int], tuple[str, str, str, str]], sid: int, tier: str, step: int,
    base: int, scan_lo: int, hi: int,
) -> tuple[str, str, str, str]:
    """The four arrays over [scan_lo, hi): whole blocks from the cache, the rest in one read.

    Block edges are multiples of the bucket width, so no bucket is split between two blocks. The
    leading run of cached blocks is served from the cache (with the partial block before it read
    now); from the first missing block on, everything up to `hi` is one query (a first query is
    then one statement per metric, not one per block), and its text is left in the cache as a
    run, cut into whole blocks when a later query asks for one.
    """
    span = step * BLOCK_BUCKETS
    first = -(-max(base, scan_lo) // span) * span
    last = hi // span * span
    if first >= last:
        return read(scan_lo, hi)
    cached: list[tuple[str, str, str, str]] = []
    for start in range(first, last, span):
        fragments = cache.get((sid, tier, step, start))
        if fragments is None:
            break
        cached.append(fragments)
    if len(cached) == (last - first) // span:
        pieces = [read(scan_lo, first), *cached, read(last, hi)]
    else:
        miss = first + len(cached) * span
        generation = cache.generation(sid)
        rest = read(miss if cached else scan_lo, hi)
        cache.put_run((sid, tier, step), miss, last, span, rest, generation)
        if not cached:
            return rest
        pieces = [read(scan_lo, first), *cached, rest]
    return tuple(  # type: ignore[return-value]
        "[" + ",".join(p[i][1:-1] for p in pieces if len(p[i]) > 2) + "]" for i in range(4)
    )


def _merge_uneven(
    source: str, tier: str, step: int, lo: int, hi: int, arrays: dict[str, tuple[str, str, str, str]],
    series: dict[str, tuple[int, str]], metrics: Sequence[str], extra: dict[str, Any] | None,
) -> bytes:
    """The rare case of metrics with different buckets (one started later): one shared time axis
    with nulls where a metric has no bucket."""
    decoded = {m: [json.loads(part) for part in parts] for m, parts in arrays.items()}
    axis = sorted(set().union(*(d[0] for d in decoded.values())))
    out: dict[str, Any] = {}
    for metric, (times, avg, low, high) in decoded.items():
        index = {t: i for i, t in enumerate(times)}
        pick = [index.get(t) for t in axis]
        out[metric] = {
            "unit": series[metric][1],
            "avg": [None if i is None else avg[i] for i in pick],
            "min": [None if i is None else low[i] for i in pick],
            "max": [None if i is None else high[i] for i in pick],
        }
    doc = {
        "source": source, "tier": tier, "step_s": step, "start": lo, "end": hi, "t": axis, "series": out,
        "unknown": [m for m in dict.fromkeys(metrics) if m not in series],
        **(extra or {}),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


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
