"""Rollups and retention: the history's upkeep, run by the writer thread.

Rollups are recomputed for the buckets that new raw rows touched (INSERT OR REPLACE of whole
buckets), so an open minute is simply recomputed when more samples arrive and late or
back-filled samples are folded in the same way. Each tier is built from the one before it
(1 minute from raw, 2 and 15 minutes from 1 minute, 1 hour from 15 minutes; weighted by sample
count),
so the coarse tiers stay exact after the fine rows have expired.

Retention deletes per series, so every DELETE is a range on the (series, ts) primary key rather
than a scan of the whole table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DAY_S = 86400
MINUTE_S = 60
TWO_MINUTES_S = 120
QUARTER_S = 900
HOUR_S = 3600
# Each rollup tier is built from the one before it, weighted by sample count:
# (table, resolution, source table, source's avg / min / max / count expressions).
ROLLUP_CHAIN = (
    ("roll_1m", MINUTE_S, "raw", "avg(value)", "min(value)", "max(value)", "count(*)"),
    ("roll_2m", TWO_MINUTES_S, "roll_1m", "sum(vavg * n) / sum(n)", "min(vmin)", "max(vmax)", "sum(n)"),
    ("roll_15m", QUARTER_S, "roll_1m", "sum(vavg * n) / sum(n)", "min(vmin)", "max(vmax)", "sum(n)"),
    ("roll_1h", HOUR_S, "roll_15m", "sum(vavg * n) / sum(n)", "min(vmin)", "max(vmax)", "sum(n)"),
)


@dataclass(frozen=True)
class Retention:
    """How long each tier is kept, in days; None keeps it forever. The 2-minute tier (a 24-hour
    chart's rows, stored) is kept as long as the 1-minute tier it is built from."""

    raw_days: float | None = 30.0
    minute_days: float | None = 365.0
    quarter_days: float | None = None
    hour_days: float | None = None

    def cutoff(self, tier: str, now: float) -> int | None:
        """Return the oldest ts a tier still holds at `now` (None: everything is kept)."""
        days = {"raw": self.raw_days, "1m": self.minute_days, "2m": self.minute_days,
                "15m": self.quarter_days, "1h": self.hour_days}[tier]
        return None if days is None else int(now - days * DAY_S)


def floor_to(ts: int, step: int) -> int:
    """Return `ts` rounded down to a multiple of `step`."""
    return ts // step * step


def rollup(conn: sqlite3.Connection, touched: Mapping[int, tuple[int, int]]) -> int:
    """Recompute the 1-minute, 2-minute, 15-minute and 1-hour rollups of each series over its touched range.

    `touched` maps series id to the smallest and largest raw ts written since the last rollup.
    Runs inside the caller's transaction; returns the number of series rolled up.
    """
    for series, (lo, hi) in touched.items():
        for table, step, source, avg, low, high, count in ROLLUP_CHAIN:
            # Names and expressions come from the fixed ROLLUP_CHAIN above, never from input.
            conn.execute(
                f"INSERT OR REPLACE INTO {table} (series, ts, n, vmin, vavg, vmax)"  # noqa: S608
                f" SELECT series, (ts / {step}) * {step}, {count}, {low}, {avg}, {high}"
                f" FROM {source} WHERE series = ? AND ts >= ? AND ts < ? GROUP BY ts / {step}",
                (series, floor_to(lo, step), floor_to(hi, step) + step),
            )
    return len(touched)


def merge_touched(touched: dict[int, tuple[int, int]], rows: Iterable[tuple[int, int, float]]) -> None:
    """Widen each series' touched range by the (series, ts, value) rows just written."""
    for series, ts, _ in rows:
        lo_hi = touched.get(series)
        if lo_hi is None:
            touched[series] = (ts, ts)
        elif ts < lo_hi[0] or ts > lo_hi[1]:
            touched[series] = (min(lo_hi[0], ts), max(lo_hi[1], ts))


def apply_retention(conn: sqlite3.Connection, retention: Retention, now: float) -> dict[str, int]:
    """Delete rows past each tier's retention (and energy buckets with the 15-minute tier).

    Runs inside the caller's transaction; returns the number of rows deleted per tier.
    """
    series_ids = [row[0] for row in conn.execute("SELECT id FROM series")]
    deleted: dict[str, int] = {}
    for tier, table in (("raw", "raw"), ("1m", "roll_1m"), ("2m", "roll_2m"), ("15m", "roll_15m"),
                        ("1h", "roll_1h")):
        cutoff = retention.cutoff(tier, now)
        if cutoff is None:
            continue
        count = 0
        for series in series_ids:
            # Table names come from the fixed tuple above, never from input.
            cur = conn.execute(f"DELETE FROM {table} WHERE series = ? AND ts < ?", (series, cutoff))  # noqa: S608
            count += cur.rowcount
        deleted[tier] = count
    cutoff = retention.cutoff("15m", now)
    if cutoff is not None:
        deleted["energy"] = conn.execute("DELETE FROM energy WHERE ts < ?", (cutoff,)).rowcount
    return deleted
