"""POST /api/command: bearer token from a 0600 file, forwarding to a real Unix control socket."""

from __future__ import annotations

import time

import pytest

from solarmon.web.control import ControlClient, DaemonTimeout, DaemonUnavailable
from tests.fixtures.webapp import TOKEN, FakeDaemon

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_a_query_is_forwarded_and_the_reply_relayed(client, fake_daemon):
    response = client.post("/api/command", json={"command": "QPIGS"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json["reply"] == {"battery_voltage": 52.4}
    assert fake_daemon.requests == [{"command": "QPIGS"}]


def test_a_setting_returns_the_verified_value_and_passes_confirm_and_device(client, fake_daemon):
    response = client.post("/api/command", json={"command": "POP02", "confirm": True, "device": "main"},
                           headers=AUTH)
    assert response.json["verified"] == {"output_source_priority": "02"}
    assert fake_daemon.requests == [{"command": "POP02", "confirm": True, "device": "main"}]


def test_a_daemon_error_keeps_its_kind_and_message(client, fake_daemon):
    response = client.post("/api/command", json={"command": "QBAD"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json["error"] == "nak"
    assert response.json["message"] == "the inverter answered NAK"


@pytest.mark.parametrize(("headers", "status", "fragment"), [
    ({}, 401, "Authorization: Bearer"),
    ({"Authorization": "Basic abc"}, 401, "Authorization: Bearer"),
    ({"Authorization": "Bearer wrong-token-wrong-token"}, 401, "wrong"),
    ({"Authorization": f"Bearer {TOKEN}x"}, 401, "wrong"),
])
def test_a_missing_or_wrong_token_is_401(client, fake_daemon, headers, status, fragment):
    response = client.post("/api/command", json={"command": "QPIGS"}, headers=headers)
    assert response.status_code == status
    assert response.json["error"] == "unauthorized"
    assert fragment in response.json["message"]
    assert fake_daemon.requests == []


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""}}])
def test_without_a_token_file_its_token_is_refused_and_commands_are_off(client, fake_daemon):
    # Commands need an operator account or API token (tests/security); with neither, status says so.
    response = client.post("/api/command", json={"command": "QPIGS"}, headers=AUTH)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert client.get("/api/status").json["commands_enabled"] is False
    assert [r for r in fake_daemon.requests if "command" in r] == []  # the status ping is no command


@pytest.mark.parametrize(("mode", "content", "fragment"), [
    (0o644, TOKEN, "chmod 600"),
    (0o640, TOKEN, "chmod 600"),
    (0o600, "short", "fewer than 16 characters"),
    (None, None, "does not exist"),
])
def test_an_unsafe_or_missing_token_file_is_not_used(client, web_paths, fake_daemon, mode, content,
                                                     fragment, caplog):
    if mode is None:
        web_paths.token_file.unlink()
    else:
        web_paths.token_file.write_text(content)
        web_paths.token_file.chmod(mode)
    response = client.post("/api/command", json={"command": "QPIGS"}, headers=AUTH)
    assert response.status_code == 401
    assert fragment in caplog.text  # the log says why the old token file is not used
    assert fake_daemon.requests == []


@pytest.mark.parametrize("body", [
    None, "QPIGS", [], {}, {"command": ""}, {"command": "Q PIGS"}, {"command": "Q" * 33},
    {"command": 5}, {"command": "QPIGS", "confirm": "yes"}, {"command": "QPIGS", "device": "../x"},
])
def test_bad_bodies_are_400(client, fake_daemon, body):
    response = client.post("/api/command", json=body, headers=AUTH) if body is not None else \
        client.post("/api/command", data="not json", headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"] in ("bad_request", "bad_parameter")
    assert fake_daemon.requests == []


def test_a_huge_body_is_413(client, fake_daemon):
    response = client.post("/api/command", data="x" * 100_000, headers=AUTH)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"


def test_no_daemon_is_503(client):
    response = client.post("/api/command", json={"command": "QPIGS"}, headers=AUTH)
    assert response.status_code == 503
    assert response.json["error"] == "daemon_unavailable"
    assert "not running" in response.json["message"]


@pytest.mark.timeout(30)
def test_a_silent_daemon_is_504(client, web_paths):
    daemon = FakeDaemon(web_paths.control_socket, lambda request: time.sleep(1.3))
    try:
        response = client.post("/api/command", json={"command": "QPIGS"}, headers=AUTH)
    finally:
        daemon.close()
    assert response.status_code == 504
    assert response.json["error"] == "daemon_timeout"


@pytest.mark.timeout(30)
def test_client_errors_map_to_their_exceptions(web_paths):
    with pytest.raises(DaemonUnavailable):
        ControlClient(web_paths.control_socket, 1).request({"command": "QPI"})
    daemon = FakeDaemon(web_paths.control_socket, lambda request: time.sleep(0.6))
    try:
        with pytest.raises(DaemonTimeout):
            ControlClient(web_paths.control_socket, 0.3).request({"command": "QPI"})
        assert ControlClient(web_paths.control_socket).available() is True
    finally:
        daemon.close()
