"""The modelled hours the web app keeps for calibration: `var/forecast.db` (SQLite, WAL).

Each forecast the fetcher publishes covers yesterday, today and tomorrow; every hour's modelled
power is upserted, so the value kept for a past hour is the last one the fetcher made for it (for
yesterday: the model run on Open-Meteo's analysis of that day, its best guess). A file of its own,
not a table in the history database: its schema then never meets the history's migrations.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

RETENTION_DAYS = 400

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS modelled (array_name TEXT NOT NULL, ts INTEGER NOT NULL,"
    " watts REAL NOT NULL, made_ts REAL NOT NULL, PRIMARY KEY (array_name, ts)) WITHOUT ROWID"
)


class ForecastStore:
    """Upsert and read modelled hours; one connection behind a lock (few writes an hour)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        """Create the file and table when missing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(_SCHEMA)
        self._conn = conn

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def save(self, hours: Iterable[Mapping[str, object]], made_ts: float) -> int:
        """Upsert each hour's `power_w` per array; drop rows older than RETENTION_DAYS."""
        rows = [
            (str(name), int(hour["start_ts"]), float(watts), made_ts)  # type: ignore[arg-type]
            for hour in hours
            for name, watts in dict(hour["power_w"]).items()  # type: ignore[call-overload]
        ]
        with self._lock:
            if self._conn is None:
                return 0
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO modelled VALUES (?, ?, ?, ?) ON CONFLICT (array_name, ts) DO UPDATE SET"
                    " watts = excluded.watts, made_ts = excluded.made_ts WHERE excluded.made_ts >= made_ts",
                    rows,
                )
                self._conn.execute("DELETE FROM modelled WHERE ts < ?", (made_ts - RETENTION_DAYS * 86400,))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(rows)

    def modelled(self, start: int, end: int) -> dict[str, dict[int, float]]:
        """{array: {hour start: W}} for hours starting in [start, end)."""
        with self._lock:
            if self._conn is None:
                return {}
            rows = self._conn.execute(
                "SELECT array_name, ts, watts FROM modelled WHERE ts >= ? AND ts < ?", (start, end)
            ).fetchall()
        out: dict[str, dict[int, float]] = {}
        for name, ts, watts in rows:
            out.setdefault(name, {})[int(ts)] = float(watts)
        return out
