"""Alert state in the history database: active alerts, the log of past ones, and deliveries.

The tables are schema v4 of the history database (`create_tables` is the migration step, called
from solarmon/web/history/schema.py), so one file holds the history and the alerts and one backup
saves both. An alert is one row from firing to clearing (`cleared_ts` NULL while active; a
partial unique index keeps one active row per rule and source). The store has its own connection:
the history writer keeps its own, and WAL lets both write in turn. When the history database cannot
be used, the store falls back to an in-memory database: alerts still work, but are not kept across
a restart (its status says so).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from solarmon.alerts.evaluator import Transition

LOG = logging.getLogger(__name__)
LOG_RETENTION_DAYS = 365
COLUMNS = ("id", "rule", "source", "severity", "metric", "message", "fired_ts", "fired_value",
           "cleared_ts", "cleared_value", "clear_message", "acked_ts", "acked_by", "unit")


def create_tables(conn: sqlite3.Connection) -> None:
    """Schema v4 of the history database: the alert tables (runs inside the migration transaction)."""
    conn.execute(
        "CREATE TABLE alert (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, source TEXT NOT NULL,"
        " severity TEXT NOT NULL, metric TEXT NOT NULL, message TEXT NOT NULL,"
        " fired_ts REAL NOT NULL, fired_value TEXT, cleared_ts REAL, cleared_value TEXT,"
        " clear_message TEXT, acked_ts REAL, acked_by TEXT, unit TEXT NOT NULL DEFAULT '')"
    )
    conn.execute("CREATE UNIQUE INDEX alert_active ON alert (rule, source) WHERE cleared_ts IS NULL")
    conn.execute("CREATE INDEX alert_fired ON alert (fired_ts)")
    conn.execute(
        "CREATE TABLE alert_delivery (id INTEGER PRIMARY KEY, alert INTEGER, kind TEXT NOT NULL,"
        " channel TEXT NOT NULL, ts REAL NOT NULL, ok INTEGER NOT NULL, attempts INTEGER NOT NULL,"
        " error TEXT)"
    )
    conn.execute("CREATE INDEX alert_delivery_alert ON alert_delivery (alert)")


class AlertStore:
    """Thread-safe access to the alert tables through one connection behind a lock."""

    def __init__(self, path: str | Path | None, *, clock: Any = time.time) -> None:
        """Remember the database path (None: memory only); nothing is opened until `open()`."""
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.persistent = False
        self.error: str | None = None

    def open(self) -> None:
        """Open the history database (its migration made the tables); fall back to memory."""
        with self._lock:
            if self._conn is not None:
                return
            if self.path is not None:
                try:
                    # mode=rw: never create the file; that is the history's job (and its migration's).
                    uri = f"file:{quote(str(self.path.resolve()))}?mode=rw"
                    conn = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None,
                                           check_same_thread=False)
                    conn.execute("PRAGMA busy_timeout = 10000")
                    conn.execute("SELECT 1 FROM alert LIMIT 1")
                    self._conn, self.persistent, self.error = conn, True, None
                except sqlite3.Error as exc:
                    self.error = (f"history database {self.path} has no alert tables ({exc}): "
                                  "alerts are kept in memory until the history starts")
                    LOG.error("%s", self.error)
            if self._conn is None:
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                create_tables(conn)
                self._conn = conn

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def is_open(self) -> bool:
        """True between `open()` and `close()`."""
        return self._conn is not None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("alert store not open")
        return self._conn

    def fire(self, t: Transition) -> int:
        """Record an alert firing; returns its id (the active row's id if one is already open)."""
        with self._lock:
            db = self._db()
            row = db.execute("SELECT id FROM alert WHERE rule = ? AND source = ? AND cleared_ts IS NULL",
                             (t.rule.name, t.source)).fetchone()
            if row is not None:
                return int(row[0])
            cur = db.execute(
                "INSERT INTO alert (rule, source, severity, metric, message, fired_ts, fired_value, unit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (t.rule.name, t.source, t.rule.severity, t.rule.metric, t.message, t.ts, _text(t.value),
                 t.unit))
            return int(cur.lastrowid or 0)

    def clear(self, t: Transition) -> int | None:
        """Record an alert clearing; returns its id, None when it was not active."""
        return self.close_active(t.rule.name, t.source, t.ts, _text(t.value), t.message)

    def close_active(self, rule: str, source: str, ts: float, value: str | None = None,
                     message: str | None = None) -> int | None:
        """Mark the active alert of (rule, source) cleared at `ts`."""
        with self._lock:
            db = self._db()
            row = db.execute("SELECT id FROM alert WHERE rule = ? AND source = ? AND cleared_ts IS NULL",
                             (rule, source)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE alert SET cleared_ts = ?, cleared_value = ?, clear_message = ? WHERE id = ?",
                       (ts, value, message, row[0]))
            return int(row[0])

    def acknowledge(self, alert_id: int, by: str) -> dict[str, Any] | None:
        """Acknowledge one alert (keeps the first acknowledgement); None when there is no such id."""
        with self._lock:
            db = self._db()
            db.execute("UPDATE alert SET acked_ts = ?, acked_by = ? WHERE id = ? AND acked_ts IS NULL",
                       (self._clock(), by, alert_id))
            rows = self._select("WHERE id = ?", (alert_id,))
        return rows[0] if rows else None

    def record_delivery(self, alert_id: int | None, kind: str, channel: str, ok: bool, attempts: int,
                        error: str | None) -> None:
        """Log one delivery outcome (sent, or given up after `attempts`)."""
        with self._lock:
            self._db().execute(
                "INSERT INTO alert_delivery (alert, kind, channel, ts, ok, attempts, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (alert_id, kind, channel, self._clock(), int(ok), attempts,
                                                  error))

    def active(self) -> list[dict[str, Any]]:
        """Active alerts, most severe first, then newest first."""
        with self._lock:
            return self._select("WHERE cleared_ts IS NULL ORDER BY CASE severity WHEN 'critical' THEN 0"
                                " WHEN 'warning' THEN 1 ELSE 2 END, fired_ts DESC", ())

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """Past (cleared) alerts, newest first."""
        with self._lock:
            return self._select("WHERE cleared_ts IS NOT NULL ORDER BY cleared_ts DESC LIMIT ?", (limit,))

    def deliveries(self, alert_id: int) -> list[dict[str, Any]]:
        """The delivery log of one alert, oldest first."""
        with self._lock:
            rows = self._db().execute(
                "SELECT kind, channel, ts, ok, attempts, error FROM alert_delivery WHERE alert = ?"
                " ORDER BY id", (alert_id,)).fetchall()
        return [{"kind": k, "channel": c, "ts": ts, "ok": bool(ok), "attempts": n, "error": e}
                for k, c, ts, ok, n, e in rows]

    def prune(self, days: float = LOG_RETENTION_DAYS) -> int:
        """Forget cleared alerts (and their deliveries) older than `days`; returns how many."""
        cutoff = self._clock() - days * 86400
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM alert_delivery WHERE alert IN (SELECT id FROM alert WHERE"
                       " cleared_ts IS NOT NULL AND cleared_ts < ?)", (cutoff,))
            return db.execute("DELETE FROM alert WHERE cleared_ts IS NOT NULL AND cleared_ts < ?",
                              (cutoff,)).rowcount

    def status(self) -> dict[str, Any]:
        """JSON-able health for /api/status."""
        return {"ok": self.error is None and self._conn is not None, "persistent": self.persistent,
                "error": self.error, "path": str(self.path) if self.path else None}

    def _select(self, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        # `where` is always one of the fixed clauses above; values travel as parameters.
        rows = self._db().execute(f"SELECT {', '.join(COLUMNS)} FROM alert {where}", params).fetchall()  # noqa: S608
        return [_row_json(dict(zip(COLUMNS, row, strict=True))) for row in rows]


def _text(value: Any) -> str | None:
    """A value as stored (text keeps numbers and mode names alike)."""
    return None if value is None else str(value)


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API shows it: ISO times next to the Unix ones, `active` and `acknowledged`."""
    for key in ("fired", "cleared", "acked"):
        ts = row.get(f"{key}_ts")
        row[f"{key}_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else None
    row["active"] = row["cleared_ts"] is None
    row["acknowledged"] = row["acked_ts"] is not None
    row["device"] = row["source"].split(":", 1)[1] if row["source"].startswith("inverter:") else row["source"]
    return row
