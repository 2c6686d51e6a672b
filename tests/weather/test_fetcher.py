"""WeatherFetcher end to end: local Open-Meteo stand-in -> fetcher -> real Mosquitto -> subscriber."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from solarmon.mqtt.client import Availability, MqttConnection
from solarmon.mqtt.house import HouseSubscriber
from solarmon.weather.client import OpenMeteoClient
from solarmon.weather.config import WeatherConfig
from solarmon.weather.fetcher import DIGEST_TOPIC, STATUS_TOPIC, WeatherFetcher
from tests.fixtures.broker import Broker, Recorder, settings_for
from tests.weather.conftest import FakeOpenMeteo, Reply, body

pytestmark = pytest.mark.timeout(60)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def publisher(mqtt_broker: Broker):
    conn = MqttConnection(
        settings_for(mqtt_broker, "solarmon-weather"), availability=Availability(STATUS_TOPIC)
    )
    conn.start()
    assert conn.wait_connected(5)
    yield conn
    conn.stop()


def test_publishes_retained_values_digest_and_status(
    weather_config: WeatherConfig, publisher: MqttConnection, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    fetcher = WeatherFetcher(weather_config, OpenMeteoClient(weather_config), publisher=publisher)
    assert fetcher.fetch_once()
    assert publisher.flush(5)
    # A client connecting afterwards gets the retained picture.
    late = Recorder()
    mqtt_connect("solarmon-web", subscriptions=["weather/#"], on_message=late)
    assert late.wait_for(lambda ms: len({m.topic for m in ms}) >= 15)
    assert late.on("weather/temperature")[-1].payload == b"-3.4"
    assert late.on("weather/weather_code")[-1].payload == b"71"
    assert late.on("weather/tilted_irradiance")[-1].payload == b"121.4"
    assert all(m.retain for m in late.messages)
    assert late.on(STATUS_TOPIC)[-1].payload == b"online"
    digest = json.loads(late.on(DIGEST_TOPIC)[-1].payload)
    assert digest["values"]["pressure"] == 1012.6
    assert digest["units"]["wind_speed"] == "km/h"
    assert digest["stale"] is False
    assert digest["location"]["name"] == "Pittsfield, Vermont"
    assert "Open-Meteo" in digest["attribution"]


def test_failure_keeps_last_values_marked_stale(
    weather_config: WeatherConfig,
    open_meteo: FakeOpenMeteo,
    publisher: MqttConnection,
    mqtt_connect: Callable[..., MqttConnection],
) -> None:
    watcher = Recorder()
    mqtt_connect("solarmon-web", subscriptions=[DIGEST_TOPIC], on_message=watcher)
    fetcher = WeatherFetcher(
        weather_config, OpenMeteoClient(weather_config, sleep=lambda _s: None), publisher=publisher
    )
    assert fetcher.fetch_once()
    open_meteo.queue(Reply(400, body("error_bad_variable.json")))
    assert not fetcher.fetch_once()
    assert watcher.wait_for(lambda ms: len(ms) >= 2)
    stale = json.loads(watcher.messages[-1].payload)
    assert stale["stale"] is True
    assert "invalid String value" in stale["error"]
    assert stale["values"]["temperature"] == -3.4  # kept
    assert fetcher.failures == 1
    # And it recovers on the next good answer.
    assert fetcher.fetch_once()
    assert watcher.wait_for(lambda ms: len(ms) >= 3)
    assert json.loads(watcher.messages[-1].payload)["stale"] is False


def test_stop_announces_offline(
    weather_config: WeatherConfig, mqtt_broker: Broker, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    conn = MqttConnection(
        settings_for(mqtt_broker, "solarmon-weather"), availability=Availability(STATUS_TOPIC)
    )
    conn.start()
    assert conn.wait_connected(5)
    conn.stop()
    watcher = Recorder()
    mqtt_connect("solarmon-web", subscriptions=[STATUS_TOPIC], on_message=watcher)
    assert watcher.wait_for(lambda ms: bool(ms))
    assert watcher.messages[-1].payload == b"offline"


def test_fetcher_values_reach_house_subscriber_and_survive_broker_restart(
    weather_config: WeatherConfig, mqtt_broker: Broker, publisher: MqttConnection
) -> None:
    sub = HouseSubscriber(settings_for(mqtt_broker, "solarmon-web"))
    sub.start()
    try:
        assert sub.wait_connected(5)
        fetcher = WeatherFetcher(weather_config, OpenMeteoClient(weather_config), publisher=publisher)
        fetcher.start()
        assert wait_until(lambda: "temperature" in sub.board.values("weather"))
        assert sub.board.stats()["weather_fetcher_online"] is True
        mqtt_broker.stop()
        assert wait_until(lambda: not publisher.connected and not sub.health()["connected"])
        mqtt_broker.start()
        # Both reconnect by themselves within 5 s of the broker's return.
        assert wait_until(lambda: publisher.connected and sub.health()["connected"], timeout_s=5.0)
        fetcher.stop()
        assert fetcher.fetch_once()
        assert wait_until(lambda: sub.board.stats()["accepted"].get("weather", 0) >= 26)
    finally:
        sub.stop()


def test_service_loop_survives_failures(weather_config: WeatherConfig, open_meteo: FakeOpenMeteo) -> None:
    from dataclasses import replace

    config = replace(weather_config, interval_s=0.05, retries=0)
    open_meteo.queue(Reply(500, b"oops"), Reply(200, b"{not json"), Reply(429, b"{}"))
    fetcher = WeatherFetcher(config, OpenMeteoClient(config))
    fetcher.start()
    try:
        assert wait_until(lambda: fetcher.fetches >= 1)
    finally:
        fetcher.stop()
    assert fetcher.failures == 3
    assert fetcher.digest()["stale"] is False
    assert fetcher.last is not None
