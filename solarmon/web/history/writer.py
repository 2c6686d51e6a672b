"""The history's single writer: one thread owns the write connection and drains a queue.

Readings arrive from the reader thread through `submit()`, which never blocks (a full queue drops
the reading and counts it). The thread writes what has queued up as ONE transaction every
`commit_interval_s` at most, so a killed process loses at most that much; rollups of the touched
buckets follow every `rollup_interval_s`, retention every `retention_interval_s`. A failed
transaction (disk full, locked) is rolled back and retried with the next batch; nothing already
committed is at risk.
"""

from __future__ import annotations

import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from solarmon.web.energy import (
    MAX_GAP_S,
    EnergyIntegrator,
    load_integrator,
    power_flows,
    save_integrator,
    store_energy,
)
from solarmon.web.history import rollups
from solarmon.web.history.blockcache import BlockCache
from solarmon.web.history.rollups import Retention
from solarmon.web.history.schema import connect, migrate
from solarmon.web.state import SourceUpdate

log = logging.getLogger(__name__)

MAX_BATCH = 20_000
MAX_TS = 2**40  # year 36812: anything later (or negative, or NaN) is not a reading's time
MAX_PENDING_ROWS = 2_000_000


@dataclass
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)
    retention: bool = False


@dataclass
class WriterStats:
    """Counters the writer keeps for /api/status (read without a lock: ints and floats only)."""

    rows_written: int = 0
    batches: int = 0
    dropped: int = 0
    errors: int = 0
    last_error: str | None = None
    failing: bool = False  # the last transaction failed (cleared by the next one that works)
    last_commit: float | None = None
    migrated_from: int | None = None


class HistoryWriter:
    """Owns the write connection and the writer thread; see the module docstring."""

    def __init__(
        self,
        path: Path,
        retention: Retention,
        *,
        commit_interval_s: float = 0.5,
        rollup_interval_s: float = 2.0,
        retention_interval_s: float = 3600.0,
        queue_size: int = 200_000,
        max_gap_s: float = MAX_GAP_S,
        clock: Callable[[], float] = time.time,
        cache: BlockCache | None = None,
    ) -> None:
        self.path = path
        self.cache = cache  # told about every committed change (blockcache.py)
        self.retention = retention
        self.stats = WriterStats()
        self._commit_interval_s = commit_interval_s
        self._errors_at_failure = 0  # stats.errors when the current failure began
        self._rollup_interval_s = rollup_interval_s
        self._retention_interval_s = retention_interval_s
        self._max_gap_s = max_gap_s
        self._clock = clock
        self._queue: queue.Queue[SourceUpdate | _Flush | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._series: dict[tuple[str, str], tuple[int, str]] = {}
        self._touched: dict[int, tuple[int, int]] = {}
        self._pending: list[SourceUpdate] = []
        self._integrator = EnergyIntegrator(max_gap_s=max_gap_s)

    # -- life cycle ---------------------------------------------------------------------------
    def open(self) -> None:
        """Open and migrate the database (in the caller's thread; the connection moves to the
        writer thread right after, before anyone else can use it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
        self.stats.migrated_from = migrate(conn)
        self._series = {
            (src, metric): (sid, unit)
            for sid, src, metric, unit in conn.execute("SELECT id, source, metric, unit FROM series")
        }
        self._integrator = load_integrator(conn, self._max_gap_s)
        conn.close()

    def start(self) -> None:
        """Open the DB and start the writer thread."""
        self.open()
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything queued, then end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    @property
    def queued(self) -> int:
        """How many readings wait in the queue."""
        return self._queue.qsize()

    def submit(self, update: SourceUpdate) -> bool:
        """Queue a reading for writing; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(update)
            return True
        except queue.Full:
            self.stats.dropped += 1
            return False

    def flush(self, timeout_s: float = 10.0, *, retention: bool = False) -> bool:
        """Wait until everything submitted before this call is committed and rolled up (and,
        with `retention`, old rows deleted now rather than at the next hourly run)."""
        if self._thread is None or not self._thread.is_alive():
            return False
        marker = _Flush(retention=retention)
        self._queue.put(marker)
        return marker.done.wait(timeout_s)

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        self._conn = connect(self.path)
        last_rollup = last_retention = 0.0
        stopping = False
        try:
            while not stopping:
                # Wait for the first item, then take whatever else is already queued: under load
                # batches grow by themselves, at a trickle every reading commits at once.
                try:
                    items: list[SourceUpdate | _Flush | None] = [
                        self._queue.get(timeout=self._commit_interval_s)
                    ]
                except queue.Empty:
                    items = []
                while len(items) < MAX_BATCH:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                markers = [item for item in items if isinstance(item, _Flush)]
                stopping = any(item is None for item in items)
                self._pending.extend(item for item in items if isinstance(item, SourceUpdate))
                try:
                    self._write_pending()
                except Exception as exc:  # a bug must not kill the only writer: drop the batch
                    log.exception("history batch dropped")
                    self.stats.errors += 1
                    self.stats.dropped += len(self._pending)
                    self.stats.last_error = f"write: {type(exc).__name__}: {exc}"
                    self._pending = []
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                now = time.monotonic()
                if self._touched and (markers or stopping or now - last_rollup >= self._rollup_interval_s):
                    if self._transaction(lambda c: rollups.rollup(c, self._touched), "rollup"):
                        if self.cache is not None:
                            self.cache.invalidate(self._touched)
                        self._touched = {}
                    last_rollup = now
                if now - last_retention >= self._retention_interval_s or any(m.retention for m in markers):
                    self._transaction(
                        lambda c: rollups.apply_retention(c, self.retention, self._clock()), "retention"
                    )
                    if self.cache is not None:
                        self.cache.clear()
                    last_retention = now
                for marker in markers:
                    marker.done.set()
        finally:
            self._conn.close()
            self._conn = None

    def _transaction(self, work: Callable[[sqlite3.Connection], object], what: str) -> bool:
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            work(conn)
            conn.execute("COMMIT")
            # A rollup or retention run that succeeds while a failed batch still waits for its
            # retry does not make the history healthy again: only writing that batch does.
            if (what == "write" or not self._pending) and self.stats.failing:
                self.stats.failing = False
                log.warning("history writing works again (%d failures while it failed)",
                            self.stats.errors - self._errors_at_failure)
            return True
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.stats.errors += 1
            self.stats.last_error = f"{what}: {exc}"
            # Logged on the transition only: a full disk retried every commit interval must not
            # also fill the journal (the failures are counted in /api/status and /metrics).
            if not self.stats.failing:
                self._errors_at_failure = self.stats.errors - 1
                log.error("history %s failed: %s (retried; logged again when it works)", what, exc)
            self.stats.failing = True
            return False

    def _write_pending(self) -> None:
        if not self._pending:
            return
        batch = self._pending
        rows: list[tuple[int, int, float]] = []
        new_series: dict[tuple[str, str], tuple[int, str]] = {}
        integrator_before = dict(self._integrator.last)
        energy: dict[tuple[str, str, int], float] = {}

        def work(conn: sqlite3.Connection) -> None:
            """Samples, energy and the integrator's state: all in one transaction."""
            for update in batch:
                if not (isinstance(update.ts, int | float) and 0 <= update.ts < MAX_TS):
                    self.stats.dropped += 1  # a nonsense time would poison every batch after it
                    continue
                ts = int(math.floor(update.ts))
                for metric, value in update.values.items():
                    if isinstance(value, str):
                        continue  # strings (mode names) are live-only; the history holds numbers
                    try:
                        number = float(value)
                    except (TypeError, ValueError, OverflowError):
                        continue
                    if not math.isfinite(number):
                        continue
                    sid = self._series_id(conn, update.source, metric, update.units.get(metric, ""),
                                          new_series)
                    rows.append((sid, ts, number))
                for key, wh in self._integrator.add(update.source, update.ts,
                                                     power_flows(update.values)).items():
                    energy[key] = energy.get(key, 0.0) + wh
            conn.executemany("INSERT OR REPLACE INTO raw (series, ts, value) VALUES (?, ?, ?)", rows)
            store_energy(conn, energy)
            save_integrator(conn, self._integrator)

        if self._transaction(work, "write"):
            self._series.update(new_series)
            rollups.merge_touched(self._touched, rows)
            if self.cache is not None:
                batch_touched: dict[int, tuple[int, int]] = {}
                rollups.merge_touched(batch_touched, rows)
                self.cache.invalidate(batch_touched)
            self.stats.rows_written += len(rows)
            self.stats.batches += 1
            self.stats.last_commit = self._clock()
            self._pending = []
        else:
            # Keep the batch for the next try, but never grow without bound (disk full for hours).
            self._integrator.last = integrator_before
            if len(self._pending) > MAX_PENDING_ROWS // 25:
                self.stats.dropped += len(self._pending)
                self._pending = []

    def _series_id(
        self, conn: sqlite3.Connection, source: str, metric: str, unit: str,
        new_series: dict[tuple[str, str], tuple[int, str]],
    ) -> int:
        key = (source, metric)
        known = new_series.get(key) or self._series.get(key)
        if known is not None:
            if unit and known[1] != unit:
                conn.execute("UPDATE series SET unit = ? WHERE id = ?", (unit, known[0]))
                new_series[key] = (known[0], unit)
            return known[0]
        cur = conn.execute(
            "INSERT INTO series (source, metric, unit) VALUES (?, ?, ?)", (source, metric, unit)
        )
        sid = int(cur.lastrowid or 0)
        new_series[key] = (sid, unit)
        return sid

