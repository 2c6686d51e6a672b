"""The hub when its store fails, and its configuration: a refused connection is a JSON 503, a store
that accepts and never answers a 504 within fleet.timeout_s (never a hang), a body that is not the
Prometheus API a 502; a bad `fleet:` key stops the start with exit status 2 naming file and key;
a web app without `fleet:` answers 404 no_fleet. Real sockets, no VictoriaMetrics needed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from solarmon.web.config import ConfigError, config_from_mapping
from solarmon.web.runtime import Runtime
from tests.fleet.hubstore import free_port
from tests.fleet.test_hub_api import hub_app

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


class _NotPrometheus(BaseHTTPRequestHandler):
    """Answers every GET and POST with an HTML page (a promql_url pointing at the wrong server)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        body = b"<html>a router's login page</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        """Quiet."""


@pytest.fixture
def silent_store() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def html_store() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotPrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(2)


@dataclass
class Answer:
    """A hub's answer to one GET, how long it took, and its /api/status right after."""

    status: int
    body: dict[str, Any]
    took_s: float
    api_status: dict[str, Any]


def _get(root: Path, url: str, path: str = "/api/fleet", **fleet: Any) -> Answer:
    app = hub_app(root, url, **fleet)
    runtime = Runtime.for_app(app).start()
    try:
        started = time.monotonic()
        response = app.test_client().get(path)
        took = time.monotonic() - started
        return Answer(response.status_code, response.get_json(), took,
                      app.test_client().get("/api/status").get_json())
    finally:
        runtime.stop()


def test_a_store_that_refuses_is_a_json_503_and_api_status_says_so(tmp_path: Path) -> None:
    answer = _get(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert answer.status == 503
    assert answer.body["error"] == "store_unavailable"
    assert "cannot be reached" in answer.body["message"]
    fleet = answer.api_status["sources"]["fleet"]
    assert fleet["ok"] is False
    assert "cannot be reached" in fleet["error"]


def test_a_store_that_never_answers_is_a_504_within_the_timeout(tmp_path: Path, silent_store: str) -> None:
    answer = _get(tmp_path, silent_store, timeout_s=0.5)
    assert answer.status == 504
    assert answer.body["error"] == "store_timeout"
    assert "0.5 s" in answer.body["message"]
    assert answer.took_s < 3  # the queries run side by side: one timeout, not one per query


def test_a_drill_down_against_a_silent_store_is_a_504_too(tmp_path: Path, silent_store: str) -> None:
    answer = _get(tmp_path, silent_store, path="/api/fleet/alpha/historical", timeout_s=0.3)
    assert answer.status == 504
    assert answer.body["error"] == "store_timeout"


def test_a_server_that_is_not_a_prometheus_api_is_a_502(tmp_path: Path, html_store: str) -> None:
    answer = _get(tmp_path, html_store)
    status, body = answer.status, answer.body
    assert status == 502
    assert body["error"] == "store_error"
    assert "promql_url" in body["message"]


def test_without_fleet_the_app_is_no_hub(client: Any) -> None:
    response = client.get("/api/fleet")
    assert response.status_code == 404
    assert response.get_json()["error"] == "no_fleet"
    assert client.get("/api/fleet/alpha/historical").status_code == 404
    assert client.get("/fleet").status_code == 404
    assert b"/fleet" not in client.get("/").data  # no Fleet entry in the navigation


@pytest.mark.parametrize(("fleet", "words"), [
    ({}, ["fleet.promql_url", "http"]),
    ({"promql_url": "central:8428"}, ["fleet.promql_url", "http"]),
    ({"promql_url": "http://c:8428", "stale_after_s": 1}, ["fleet.stale_after_s", "5..86400"]),
    ({"promql_url": "http://c:8428", "stale_after_s": 600, "lookback_s": 300},
     ["fleet.lookback_s", "longer than fleet.stale_after_s"]),
    ({"promql_url": "http://c:8428", "timeout_s": "fast"}, ["fleet.timeout_s", "a number"]),
    ({"promql_url": "http://c:8428", "sites": ["ok", "not ok"]}, ["fleet.sites", "'not ok'"]),
    ({"promql_url": "http://c:8428", "broker": "central"}, ["fleet.broker", "mapping"]),
    ({"promql_url": "http://c:8428", "low_soc_percent": 120}, ["fleet.low_soc_percent", "0..100"]),
])
def test_bad_fleet_keys_name_file_key_and_limits(fleet: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"fleet": fleet}, where="/etc/solarmon/web.yaml")
    message = str(caught.value)
    assert message.startswith("/etc/solarmon/web.yaml: ")
    for word in words:
        assert word in message


def test_a_bad_fleet_section_stops_the_start_with_status_2(tmp_path: Path) -> None:
    config = tmp_path / "web.yaml"
    config.write_text("fleet:\n  promql_url: http://central:8428\n  cache_s: -1\n")
    done = subprocess.run([sys.executable, "web_interface.py", "-c", str(config), "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"{config}: fleet.cache_s must be a number in 0..300, got -1" in done.stderr


def test_an_unreadable_credentials_file_stops_the_start(tmp_path: Path) -> None:
    from solarmon.web import create_app

    with pytest.raises(ConfigError, match="fleet.credentials_file"):
        create_app(config_from_mapping({"fleet": {"promql_url": "http://c:8428",
                                                  "credentials_file": str(tmp_path / "missing")}},
                                       where="web.yaml", base_dir=tmp_path))
