"""/api/historical, /api/export.csv and /api/energy over a real SQLite history."""

from __future__ import annotations

import csv
import io
import time

import pytest

from solarmon.web.runtime import get_context
from solarmon.web.state import SourceUpdate

HOUR = 3600


@pytest.fixture
def filled(app, web_runtime):
    """Two hours of 10 s samples of inverter:main ending now, committed."""
    ctx = get_context(app)
    history = ctx.parts.history
    now = time.time()
    for i in range(720):
        ts = now - 2 * HOUR + i * 10
        history.submit(SourceUpdate("inverter:main", ts, {"battery_voltage": 50.0 + (i % 10) / 10,
                                                         "pv_input_power": float(i)},
                                    {"battery_voltage": "V", "pv_input_power": "W"}))
    assert history.flush(30)
    ctx.parts.state.apply(SourceUpdate("inverter:main", now, {"battery_voltage": 50.0},
                                          {"battery_voltage": "V"}))
    return now


def test_historical_returns_downsampled_series(client, filled):
    body = client.get("/api/historical?hours=1&metrics=battery_voltage,pv_input_power&points=60").json
    assert body["device"] == "main"
    assert set(body["series"]) == {"battery_voltage", "pv_input_power"}
    assert 1 <= len(body["t"]) <= 61
    assert body["series"]["battery_voltage"]["unit"] == "V"
    avgs = [v for v in body["series"]["battery_voltage"]["avg"] if v is not None]
    assert avgs
    assert all(50.0 <= v <= 50.9 for v in avgs)


def test_historical_takes_start_and_end(client, filled):
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(filled - 30 * 60))
    body = client.get(f"/api/historical?start={start}&metrics=pv_input_power").json
    assert body["t"][0] >= filled - 30 * 60 - 600
    assert list(body["series"]) == ["pv_input_power"]


@pytest.mark.parametrize(("query", "fragment"), [
    ("hours=0", "hours must be between 1 and 8760"),
    ("hours=8761", "hours must be between 1 and 8760"),
    ("hours=abc", "hours must be an integer"),
    ("hours=2&start=2026-01-01T00:00:00Z", "either hours or start/end"),
    ("start=yesterday", "start must be an ISO 8601 time"),
    ("start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "end must be after start"),
    ("start=1971-01-01T00:00:00Z&end=9999-01-01T00:00:00Z", "longer than 20 years"),
    ("end=0001-01-01T00:00:00Z", "between 1970 and 9999"),
    ("start=1960-01-01T00:00:00Z&end=1960-01-02T00:00:00Z", "between 1970 and 9999"),
    ("points=0", "points must be between 1 and 10000"),
    ("metrics=bad%20name", "is not a metric name"),
    ("metrics=" + ",".join(f"m{i}" for i in range(51)), "at most 50 metrics"),
    ("device=%2F%2F", "is not a device name"),
])
def test_historical_rejects_bad_parameters_with_400(client, filled, query, fragment):
    response = client.get(f"/api/historical?{query}")
    assert response.status_code == 400, response.json
    assert response.json["error"] == "bad_parameter"
    assert fragment in response.json["message"]


def test_history_device_known_only_from_the_database(client, filled, app):
    assert client.get("/api/historical?device=gone").status_code == 404
    assert client.get("/api/historical?device=main&hours=1").status_code == 200


def test_export_csv_streams_every_row(client, filled):
    response = client.get("/api/export.csv?hours=1&metrics=battery_voltage,pv_input_power")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["time", "timestamp", "battery_voltage", "pv_input_power"]
    assert 350 <= len(rows) - 1 <= 362  # one hour of 10 s samples
    assert all(50.0 <= float(row[2]) <= 50.9 for row in rows[1:])


def test_export_csv_rejects_bad_ranges(client, filled):
    response = client.get("/api/export.csv?hours=-1")
    assert response.status_code == 400
    assert response.json["error"] == "bad_parameter"


def test_energy_reports_days_and_months(client, filled):
    day = client.get("/api/energy?period=day&count=3").json
    assert day["period"] == "day"
    assert len(day["periods"]) == 3
    assert day["timezone"] == "UTC"
    month = client.get("/api/energy?period=month&device=main").json
    assert len(month["periods"]) == 12
    assert list(month["devices"]) in ([], ["inverter:main"])


@pytest.mark.parametrize(("query", "fragment"), [
    ("period=week", "period must be day, month or year"),
    ("period=day&count=0", "count must be between 1 and 366"),
    ("period=month&count=121", "count must be between 1 and 120"),
])
def test_energy_rejects_bad_parameters(client, filled, query, fragment):
    response = client.get(f"/api/energy?{query}")
    assert response.status_code == 400
    assert fragment in response.json["message"]


def test_history_endpoints_answer_503_before_the_database_opens(client, web_paths, scan):
    from tests.fixtures.webapp import SAMPLE_VALUES, write_prom

    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    scan()
    for path in ("/api/historical", "/api/export.csv", "/api/energy"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.json["error"] == "history_unavailable"
