"""History database schema: versioned in `PRAGMA user_version`, migrated forward on start.

Layout, chosen for range reads by (metric, time):
- `series(id, source, metric, unit)`: one row per (source, metric), so samples carry a small
  integer instead of two strings;
- `raw`, `roll_1m`, `roll_2m`, `roll_15m`, `roll_1h`: WITHOUT ROWID tables keyed (series, ts), ts in
  integer Unix seconds; a chart query is then one contiguous B-tree range per metric, no separate index;
- `energy(source, kind, ts, wh)`: integrated energy per 15-minute UTC bucket (every time zone's
  midnight falls on a quarter hour, so local days and months are sums of whole buckets);
- `energy_state`: the last power sample per (source, kind), so integration resumes after a restart.

Each migration is a function taking the connection inside one transaction: an upgrade either
completes or leaves the old version untouched. Nothing is dropped: v2 derives rollups and energy
from the v1 raw rows it keeps, v3 the 1-hour tier from the 15-minute one, v6 the 2-minute tier
from the 1-minute one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from solarmon.web.energy import backfill_energy

log = logging.getLogger(__name__)

SCHEMA_VERSION = 6
READER_CACHE_KIB = 512


def _v1(conn: sqlite3.Connection) -> None:
    """The first schema: series and raw samples only."""
    conn.execute(
        "CREATE TABLE series (id INTEGER PRIMARY KEY, source TEXT NOT NULL, metric TEXT NOT NULL,"
        " UNIQUE (source, metric))"
    )
    conn.execute(
        "CREATE TABLE raw (series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,"
        " PRIMARY KEY (series, ts)) WITHOUT ROWID"
    )


def _v2(conn: sqlite3.Connection) -> None:
    """Units, 1-minute and 15-minute rollups, energy buckets; all derived from the kept raw rows."""
    conn.execute("ALTER TABLE series ADD COLUMN unit TEXT NOT NULL DEFAULT ''")
    for table in ("roll_1m", "roll_15m"):
        conn.execute(
            f"CREATE TABLE {table} (series INTEGER NOT NULL, ts INTEGER NOT NULL, n INTEGER NOT NULL,"
            " vmin REAL NOT NULL, vavg REAL NOT NULL, vmax REAL NOT NULL,"
            " PRIMARY KEY (series, ts)) WITHOUT ROWID"
        )
    conn.execute(
        "CREATE TABLE energy (source TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL,"
        " wh REAL NOT NULL, PRIMARY KEY (source, kind, ts)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE energy_state (source TEXT NOT NULL, kind TEXT NOT NULL, ts REAL NOT NULL,"
        " watts REAL NOT NULL, PRIMARY KEY (source, kind)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO roll_1m SELECT series, (ts / 60) * 60, count(*), min(value), avg(value),"
        " max(value) FROM raw GROUP BY series, ts / 60"
    )
    conn.execute(
        "INSERT INTO roll_15m SELECT series, (ts / 900) * 900, sum(n), min(vmin),"
        " sum(vavg * n) / sum(n), max(vmax) FROM roll_1m GROUP BY series, ts / 900"
    )
    backfill_energy(conn)


def _v3(conn: sqlite3.Connection) -> None:
    """A 1-hour tier (kept forever, like 15 minutes): a 30-day chart of ~1000 points then reads
    720 stored rows per metric as they are, with no GROUP BY (see queries.choose_tier)."""
    conn.execute(
        "CREATE TABLE roll_1h (series INTEGER NOT NULL, ts INTEGER NOT NULL, n INTEGER NOT NULL,"
        " vmin REAL NOT NULL, vavg REAL NOT NULL, vmax REAL NOT NULL,"
        " PRIMARY KEY (series, ts)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO roll_1h SELECT series, (ts / 3600) * 3600, sum(n), min(vmin),"
        " sum(vavg * n) / sum(n), max(vmax) FROM roll_15m GROUP BY series, ts / 3600"
    )


def _v4(conn: sqlite3.Connection) -> None:
    """Alerts: active alerts, the log of past ones and their deliveries (owned by solarmon/alerts)."""
    from solarmon.alerts.store import create_tables

    create_tables(conn)


# The names the web app stored before the field catalog (issue 13): mppsolar's series names, with
# `rated_` added for the 9 QPIRI names QPIGS shares and `default_` for those QDI shares.
_LEGACY_PREFIXED = {"QPIRI": "rated_", "QDI": "default_"}
_LEGACY_SHARED = frozenset({
    "ac_input_voltage", "ac_input_frequency", "ac_input_current", "ac_output_voltage",
    "ac_output_frequency", "ac_output_current", "ac_output_apparent_power", "ac_output_active_power",
    "battery_voltage",
})
_TIERS = ("raw", "roll_1m", "roll_15m", "roll_1h")


def legacy_renames() -> dict[str, str]:
    """Old stored metric name -> catalog key, for every field whose stored name was not its key.

    QDI's other fields were stored under QPIRI's names (one series for both: defect 1), so those
    series stay with the QPIRI key; a name that is itself a catalog key is never renamed.
    """
    from solarmon.inverter import catalog

    found: dict[str, set[str]] = {}
    for entry in catalog.CATALOG.values():
        if entry.command == "QDI" and entry.name not in _LEGACY_SHARED:
            continue
        old = entry.name
        if entry.name in _LEGACY_SHARED and entry.command in _LEGACY_PREFIXED:
            old = _LEGACY_PREFIXED[entry.command] + entry.name
        if old != entry.key and old not in catalog.CATALOG:
            found.setdefault(old, set()).add(entry.key)
    return {old: next(iter(keys)) for old, keys in sorted(found.items()) if len(keys) == 1}


def _v5(conn: sqlite3.Connection) -> None:
    """Metric names become the field catalog's keys (battery_voltage_too_high_fault ->
    battery_voltage_high, rsv1 -> battery_voltage_offset_for_fans_on...), so charts keep their past.
    Where both names already hold rows, they are merged (the catalog key's row wins a tie)."""
    for old, new in legacy_renames().items():
        for sid, source in conn.execute("SELECT id, source FROM series WHERE metric = ?", (old,)).fetchall():
            target = conn.execute("SELECT id FROM series WHERE source = ? AND metric = ?",
                                  (source, new)).fetchone()
            if target is None:
                conn.execute("UPDATE series SET metric = ? WHERE id = ?", (new, sid))
                continue
            for table in _TIERS:  # fixed names, not input
                conn.execute(f"UPDATE OR IGNORE {table} SET series = ? WHERE series = ?",  # noqa: S608
                             (target[0], sid))
                conn.execute(f"DELETE FROM {table} WHERE series = ?", (sid,))  # noqa: S608
            conn.execute("DELETE FROM series WHERE id = ?", (sid,))



def _v6(conn: sqlite3.Connection) -> None:
    """A 2-minute tier (kept as long as the 1-minute one): a 24-hour chart of ~1000 points then
    reads 720 stored rows per metric as they are, instead of grouping 1,440 one-minute rows in a
    sorted GROUP BY (issue 14.18: the sort was a third of a first 24-hour query)."""
    conn.execute(
        "CREATE TABLE roll_2m (series INTEGER NOT NULL, ts INTEGER NOT NULL, n INTEGER NOT NULL,"
        " vmin REAL NOT NULL, vavg REAL NOT NULL, vmax REAL NOT NULL,"
        " PRIMARY KEY (series, ts)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO roll_2m SELECT series, (ts / 120) * 120, sum(n), min(vmin),"
        " sum(vavg * n) / sum(n), max(vmax) FROM roll_1m GROUP BY series, ts / 120"
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5, _v6)


class SchemaError(RuntimeError):
    """The database is newer than this program, or not a history database."""


def connect(path: str | Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the database with the pragmas every connection needs (WAL, busy timeout).

    `isolation_level=None` leaves transactions to explicit BEGIN/COMMIT, so a batch is exactly one
    transaction. synchronous=NORMAL in WAL mode keeps every committed batch across a killed
    process (only an OS crash may lose the last few commits).
    """
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=True)
    conn.execute("PRAGMA busy_timeout = 10000")
    if read_only:
        conn.execute("PRAGMA query_only = 1")
        # Every request thread has its own reader: a small page cache each keeps the web process
        # small with many threads; the OS page cache holds the file anyway.
        conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the database's schema version (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database forward to `target`, one transaction per step; return the old version."""
    old = schema_version(conn)
    if old > len(MIGRATIONS):
        raise SchemaError(f"database schema v{old} is newer than this program (v{SCHEMA_VERSION})")
    if old == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise SchemaError("file holds tables but no schema version: not a solarmon history database")
    for version in range(old + 1, target + 1):
        if old:  # a new file is simply created; an upgrade is worth a line in the log
            log.info("history database: migrating schema v%d -> v%d", version - 1, version)
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version - 1](conn)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return old
