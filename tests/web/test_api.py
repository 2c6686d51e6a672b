"""The JSON API over real .prom files read by the real reader: success and error paths."""

from __future__ import annotations

import time

import pytest

from solarmon.web.runtime import get_context
from tests.fixtures.webapp import SAMPLE_VALUES, write_prom


def test_data_answers_503_with_a_reason_before_any_file(client):
    response = client.get("/api/data")
    assert response.status_code == 503
    assert response.json["error"] == "no_data"
    assert "daemon" in response.json["message"]


def test_data_returns_values_units_timestamp_and_age(client, web_paths, scan):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    scan()
    body = client.get("/api/data").json
    assert body["device"] == "main"
    assert body["devices"] == ["main"]
    assert body["values"]["battery_voltage"] == 52.4
    assert body["units"]["battery_voltage"] == "V"
    assert body["values"]["device_mode"] == "Battery"
    assert body["timestamp"].endswith("+00:00")
    assert 0 <= body["age_s"] < 60


def test_data_picks_the_device_and_defaults_to_the_first(client, web_paths, scan):
    write_prom(web_paths.prom_dir, "east", {"battery_voltage": 51.0})
    scan()
    write_prom(web_paths.prom_dir, "west", {"battery_voltage": 49.5})
    scan()
    assert client.get("/api/data").json["values"]["battery_voltage"] == 51.0
    west = client.get("/api/data?device=west").json
    assert (west["device"], west["values"]["battery_voltage"]) == ("west", 49.5)


@pytest.mark.parametrize(("query", "status", "error"), [
    ("device=north", 404, "unknown_device"),
    ("device=a%20b", 400, "bad_parameter"),
    ("device=" + "x" * 65, 400, "bad_parameter"),
])
def test_data_rejects_bad_devices(client, web_paths, scan, query, status, error):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    scan()
    response = client.get(f"/api/data?{query}")
    assert response.status_code == status
    assert response.json["error"] == error


def test_data_answers_503_when_the_values_are_stale(client, web_paths, scan, web_config):
    old = time.time() - web_config.data.stale_after_s - 30
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES, ts=old)
    scan()
    response = client.get("/api/data")
    assert response.status_code == 503
    assert response.json["error"] == "stale"
    assert response.json["age_s"] > web_config.data.stale_after_s


def test_refresh_rereads_the_files(client, web_paths):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    body = client.get("/api/refresh").json
    assert body == {"files_read": 1, "devices": ["main"], "ts": body["ts"]}
    assert client.get("/api/data").status_code == 200


def test_status_shows_every_source(client, web_paths, scan, fake_daemon):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    (web_paths.prom_dir / "mpp-solar-broken.prom").write_text("garbage {{{\n")
    scan()
    body = client.get("/api/status").json
    assert body["sources"]["inverter:main"]["ok"] is True
    assert body["sources"]["inverter:broken"]["ok"] is False
    assert body["sources"]["inverter:broken"]["errors_by_kind"] == {"garbage": 1}
    assert body["sources"]["daemon"]["ok"] is True
    assert body["ok"] is False  # one source is broken
    assert body["commands_enabled"] is True
    assert body["streams"] == {"open": 0, "max": 4, "refused": 0, "served": 0}


def test_status_lists_services_and_their_failures(app, client):
    class Broken:
        name = "broken"

        def start(self):
            raise RuntimeError("no such broker")

        def stop(self):
            pass

    get_context(app).add_service(Broken())
    from solarmon.web.runtime import Runtime

    runtime = Runtime.for_app(app).start()
    try:
        services = {s["name"]: s for s in client.get("/api/status").json["services"]}
    finally:
        runtime.stop()
    assert services["reader"]["running"] is True
    assert services["broken"] == {"name": "broken", "running": False, "error": "RuntimeError: no such broker"}


@pytest.mark.parametrize(("path", "words"), [
    ("/api/house", "house sensors are off"), ("/api/weather", "the weather is off"),
    ("/api/battery", "BMS values are off")])
def test_sensor_parts_without_mqtt_say_they_are_off_and_why(client, path, words):
    # Not "waiting for a sensor": without an mqtt: section nothing will ever report (issue 12).
    body = client.get(path).json
    assert {k: body[k] for k in ("sources", "available", "configured", "reason")} == {
        "sources": {}, "available": False, "configured": False,
        "reason": f"{words}: no mqtt section in test web.yaml"}
    if path == "/api/battery":  # and no BMS polled by the daemon either
        assert (body["bms"], body["soc"]) == ({}, None)


def test_house_shows_the_house_source(client, web_paths, scan):
    (web_paths.prom_dir / "house.prom").write_text('house_temperature_celsius{room="kitchen"} 21.5\n')
    scan()
    body = client.get("/api/house").json
    assert body["available"] is True
    assert body["sources"]["house"]["values"] == {"house_temperature_celsius:kitchen": 21.5}
    assert client.get("/api/weather").json["available"] is False


@pytest.mark.parametrize(("method", "path", "status", "error"), [
    ("get", "/api/nothing", 404, "not_found"),
    ("post", "/api/data", 405, "method_not_allowed"),
    ("get", "/api/command", 405, "method_not_allowed"),
])
def test_http_errors_are_json_on_the_api(client, method, path, status, error):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.json["error"] == error
    assert response.json["message"]


def test_a_bug_in_a_view_is_a_json_500_without_internals(app, client, caplog):
    from solarmon.web.auth import read_access

    @app.get("/api/boom")
    @read_access  # every endpoint needs an access rule (solarmon.web.auth)
    def boom():
        raise KeyError("secret internals")

    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.json == {"error": "internal_error",
                             "message": "the server failed to handle this request; see its log"}
    assert "secret internals" in caplog.text


def test_each_app_has_its_own_state(web_paths, web_config):
    from solarmon.web import create_app

    first, second = create_app(web_config), create_app(web_config)
    assert get_context(first).parts.state is not get_context(second).parts.state
    assert get_context(first).parts.registry is not get_context(second).parts.registry


def test_data_follows_every_change_and_ages(app, client):
    from solarmon.web.state import SourceUpdate

    state = get_context(app).parts.state
    ts = time.time() - 5
    state.apply(SourceUpdate("inverter:main", ts, {"battery_voltage": 50.0}, {"battery_voltage": "V"}))
    first = client.get("/api/data").json
    state.apply(SourceUpdate("inverter:main", ts, {"battery_voltage": 51.0}, {"battery_voltage": "V"}))
    second = client.get("/api/data").json
    assert (first["values"]["battery_voltage"], second["values"]["battery_voltage"]) == (50.0, 51.0)
    assert second["age_s"] >= first["age_s"] >= 5
    state.apply(SourceUpdate("inverter:west", ts, {"battery_voltage": 49.0}, {"battery_voltage": "V"}))
    assert client.get("/api/data").json["devices"] == ["main", "west"]


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""}}])
def test_without_commands_the_daemon_socket_does_not_make_status_bad(client, web_paths, scan, web_runtime):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    scan()
    body = client.get("/api/status").json
    assert body["sources"]["daemon"]["ok"] is False
    assert body["sources"]["history"]["ok"] is True
    assert body["commands_enabled"] is False
    assert body["ok"] is True


def test_status_asks_the_daemon_a_left_over_socket_is_not_ok(client, web_paths, fake_daemon):
    """Issue 14.4: `daemon.ok` only checked that the socket file existed (true after kill -9).
    Now /api/status asks the daemon; a socket file nobody listens on is not a daemon."""
    import socket as socketlib

    body = client.get("/api/status").json
    assert body["sources"]["daemon"]["ok"] is True
    assert body["sources"]["daemon"]["devices"] == ["main"]
    fake_daemon.close()
    web_paths.control_socket.unlink(missing_ok=True)
    orphan = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    orphan.bind(str(web_paths.control_socket))  # the file a killed daemon leaves: bound, not listening
    try:
        daemon = client.get("/api/status").json["sources"]["daemon"]
        assert daemon["ok"] is False
        assert daemon["error"].startswith("daemon_unavailable")
    finally:
        orphan.close()


def test_data_has_an_etag_per_reading_and_answers_304_to_it(app, client):
    """Issue 14.15: the body is encoded once per change and named by a weak ETag; a client that
    has it gets a bodiless 304 until the next reading."""
    from solarmon.web.state import SourceUpdate

    state = get_context(app).parts.state
    state.apply(SourceUpdate("inverter:main", time.time(), {"battery_voltage": 50.0},
                             {"battery_voltage": "V"}))
    first = client.get("/api/data")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert client.get("/api/data").headers["ETag"] == etag  # no new reading: the same body
    again = client.get("/api/data", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    state.apply(SourceUpdate("inverter:main", time.time(), {"battery_voltage": 51.0},
                             {"battery_voltage": "V"}))
    fresh = client.get("/api/data", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.json["values"]["battery_voltage"] == 51.0
    assert fresh.headers["ETag"] != etag


@pytest.mark.parametrize("web_config_overrides", [{"data": {"stale_after_s": 2}}])
def test_the_cached_data_body_ages_values_out_without_a_new_reading(app, client):
    from solarmon.web.state import SourceUpdate

    state = get_context(app).parts.state
    now = time.time()
    state.apply(SourceUpdate("inverter:main", now, {"battery_voltage": 50.0, "device_mode": "Battery"},
                             commands={"battery_voltage": "QPIGS", "device_mode": "QMOD"},
                             times={"QPIGS": now - 1.2, "QMOD": now}, kinds={"battery_voltage": "measurement",
                                                                          "device_mode": "enum"}))
    first = client.get("/api/data")
    assert "battery_voltage" in first.json["values"]
    time.sleep(1.0)
    later = client.get("/api/data")
    assert "battery_voltage" not in later.json["values"]
    assert "battery_voltage" in later.json["stale"]
    assert later.json["values"]["device_mode"] == "Battery"
    assert later.headers["ETag"] != first.headers["ETag"]
