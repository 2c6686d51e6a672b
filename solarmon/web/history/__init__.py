"""The SQLite history of every numeric reading: raw samples, 1-minute and 15-minute rollups and
integrated energy, fed by one writer thread and read by any number of request threads.

`History` is the one object the web app holds (part "history", a service): `submit()` is the
reader's sink, `historical()` / `export_rows()` serve the charts and the CSV export, and
`energy_sums()` / `period_max()` feed `solarmon.web.energy.Energy`. Each request thread gets its
own read-only connection (WAL lets readers run beside the writer without blocking either).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from solarmon.web.energy import KINDS, MAX_GAP_S
from solarmon.web.history import queries
from solarmon.web.history.blockcache import BlockCache
from solarmon.web.history.rollups import Retention
from solarmon.web.history.schema import SCHEMA_VERSION, connect, schema_version
from solarmon.web.history.writer import HistoryWriter
from solarmon.web.state import SourceUpdate

__all__ = ["History", "HistoryUnavailableError", "Retention"]


class HistoryUnavailableError(RuntimeError):
    """The history database is not open (not started yet, or it failed to open)."""


class History:
    """SQLite history: one writer thread, per-thread readers. Build cold, then `start()`."""

    name = "history"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        raw_retention_days: float | None = 30.0,
        minute_retention_days: float | None = 365.0,
        quarter_retention_days: float | None = None,
        commit_interval_s: float = 0.5,
        queue_size: int = 200_000,
        max_gap_s: float = MAX_GAP_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.retention = Retention(raw_retention_days, minute_retention_days, quarter_retention_days,
                                   quarter_retention_days)
        self._clock = clock
        # Chart fragments of whole blocks of buckets; the writer invalidates what it changes.
        self._blocks = BlockCache()
        self._writer = HistoryWriter(
            self.path, self.retention, commit_interval_s=commit_interval_s, queue_size=queue_size,
            max_gap_s=max_gap_s, clock=clock, cache=self._blocks,
        )
        self._local = threading.local()
        self._series_lock = threading.Lock()
        self._series: dict[str, dict[str, tuple[int, str]]] = {}
        self._started = False
        self._open_error: str | None = None

    # -- service ------------------------------------------------------------------------------
    def start(self) -> None:
        """Open (create or migrate) the database and start the writer thread."""
        try:
            self._writer.start()
        except Exception as exc:
            self._open_error = f"{type(exc).__name__}: {exc}"
            raise
        self._open_error = None
        self._started = True

    def stop(self) -> None:
        """Commit what is queued and stop the writer thread."""
        self._writer.stop()
        self._started = False

    def submit(self, update: SourceUpdate) -> None:
        """Queue one reading for writing (the reader's sink); never blocks."""
        self._writer.submit(update)

    def flush(self, timeout_s: float = 10.0, *, retention: bool = False) -> bool:
        """Wait until everything submitted so far is committed and rolled up; with `retention`,
        also apply retention now (otherwise it runs hourly)."""
        return self._writer.flush(timeout_s, retention=retention)

    # -- reads --------------------------------------------------------------------------------
    def historical(
        self, source: str, metrics: Sequence[str], start: float, end: float, points: int = 1000
    ) -> dict[str, Any]:
        """Downsampled series for a chart, as a dict; see docs/INTERFACES.md "Web data path"."""
        return json.loads(self.historical_json(source, metrics, start, end, points))

    def historical_json(
        self, source: str, metrics: Sequence[str], start: float, end: float, points: int = 1000,
        *, extra: dict[str, Any] | None = None,
    ) -> bytes:
        """The same as `historical`, already encoded as the JSON body, with `extra` keys appended
        (the fast path for the API: SQLite builds the arrays, Python never touches the numbers)."""
        conn = self._reader()
        series = self._series_of(conn, source, metrics)
        return queries.historical_json(
            conn, series, source, metrics, start, end, points, self.retention, self._clock(), extra,
            cache=self._blocks,
        )

    def export_rows(
        self, source: str, metrics: Sequence[str], start: float, end: float
    ) -> Iterator[tuple[int, list[float | None]]]:
        """(ts, values in `metrics` order) rows for the CSV export, oldest first."""
        conn = self._reader()
        series = self._series_of(conn, source, metrics)
        ids = [series[m][0] if m in series else None for m in metrics]
        return queries.export_rows(conn, ids, start, end, self.retention, self._clock())

    def metrics(self, source: str | None = None) -> list[dict[str, str]]:
        """Every (source, metric, unit) series with history, optionally of one source."""
        conn = self._reader()
        sql = "SELECT source, metric, unit FROM series"
        rows = conn.execute(sql + " WHERE source = ? ORDER BY metric", (source,)) if source else \
            conn.execute(sql + " ORDER BY source, metric")
        return [{"source": s, "metric": m, "unit": u} for s, m, u in rows]

    def latest_ts(self, source: str) -> int | None:
        """The newest raw sample's time (Unix seconds) of any metric of `source`; None: none yet.

        One primary-key probe per series (max of a (series, ts) key range), not a scan."""
        conn = self._reader()
        row = conn.execute(
            "SELECT max((SELECT max(ts) FROM raw WHERE series = s.id)) FROM series s WHERE source = ?",
            (source,),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def sources(self) -> list[str]:
        """Every source with history."""
        conn = self._reader()
        return [row[0] for row in conn.execute("SELECT DISTINCT source FROM series ORDER BY source")]

    def energy_sums(
        self, bounds: Sequence[tuple[int, int]], source: str | None = None
    ) -> dict[tuple[str, str], list[float | None]]:
        """Integrated Wh per (source, kind) in each [start, end) of `bounds` (None: no energy).

        One primary-key range per (source, kind, period): a year of months sums in C, never
        walking the buckets in Python."""
        conn = self._reader()
        pairs = conn.execute("SELECT source, kind FROM energy_state ORDER BY source, kind").fetchall()
        out: dict[tuple[str, str], list[float | None]] = {}
        for src, kind in pairs:
            if source is not None and src != source:
                continue
            out[(src, kind)] = [
                conn.execute(
                    "SELECT sum(wh) FROM energy WHERE source = ? AND kind = ? AND ts >= ? AND ts < ?",
                    (src, kind, lo, hi),
                ).fetchone()[0]
                for lo, hi in bounds
            ]
        return out

    def energy_wh(self, source: str, start: int, end: int) -> dict[str, float]:
        """Integrated Wh per kind of one source in [start, end)."""
        totals = dict.fromkeys(KINDS, 0.0)
        for (_src, kind), (wh,) in self.energy_sums([(start, end)], source).items():
            totals[kind] = wh or 0.0
        return totals

    def period_max(self, source: str, metric: str, bounds: list[tuple[int, int]]) -> list[float | None]:
        """The largest value of one metric in each [start, end) range (counters), None where no data."""
        conn = self._reader()
        series = self._series_of(conn, source, [metric])
        if metric not in series:
            return [None] * len(bounds)
        sid = series[metric][0]
        out: list[float | None] = []
        for lo, hi in bounds:
            raw_cut = self.retention.cutoff("raw", self._clock())
            table, column = ("raw", "value") if raw_cut is None or lo >= raw_cut else ("roll_1m", "vmax")
            # Table and column come from the fixed pair above, never from input.
            row = conn.execute(
                f"SELECT max({column}) FROM {table} WHERE series = ? AND ts >= ? AND ts < ?",  # noqa: S608
                (sid, lo, hi),
            ).fetchone()
            out.append(row[0])
        return out

    def status(self) -> dict[str, Any]:
        """JSON-able health of the history for /api/status."""
        stats = self._writer.stats
        try:
            size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        except OSError:
            size = None
        if self._open_error:
            error: str | None = self._open_error
        elif not self._started:
            error = "not started"
        else:
            error = stats.last_error if stats.failing else None
        return {
            "ok": error is None,
            "error": error,
            "last_error": stats.last_error,
            "schema_version": SCHEMA_VERSION,
            "migrated_from": stats.migrated_from,
            "path": str(self.path),
            "queued": self._writer.queued,
            "dropped": stats.dropped,
            "rows_written": stats.rows_written,
            "write_errors": stats.errors,
            "last_commit": stats.last_commit,
            "size_bytes": size,
        }

    # -- internals ----------------------------------------------------------------------------
    def _reader(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not self._started:
                raise HistoryUnavailableError(self._open_error or "history database not started")
            conn = connect(self.path, read_only=True)
            if schema_version(conn) != SCHEMA_VERSION:
                conn.close()
                raise HistoryUnavailableError("history database has an unexpected schema version")
            self._local.conn = conn
        return conn

    def _series_of(self, conn: Any, source: str, metrics: Sequence[str]) -> dict[str, tuple[int, str]]:
        with self._series_lock:
            known = self._series.get(source, {})
            if any(m not in known for m in metrics):
                rows = conn.execute("SELECT metric, id, unit FROM series WHERE source = ?", (source,))
                known = {metric: (sid, unit) for metric, sid, unit in rows}
                self._series[source] = known
            return {m: known[m] for m in metrics if m in known}
