"""weather_fetcher.py as a real subprocess: --once exit codes, config errors, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from solarmon.confighelper import ConfigError
from solarmon.weather.config import load_weather_config, parse_weather_config
from tests.fixtures.broker import Broker, Recorder
from tests.weather.conftest import FakeOpenMeteo, Reply, body

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


def write_config(tmp_path: Path, open_meteo: FakeOpenMeteo, broker: Broker, **extra: object) -> Path:
    password_file = tmp_path / "weather.pass"
    password_file.write_text(broker.users["solarmon-weather"] + "\n")
    password_file.chmod(0o600)
    data = {
        "location": {"name": "Test Farm", "latitude": 44.0, "longitude": -72.5},
        "panels": {"tilt_deg": 35, "azimuth_deg": 15},
        "api": {"base_url": open_meteo.url, "timeout_s": 2, "retries": 1, "backoff_s": 0},
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "username": "solarmon-weather",
            "password_file": str(password_file),
        },
        **extra,
    }
    path = tmp_path / "weather.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "weather_fetcher.py"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def test_once_fetches_publishes_and_exits_0(
    tmp_path: Path, open_meteo: FakeOpenMeteo, mqtt_broker: Broker, mqtt_connect
) -> None:
    result = run("--once", "--config", str(write_config(tmp_path, open_meteo, mqtt_broker)))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["values"]["temperature"] == -3.4
    assert open_meteo.requests[0]["latitude"] == ["44.0000"]
    assert open_meteo.requests[0]["tilt"] == ["35"]
    retained = Recorder()
    mqtt_connect("solarmon-web", subscriptions=["weather/#"], on_message=retained)
    assert retained.wait_for(lambda ms: any(m.topic == "weather/humidity" for m in ms))
    assert retained.on("weather/humidity")[-1].payload == b"81"


def test_once_exits_1_on_api_error_and_logs_reason(
    tmp_path: Path, open_meteo: FakeOpenMeteo, mqtt_broker: Broker
) -> None:
    open_meteo.default = Reply(400, body("error_bad_variable.json"))
    result = run("--once", "--config", str(write_config(tmp_path, open_meteo, mqtt_broker)))
    assert result.returncode == 1
    assert "invalid String value global_tilted_irradiancee" in result.stderr
    assert json.loads(result.stdout)["stale"] is True


def test_once_exits_1_when_broker_refuses(
    tmp_path: Path, open_meteo: FakeOpenMeteo, mqtt_broker: Broker
) -> None:
    config = write_config(tmp_path, open_meteo, mqtt_broker)
    result = run("--once", "--config", str(config), env={"SOLARMON_MQTT_PASSWORD": "not-the-password"})
    assert result.returncode == 1
    assert "cannot connect to the MQTT broker" in result.stderr


def test_bad_config_exits_2_naming_the_key(
    tmp_path: Path, open_meteo: FakeOpenMeteo, mqtt_broker: Broker
) -> None:
    config = write_config(tmp_path, open_meteo, mqtt_broker, interval_s=5)
    result = run("--once", "--config", str(config))
    assert result.returncode == 2
    assert "interval_s must be a number in 60..86400, got 5" in result.stderr
    assert run("--once", "--config", str(tmp_path / "missing.yaml")).returncode == 2


def test_service_runs_until_sigterm(
    tmp_path: Path, open_meteo: FakeOpenMeteo, mqtt_broker: Broker, mqtt_connect
) -> None:
    config = write_config(tmp_path, open_meteo, mqtt_broker)
    watcher = Recorder()
    mqtt_connect("solarmon-web", subscriptions=["weather/status", "weather/current"], on_message=watcher)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "weather_fetcher.py"), "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert watcher.wait_for(lambda ms: any(m.topic == "weather/current" for m in ms), timeout_s=20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Nothing said "offline" before the stop: any such message is the stop's announcement.
    assert watcher.wait_for(
        lambda ms: any(m.topic == "weather/status" and m.payload == b"offline" for m in ms), timeout_s=10
    ), proc.stderr.read().decode() if proc.stderr else ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"location": {"latitude": 91}}, "location.latitude must be a number in -90..90, got 91"),
        ({"location": {"longitude": "west"}}, "location.longitude must be a number"),
        ({"location": {"name": ""}}, "location.name must be a non-empty string"),
        ({"panels": {"tilt_deg": 95}}, "panels.tilt_deg must be a number in 0..90"),
        ({"panels": {"azimuth_deg": 270}}, "panels.azimuth_deg must be a number in -180..180"),
        ({"interval_s": True}, "interval_s must be a number"),
        ({"api": {"base_url": "ftp://x"}}, "api.base_url must be an http(s) URL"),
        ({"api": {"retries": 11}}, "api.retries must be an integer in 0..10"),
        ({"api": {"timeout_s": 0}}, "api.timeout_s must be a number in 1..120"),
        ({"mqtt": {"port": 0}}, "mqtt.port must be an integer in 1..65535"),
        ({"location": []}, "location must be a mapping"),
        ([1, 2], "top level must be a mapping"),
    ],
)
def test_config_errors_name_key_and_limit(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse_weather_config(data, source="w.yaml", env={})  # type: ignore[arg-type]
    assert str(info.value).startswith("w.yaml")


def test_config_defaults_and_warnings(caplog: pytest.LogCaptureFixture) -> None:
    config = parse_weather_config({"colour": "blue", "panels": {"tilt": 30}}, env={})
    assert (config.latitude, config.longitude, config.interval_s) == (43.7776, -72.8145, 600.0)
    assert config.mqtt.password is None
    assert "unknown key colour" in caplog.text
    assert "unknown key panels.tilt" in caplog.text


def test_password_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "p"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    path = tmp_path / "weather.yaml"
    path.write_text(yaml.safe_dump({"mqtt": {"username": "u", "password_file": str(secret)}}))
    with pytest.raises(ConfigError, match="chmod 600"):
        load_weather_config(path, env={})
    secret.chmod(0o600)
    assert load_weather_config(path, env={}).mqtt.password == "s3cret"
    assert load_weather_config(path, env={"SOLARMON_MQTT_PASSWORD": "from-env"}).mqtt.password == "from-env"


def test_once_without_mqtt_prints_and_exits_0(tmp_path: Path, open_meteo: FakeOpenMeteo) -> None:
    config = tmp_path / "weather.yaml"
    config.write_text(yaml.safe_dump({"api": {"base_url": open_meteo.url, "retries": 0}}))
    result = run("--once", "--no-mqtt", "--config", str(config))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["values"]["wind_gusts"] == 33.5
    assert printed["stale"] is False
    assert open_meteo.requests[0]["latitude"] == ["43.7776"]  # the seed's place by default
