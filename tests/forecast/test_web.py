"""The whole path: recorded Open-Meteo bodies served locally -> the real weather fetcher (pvlib)
-> real Mosquitto (the project's ACL) -> the web app's forecast service, over a history made from
the simulator's model -> GET /api/forecast (checked against its OpenAPI schema) -> the /forecast
page and the dashboard panel in headless Chromium, both themes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from solarmon.forecast.openapi import FORECAST
from solarmon.weather.client import parse_hourly
from solarmon.weather.config import ArrayConfig, WeatherConfig
from solarmon.weather.forecast import Forecaster
from solarmon.web import create_app
from solarmon.web.pages import missing_vendor_files
from solarmon.web.runtime import Runtime, get_context
from tests.browser.server import ServerThread
from tests.fixtures.broker import Broker
from tests.fixtures.webapp import WebPaths, make_web_config
from tests.forecast.conftest import _Client, redated
from tests.forecast.simhistory import make_db
from tests.tools import missing_tool
from tests.weather.conftest import FakeOpenMeteo, Reply

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(180)


@dataclass
class Site:
    url: str
    app: Any
    open_meteo: FakeOpenMeteo


def run_fetcher(tmp_path: Path, broker: Broker, open_meteo: FakeOpenMeteo) -> None:
    """weather_fetcher.py --once with one 4 kWp south array, as the systemd unit would run it."""
    secret = tmp_path / "weather.pass"
    secret.write_text(broker.users["solarmon-weather"] + "\n")
    secret.chmod(0o600)
    config = tmp_path / "weather.yaml"
    config.write_text(yaml.safe_dump({
        "location": {"name": "Test Farm", "latitude": 43.6047, "longitude": 1.4442},
        "api": {"base_url": open_meteo.url, "timeout_s": 2, "retries": 0},
        "arrays": [{"name": "roof", "tilt_deg": 35, "azimuth_deg": 0, "peak_kw": 4.0}],
        "forecast": {"prom_file": str(tmp_path / "forecast.prom")},
        "mqtt": {"host": broker.host, "port": broker.port, "username": "solarmon-weather",
                 "password_file": str(secret)},
    }))
    command = [sys.executable, str(REPO / "weather_fetcher.py"), "--once", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def site(tmp_path: Path, web_paths: WebPaths, mqtt_broker: Broker) -> Iterator[Site]:
    now = time.time()
    yesterday = datetime.fromtimestamp(now, UTC).date() - timedelta(days=1)
    body = json.dumps(redated("hourly_mixed_toulouse.json", yesterday)).encode()
    open_meteo = FakeOpenMeteo()
    open_meteo.responder = lambda query: Reply(200, body) if "hourly" in query else None
    open_meteo.thread.start()
    make_db(web_paths.db_path, end=now - 30, days=7, section="sim")
    secret = tmp_path / "web.pass"
    secret.write_text(mqtt_broker.users["solarmon-web"] + "\n")
    secret.chmod(0o600)
    app = create_app(make_web_config(web_paths, {
        "mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port, "password_file": str(secret)},
        "forecast": {"battery_usable_kwh": 9.6, "recompute_s": 10},
    }))
    server = None
    try:
        with Runtime.for_app(app):
            run_fetcher(tmp_path, mqtt_broker, open_meteo)
            server = ServerThread(app).start()
            yield Site(server.url, app, open_meteo)
    finally:
        if server is not None:
            server.stop()
        open_meteo.server.shutdown()
        open_meteo.server.server_close()


def wait_forecast(app: Any, timeout_s: float = 20) -> dict[str, Any]:
    client = app.test_client()
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get("/api/forecast")
        assert response.status_code == 200
        body = response.get_json()
        if body["available"]:
            return body
        time.sleep(0.1)
    raise AssertionError(f"no forecast reached the web app: {body}")


def test_api_forecast_end_to_end(site: Site) -> None:
    body = wait_forecast(site.app)
    jsonschema.validate(body, FORECAST)
    assert body["source"] == "inverter:sim"
    assert [a["name"] for a in body["arrays"]] == ["roof"]
    assert body["today"]["date"] == datetime.now(UTC).date().isoformat()
    assert len(body["today"]["hours"]) == 24
    assert body["tomorrow"]["model_kwh"] > 3  # 4 kWp on a mixed June day, before calibration
    produced = [h["produced_w"] for h in body["today"]["hours"] if h["produced_w"] is not None]
    assert produced  # the simulator's history reaches up to now
    calibration = body["arrays"][0]["calibration"]
    assert calibration["compared_with"] == "pv_power_total"
    # The factor compares the simulator's sun of today's season with June's recorded bodies, so the
    # calibrated figure depends on when the test runs; that it is applied does not.
    factor = calibration["factor"] if calibration["status"] != "too_few_hours" else 1.0
    assert body["tomorrow"]["expected_kwh"] == pytest.approx(body["tomorrow"]["model_kwh"] * factor, abs=0.02)
    assert calibration["hours"] >= 0
    outlook = body["outlook"]
    assert outlook is not None, body["outlook_reason"]
    assert outlook["capacity_source"] == "configured"
    assert outlook["points"][-1]["ts"] > time.time() + 12 * 3600
    # The service's numbers reach the live state, where the alert rule watches them.
    live = get_context(site.app).parts.state.snapshot("forecast")
    assert live.values["expected_tomorrow_kwh"] == body["tomorrow"]["expected_kwh"]
    document = site.app.test_client().get("/api/openapi.json").get_json()
    assert "/api/forecast" in document["paths"]
    status = site.app.test_client().get("/api/status").get_json()
    assert "forecast" in json.dumps(status)


def test_forecast_page_and_dashboard_panel_in_both_themes(site: Site, browser: Any) -> None:
    if missing_vendor_files():  # the charts need chart.js from node_modules
        missing_tool("node_modules", "run `npm ci` (scripts/setup.sh does)")
    body = wait_forecast(site.app)
    shots = REPO / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for suffix, theme in (("", "standard"), ("/lcars", "lcars")):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(f"{site.url}/forecast{suffix}")
        filled = "id => document.getElementById(id).textContent !== '\u2013'"
        page.wait_for_function(filled, arg="fc-today-kwh", timeout=15000)
        assert page.locator("#fc-tomorrow-kwh").text_content() == f"{body['tomorrow']['expected_kwh']:.1f}"
        assert page.locator("#fc-arrays tr").count() == 1
        points = page.evaluate("window.solarmon.charts.forecast.data.datasets.map(d => d.data.length)")
        assert points == [48, 24]
        assert page.evaluate("window.solarmon.charts['forecast-soc'].data.datasets[0].data.length") > 20
        assert page.locator("nav a[href^='/forecast']").count() >= 1
        page.screenshot(path=str(shots / f"forecast-{theme}.png"), full_page=True)
        page.goto(f"{site.url}{suffix or '/'}")
        page.wait_for_function(filled, arg="fcp-today", timeout=15000)
        assert page.locator("#fcp-tomorrow").text_content() == f"{body['tomorrow']['expected_kwh']:.1f}"
        assert "battery" in page.locator("#fcp-note").text_content().lower()
        assert errors == [], errors
        page.close()



def test_the_fetchers_forecast_prom_is_not_read_as_a_source(web_paths: WebPaths) -> None:
    """weather.yaml's default prom_file is prometheus/forecast.prom, the folder the web app reads:
    the file is for Prometheus; the live source `forecast` belongs to the forecast service (the
    file's update would replace the service's values, `cutoff_before_sunrise` among them)."""
    now = time.time()
    today = datetime.fromtimestamp(now, UTC).date()
    weather = parse_hourly(redated("hourly_mixed_toulouse.json", today - timedelta(days=1)))
    config = WeatherConfig(arrays=(ArrayConfig("panels", 40, 0, 1.0),))
    prom = web_paths.prom_dir / "forecast.prom"
    forecaster = Forecaster(config, _Client({(40, 0): weather}), prom_path=prom, clock=lambda: now)
    assert forecaster.run(), forecaster.last_error
    assert "solarmon_forecast" in prom.read_text()
    app = create_app(make_web_config(web_paths, {}))
    ctx = get_context(app)
    ctx.parts.reader.scan(force=True)
    assert ctx.parts.state.snapshot("forecast") is None
