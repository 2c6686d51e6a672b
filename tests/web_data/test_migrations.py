"""Schema versions: a v1 database migrates forward with nothing lost; bad files are refused."""

from __future__ import annotations

import sqlite3

import pytest

from solarmon.web.history import History
from solarmon.web.history.schema import MIGRATIONS, SCHEMA_VERSION, SchemaError, connect, migrate
from tests.web_data.conftest import T0

SRC = "inverter:old"


def make_v1_database(path) -> list[tuple[str, int, float]]:
    """A database exactly as schema v1 left it, with an hour of 10 s samples; returns the rows."""
    conn = connect(path)
    migrate(conn, target=1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    rows = []
    constant = {"battery_voltage": 50.0, "battery_charging_current": 10.0, "battery_discharge_current": 0.0,
                "pv_input_power": 1000.0, "ac_output_active_power": 400.0, "ac_input_voltage": 0.0}
    conn.execute("BEGIN")
    for metric, value in constant.items():
        sid = conn.execute("INSERT INTO series (source, metric) VALUES (?, ?)", (SRC, metric)).lastrowid
        for i in range(360):
            conn.execute("INSERT INTO raw (series, ts, value) VALUES (?, ?, ?)", (sid, T0 + 10 * i, value))
            rows.append((metric, T0 + 10 * i, value))
    conn.execute("COMMIT")
    conn.close()
    return rows


def test_v1_database_migrates_without_loss(tmp_path, make_history):
    path = tmp_path / "old.db"
    rows = make_v1_database(path)
    hist = make_history(path, clock=lambda: T0 + 3600)
    status = hist.status()
    assert status["migrated_from"] == 1
    assert status["schema_version"] == SCHEMA_VERSION
    exported = list(hist.export_rows(SRC, ["battery_voltage", "pv_input_power"], T0, T0 + 3600))
    assert len(exported) == 360
    assert exported[0] == (T0, [50.0, 1000.0])
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM raw").fetchone()[0] == len(rows)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Rollups were derived from the kept raw rows...
    chart = hist.historical(SRC, ["pv_input_power"], T0, T0 + 3600, 4)
    assert chart["tier"] == "15m"
    assert set(chart["series"]["pv_input_power"]["avg"]) == {1000.0}
    assert len(chart["t"]) == 5  # T0 is not on a quarter hour: the hour touches 5 quarters
    # ... and so was the energy: 359 intervals of 10 s at 1 kW PV, 500 W charging, 400 W load.
    wh = hist.energy_wh(SRC, T0 - 900, T0 + 3600)
    assert wh["pv"] == pytest.approx(1000 * 3590 / 3600)
    assert wh["battery_charge"] == pytest.approx(500 * 3590 / 3600)
    assert wh["load"] == pytest.approx(400 * 3590 / 3600)
    assert wh["grid"] == 0.0


def test_new_writes_after_migration_continue(tmp_path, make_history):
    from solarmon.web.state import SourceUpdate

    path = tmp_path / "old.db"
    make_v1_database(path)
    hist = make_history(path, clock=lambda: T0 + 7200)
    hist.submit(SourceUpdate(SRC, T0 + 3600, {"battery_voltage": 51.0}, {"battery_voltage": "V"}))
    assert hist.flush()
    rows = list(hist.export_rows(SRC, ["battery_voltage"], T0 + 3590, T0 + 3601))
    assert rows == [(T0 + 3590, [50.0]), (T0 + 3600, [51.0])]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = connect(path)
    migrate(conn)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    hist = History(path)
    with pytest.raises(SchemaError, match="newer"):
        hist.start()
    assert hist.status()["ok"] is False
    assert "newer" in hist.status()["error"]


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="not a solarmon history"):
        History(path).start()


def test_failed_migration_leaves_old_version(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    make_v1_database(path)

    def broken(conn):
        conn.execute("ALTER TABLE series ADD COLUMN unit TEXT")
        raise sqlite3.OperationalError("disk I/O error (simulated in the middle of a migration)")

    conn = connect(path)
    monkeypatch.setattr("solarmon.web.history.schema.MIGRATIONS", (MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = [row[1] for row in conn.execute("PRAGMA table_info(series)")]
    assert "unit" not in columns  # rolled back as a whole
    conn.close()


def test_v5_renames_stored_metrics_to_catalog_keys(tmp_path, make_history):
    """Issue 13: /api/data keys became catalog keys; the history's old names follow, so a chart of
    battery_voltage_high still shows what was stored as battery_voltage_too_high_fault."""
    path = tmp_path / "v4.db"
    conn = connect(path)
    migrate(conn, target=4)
    conn.execute("BEGIN")
    for metric, ts, value in [("battery_voltage_too_high_fault", T0, 1.0), ("rsv1", T0, 7.0),
                              ("line_fail_warning", T0, 1.0), ("line_fail", T0 + 10, 0.0),
                              ("battery_voltage", T0, 52.0)]:
        row = conn.execute("SELECT id FROM series WHERE source = ? AND metric = ?", (SRC, metric)).fetchone()
        sid = row[0] if row else conn.execute("INSERT INTO series (source, metric) VALUES (?, ?)",
                                              (SRC, metric)).lastrowid
        conn.execute("INSERT INTO raw (series, ts, value) VALUES (?, ?, ?)", (sid, ts, value))
    conn.execute("COMMIT")
    conn.close()
    hist = make_history(path, clock=lambda: T0 + 60)
    assert hist.status()["migrated_from"] == 4
    names = {row["metric"] for row in hist.metrics(SRC)}
    assert names == {"battery_voltage_high", "battery_voltage_offset_for_fans_on", "line_fail",
                     "battery_voltage"}
    assert list(hist.export_rows(SRC, ["battery_voltage_high"], T0, T0 + 1)) == [(T0, [1.0])]
    # both names held rows: merged into the catalog key's series
    assert list(hist.export_rows(SRC, ["line_fail"], T0, T0 + 11)) == [(T0, [1.0]), (T0 + 10, [0.0])]


def test_v6_derives_the_2_minute_tier_from_the_1_minute_rows(tmp_path, make_history):
    """Issue 14.18: a v5 database gains the 2-minute tier, built from its 1-minute rows (weighted by
    sample count), and a chart whose budget it fits reads it as stored."""
    path = tmp_path / "v5.db"
    conn = connect(path)
    migrate(conn, target=5)
    conn.execute("BEGIN")
    sid = conn.execute("INSERT INTO series (source, metric) VALUES (?, 'x')", (SRC,)).lastrowid
    # One-minute rows with unequal counts, so an unweighted mean would differ; one lone minute.
    minutes = [(T0 + 60 * i, 1 + i % 3, 10.0 + i, 20.0 + i * i % 7, 30.0 + i) for i in range(30)]
    minutes.append((T0 + 60 * 40, 2, 1.0, 2.0, 3.0))
    conn.executemany("INSERT INTO roll_1m (series, ts, n, vmin, vavg, vmax) VALUES (?, ?, ?, ?, ?, ?)",
                     [(sid, ts, n, lo, avg, hi) for ts, n, lo, avg, hi in minutes])
    conn.execute("COMMIT")
    assert "roll_2m" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    hist = make_history(path, clock=lambda: T0 + 3600)
    assert hist.status()["migrated_from"] == 5
    expected: dict[int, list[tuple[int, float, float, float]]] = {}
    for ts, n, lo, avg, hi in minutes:
        expected.setdefault(ts // 120 * 120, []).append((n, lo, avg, hi))
    db = sqlite3.connect(path)
    stored = db.execute("SELECT ts, n, vmin, vavg, vmax FROM roll_2m WHERE series = ? ORDER BY ts",
                        (sid,)).fetchall()
    assert [row[0] for row in stored] == sorted(expected)
    for ts, n, low, avg, high in stored:
        group = expected[ts]
        assert n == sum(g[0] for g in group)
        assert low == min(g[1] for g in group)
        assert high == max(g[3] for g in group)
        assert avg == pytest.approx(sum(g[0] * g[2] for g in group) / n)
    chart = hist.historical(SRC, ["x"], T0 - T0 % 120, T0 - T0 % 120 + 3600, 30)
    assert (chart["tier"], chart["step_s"]) == ("2m", 120)
    assert chart["t"] == [row[0] for row in stored if row[0] < T0 - T0 % 120 + 3600]
    assert chart["series"]["x"]["avg"] == [round(row[3], 3) for row in stored if row[0] in chart["t"]]
