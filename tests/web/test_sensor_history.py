"""source= on /api/historical and /api/export.csv (house, weather, battery history over a real
SQLite database), and every MQTT sensor's own age in /api/house, /api/weather and /api/battery."""

from __future__ import annotations

import csv
import io
import time

import pytest

from solarmon.web.runtime import get_context
from solarmon.web.state import SourceUpdate

HOUR = 3600


@pytest.fixture
def sensors(app, web_runtime):
    """An hour of minute samples of house and weather sensors (names as the MQTT subscriber stores
    them) and of inverter:main, committed; returns now."""
    ctx = get_context(app)
    history = ctx.parts.history
    now = time.time()
    for i in range(60):
        ts = now - HOUR + i * 60
        history.submit(SourceUpdate("house", ts, {"living_room/temperature": 20.0 + i / 100,
                                                  "humidity": 40.0 + i % 5},
                                    {"living_room/temperature": "°C", "humidity": "%"}))
        history.submit(SourceUpdate("weather", ts, {"temperature": -5.0 - i / 100}, {"temperature": "°C"}))
        history.submit(SourceUpdate("inverter:main", ts, {"battery_voltage": 52.0}, {"battery_voltage": "V"}))
    assert history.flush(30)
    ctx.parts.state.apply(SourceUpdate("inverter:main", now, {"battery_voltage": 52.0},
                                          {"battery_voltage": "V"}))
    return now


def test_house_history_by_source_with_slashed_names(client, sensors):
    body = client.get("/api/historical?source=house&hours=2&metrics=living_room/temperature,humidity").json
    assert body["source"] == "house"
    assert "device" not in body
    assert set(body["series"]) == {"living_room/temperature", "humidity"}
    temps = [v for v in body["series"]["living_room/temperature"]["avg"] if v is not None]
    assert temps
    assert all(20.0 <= v <= 20.6 for v in temps)
    assert body["series"]["living_room/temperature"]["unit"] == "°C"


def test_weather_history_without_metrics_gives_every_stored_one(client, sensors):
    body = client.get("/api/historical?source=weather&hours=2").json
    assert list(body["series"]) == ["temperature"]
    assert all(v < 0 for v in body["series"]["temperature"]["avg"] if v is not None)


def test_source_inverter_is_the_same_as_device(client, sensors):
    by_source = client.get("/api/historical?source=inverter:main&hours=2&metrics=battery_voltage").json
    by_device = client.get("/api/historical?device=main&hours=2&metrics=battery_voltage").json
    assert by_source["device"] == "main"
    assert by_source["series"] == by_device["series"]


def test_a_source_without_history_answers_empty_series(client, sensors):
    body = client.get("/api/historical?source=battery&hours=2&metrics=cell1").json
    assert body["source"] == "battery"
    assert body["series"] == {}


@pytest.mark.parametrize(("query", "status", "error", "fragment"), [
    ("source=garden", 400, "unknown_source", "source must be house, weather, battery or inverter"),
    ("source=House", 400, "unknown_source", "not 'House'"),
    ("source=inverter:", 400, "bad_parameter", "is not a device name"),
    ("source=inverter:nope", 404, "unknown_device", "no device 'nope'"),
    ("source=house&device=main", 400, "bad_parameter", "either source or device"),
    ("source=house&metrics=a/b/c/d", 400, "bad_parameter", "is not a metric name"),
    ("source=house&metrics=living_room//temperature", 400, "bad_parameter", "is not a metric name"),
    ("source=house&metrics=/temperature", 400, "bad_parameter", "is not a metric name"),
])
def test_bad_sources_and_names_get_a_json_error(client, sensors, query, status, error, fragment):
    for path in ("/api/historical", "/api/export.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == status, (path, response.json)
        assert response.json["error"] == error
        assert fragment in response.json["message"]


def test_export_csv_of_house_sensors(client, sensors):
    response = client.get("/api/export.csv?source=house&hours=2&metrics=living_room/temperature")
    assert response.status_code == 200
    assert 'filename="solarmon-house-' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["time", "timestamp", "living_room/temperature"]
    assert len(rows) - 1 == 60
    assert float(rows[1][2]) == pytest.approx(20.0)


@pytest.mark.parametrize("source", ["house", "weather", "battery"])
def test_every_sensor_has_its_own_age(client, app, source):
    state = get_context(app).parts.state
    now = time.time()
    state.apply(SourceUpdate(source, now - 300, {"slow": 1.0, "both": 2.0}, {"slow": "", "both": ""}))
    state.apply(SourceUpdate(source, now - 10, {"fast": 3.0, "both": 4.0}, {"fast": "", "both": ""}))
    # A late reading of an older time must not make a sensor look younger than it is.
    state.apply(SourceUpdate(source, now - 600, {"fast": 0.0}, {"fast": ""}))
    snap = client.get(f"/api/{source}").json["sources"][source]
    assert set(snap["ages"]) == {"slow", "fast", "both"}
    assert 300 <= snap["ages"]["slow"] < 330
    assert 10 <= snap["ages"]["fast"] < 40
    assert 10 <= snap["ages"]["both"] < 40
    assert snap["values"]["both"] == 4.0
    assert snap["age_s"] == pytest.approx(snap["ages"]["fast"], abs=1)
