"""Rollups and retention: the history's upkeep, run by the writer thread.

Rollups are recomputed for the buckets that new raw rows touched (INSERT OR REPLACE of whole
buckets), so an open minute is simply recomputed when more samples arrive and late or
back-filled samples are folded in the same way. The 15-minute tier is built from the 1-minute
tier (weighted by sample count), so it stays exact after raw rows have expired.

Retention deletes per series, so every DELETE is a range on the (series, ts) primary key rather
than a scan of the whole table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DAY_S = 86400
MINUTE_S = 60
QUARTER_S = 900


@dataclass(frozen=True)
class Retention:
    """How long each tier is kept, in days; None keeps it forever."""

    raw_days: float | None = 30.0
    minute_days: float | None = 365.0
    quarter_days: float | None = None

    def cutoff(self, tier: str, now: float) -> int | None:
        """Return the oldest ts a tier still holds at `now` (None: everything is kept)."""
        days = {"raw": self.raw_days, "1m": self.minute_days, "15m": self.quarter_days}[tier]
        return None if days is None else int(now - days * DAY_S)


def floor_to(ts: int, step: int) -> int:
    """Return `ts` rounded down to a multiple of `step`."""
    return ts // step * step


def rollup(conn: sqlite3.Connection, touched: Mapping[int, tuple[int, int]]) -> int:
    """Recompute 1-minute then 15-minute rollups of each series over its touched [lo, hi] range.

    `touched` maps series id to the smallest and largest raw ts written since the last rollup.
    Runs inside the caller's transaction; returns the number of series rolled up.
    """
    for series, (lo, hi) in touched.items():
        lo_m, hi_m = floor_to(lo, MINUTE_S), floor_to(hi, MINUTE_S) + MINUTE_S
        conn.execute(
            "INSERT OR REPLACE INTO roll_1m (series, ts, n, vmin, vavg, vmax)"
            " SELECT series, (ts / 60) * 60, count(*), min(value), avg(value), max(value)"
            " FROM raw WHERE series = ? AND ts >= ? AND ts < ? GROUP BY ts / 60",
            (series, lo_m, hi_m),
        )
        lo_q, hi_q = floor_to(lo, QUARTER_S), floor_to(hi, QUARTER_S) + QUARTER_S
        conn.execute(
            "INSERT OR REPLACE INTO roll_15m (series, ts, n, vmin, vavg, vmax)"
            " SELECT series, (ts / 900) * 900, sum(n), min(vmin), sum(vavg * n) / sum(n), max(vmax)"
            " FROM roll_1m WHERE series = ? AND ts >= ? AND ts < ? GROUP BY ts / 900",
            (series, lo_q, hi_q),
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
    for tier, table in (("raw", "raw"), ("1m", "roll_1m"), ("15m", "roll_15m")):
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
