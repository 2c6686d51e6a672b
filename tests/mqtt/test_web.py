"""The web app with MQTT on, against a real broker: /api/house, /api/weather, /api/status,
house.prom, the history, reconnect after a broker restart, bad payloads counted and ignored."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solarmon.mqtt.client import MqttConnection
from tests.fixtures.broker import Broker

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def web_config_overrides(mqtt_broker: Broker, tmp_path: Path) -> dict[str, dict[str, Any]]:
    secret = tmp_path / "web-mqtt.pass"
    secret.write_text(mqtt_broker.users["solarmon-web"] + "\n")
    secret.chmod(0o600)
    return {
        "mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port, "password_file": str(secret)},
        "house": {"prom_interval_s": 1},
    }


def poll(client: Any, path: str, predicate: Callable[[dict], bool], timeout_s: float) -> dict | None:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(path).get_json()
        if predicate(body):
            return body
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)


def house_value(body: dict, name: str) -> Any:
    return body.get("sources", {}).get("house", {}).get("values", {}).get(name)


def test_sensor_shows_in_api_house_within_1s(
    web_runtime: Any, client: Any, app: Any, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    from solarmon.web.runtime import get_context

    assert get_context(app).parts.house.wait_connected(5)
    sensor = mqtt_connect("house-sensor")
    sensor.publish("house/temperature", "23.5", qos=1)
    assert sensor.flush(5)
    published = time.monotonic()
    body = poll(client, "/api/house", lambda b: house_value(b, "temperature") == 23.5, timeout_s=1.0)
    assert (
        body is not None
    ), f"not in /api/house 1 s after the broker acknowledged it: {client.get('/api/house').json}"
    assert time.monotonic() - published < 1.0
    assert body["available"] is True
    assert body["configured"] is True  # the part is on (an mqtt: section)
    assert "reason" not in body
    status = client.get("/api/status").get_json()
    assert status["sources"]["mqtt"]["ok"] is True
    assert status["sources"]["mqtt"]["accepted"]["house"] == 1


def test_weather_units_bad_payloads_prom_and_history(
    web_runtime: Any, client: Any, app: Any, web_paths: Any, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    from solarmon.web.runtime import get_context

    ctx = get_context(app)
    assert ctx.parts.house.wait_connected(5)
    fetcher = mqtt_connect("solarmon-weather")
    fetcher.publish("weather/current", '{"units": {"temperature": "°C", "wind_speed": "km/h"}}', qos=1)
    fetcher.publish("weather/temperature", "-3.4", qos=1)
    fetcher.publish("weather/wind_speed", "14.8", qos=1)
    sensor = mqtt_connect("house-sensor")
    for bad in ("nan", "warm", "", "9" * 300):
        sensor.publish("house/temperature", bad, qos=1)
    sensor.publish("house/a/b/c/d", "1", qos=1)
    sensor.publish("house/humidity", '{"value": 45.5, "unit": "%"}', qos=1)
    body = poll(
        client,
        "/api/weather",
        lambda b: "wind_speed" in b["sources"].get("weather", {}).get("values", {}),
        timeout_s=5,
    )
    assert body is not None
    weather = body["sources"]["weather"]
    assert weather["values"] == {"temperature": -3.4, "wind_speed": 14.8}
    assert weather["units"] == {"temperature": "°C", "wind_speed": "km/h"}
    house = poll(client, "/api/house", lambda b: house_value(b, "humidity") == 45.5, timeout_s=5)
    assert house is not None
    assert house["sources"]["house"]["values"] == {"humidity": 45.5}  # no bad value stored
    assert house["sources"]["house"]["units"] == {"humidity": "%"}
    mqtt = client.get("/api/status").get_json()["sources"]["mqtt"]
    assert mqtt["rejected"]["house"] == {
        "non_finite": 1,
        "not_a_number": 1,
        "empty": 1,
        "oversized": 1,
        "too_deep": 1,
    }
    # house.prom: written (atomically, by the real exposition code) and NOT read back by the .prom reader.
    prom = web_paths.prom_dir / "house.prom"
    deadline = time.monotonic() + 5
    while not (prom.exists() and "humidity" in prom.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    [sample] = families["house_sensor_value"].samples
    assert (sample.labels, sample.value) == ({"sensor": "humidity", "unit": "%"}, 45.5)
    rejected = {s.labels["reason"]: s.value for s in families["house_messages_rejected"].samples}
    assert sum(rejected.values()) == 5
    ctx.parts.reader.scan(force=True)
    assert set(client.get("/api/house").get_json()["sources"]) == {"house"}
    # And the history has them.
    history = ctx.parts.history
    assert history.flush(10)
    assert "humidity" in {m["metric"] for m in history.metrics("house")}


def test_bms_cells_reach_api_battery_history_and_prom(
    web_runtime: Any, client: Any, app: Any, web_paths: Any, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    from solarmon.web.runtime import get_context

    ctx = get_context(app)
    assert ctx.parts.house.wait_connected(5)
    # The ACL: only the BMS account may publish battery/#; the broker drops the others silently.
    intruder = mqtt_connect("house-sensor")
    intruder.publish("battery/cell9", "9.9", qos=1)
    assert intruder.flush(5)
    bms = mqtt_connect("solarmon-bms")
    bms.publish("house/temperature", "99", qos=1)
    for i, volts in enumerate((3.301, 3.299, 3.312, 3.305), start=1):
        bms.publish(f"battery/cell{i}", f'{{"value": {volts}, "unit": "V"}}', qos=1)
    bms.publish("battery/temperature", "18.5", qos=1)
    bms.publish("battery/cell5", "nan", qos=1)
    assert bms.flush(5)
    body = poll(client, "/api/battery",
                lambda b: "temperature" in b["sources"].get("battery", {}).get("values", {}), timeout_s=5)
    assert body is not None, client.get("/api/battery").get_json()
    battery = body["sources"]["battery"]
    assert battery["values"] == {"cell1": 3.301, "cell2": 3.299, "cell3": 3.312, "cell4": 3.305,
                                 "temperature": 18.5}
    assert battery["units"]["cell1"] == "V"
    assert set(battery["ages"]) == set(battery["values"])
    assert client.get("/api/house").get_json()["sources"] == {}
    mqtt = client.get("/api/status").get_json()["sources"]["mqtt"]
    assert mqtt["accepted"]["battery"] == 5
    assert mqtt["rejected"]["battery"] == {"non_finite": 1}
    history = ctx.parts.history
    assert history.flush(10)
    series = client.get("/api/historical?source=battery&hours=1&metrics=cell1,cell3").get_json()["series"]
    assert [v for v in series["cell3"]["avg"] if v is not None] == [pytest.approx(3.312)]
    prom = web_paths.prom_dir / "battery.prom"
    deadline = time.monotonic() + 5
    while not (prom.exists() and "cell4" in prom.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    cells = {s.labels["sensor"]: s.value for s in families["battery_sensor_value"].samples}
    assert cells["cell2"] == 3.299


def test_web_app_reconnects_after_broker_restart(
    web_runtime: Any, client: Any, app: Any, mqtt_broker: Broker, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    from solarmon.web.runtime import get_context

    assert get_context(app).parts.house.wait_connected(5)
    mqtt_broker.stop()
    assert poll(client, "/api/status", lambda b: b["sources"]["mqtt"]["ok"] is False, timeout_s=5) is not None
    assert client.get("/api/status").get_json()["sources"]["mqtt"]["error"]
    mqtt_broker.start()
    assert poll(client, "/api/status", lambda b: b["sources"]["mqtt"]["ok"] is True, timeout_s=5) is not None
    mqtt_connect("house-sensor").publish("house/after", "1", qos=1)
    assert poll(client, "/api/house", lambda b: house_value(b, "after") == 1, timeout_s=5) is not None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"mqtt": {"port": 0}}, "mqtt.port must be an integer in 1..65535"),
        ({"mqtt": {}, "house": {"prom_interval_s": 0}}, "house.prom_interval_s must be a number in 1..3600"),
    ],
)
def test_bad_sections_stop_the_app(web_paths: Any, section: dict, message: str) -> None:
    from solarmon.confighelper import ConfigError
    from solarmon.web import create_app
    from tests.fixtures.webapp import make_web_config

    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        create_app(make_web_config(web_paths, section))


def test_without_mqtt_section_nothing_starts(web_paths: Any) -> None:
    from solarmon.web import create_app
    from solarmon.web.runtime import get_context
    from tests.fixtures.webapp import make_web_config

    ctx = get_context(create_app(make_web_config(web_paths)))
    assert ctx.parts.house is None
    assert "mqtt" not in ctx.health


def test_weather_fetcher_offline_or_stale_marks_the_source(
    web_runtime: Any, client: Any, app: Any, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    from solarmon.web.runtime import get_context

    assert get_context(app).parts.house.wait_connected(5)
    fetcher = mqtt_connect("solarmon-weather")
    fetcher.publish("weather/current", '{"stale": false, "units": {"temperature": "°C"}}', qos=1)
    fetcher.publish("weather/temperature", "1.5", qos=1)

    def weather_health(body: dict) -> dict:
        return body["sources"].get("weather", {})

    assert poll(client, "/api/status", lambda b: weather_health(b).get("ok") is True, timeout_s=5) is not None
    fetcher.publish("weather/current", '{"stale": true, "error": "HTTP 500: upstream", "units": {}}', qos=1)
    body = poll(client, "/api/status", lambda b: weather_health(b).get("ok") is False, timeout_s=5)
    assert body is not None
    assert weather_health(body)["error"] == "stale: HTTP 500: upstream"
    fetcher.publish("weather/temperature", "1.7", qos=1)  # a fresh value clears it
    assert poll(client, "/api/status", lambda b: weather_health(b).get("ok") is True, timeout_s=5) is not None
    fetcher.publish("weather/status", "offline", qos=1)
    body = poll(client, "/api/status", lambda b: weather_health(b).get("ok") is False, timeout_s=5)
    assert body is not None
    assert weather_health(body)["error"].startswith("fetcher_offline")
    assert client.get("/api/weather").get_json()["sources"]["weather"]["values"] == {"temperature": 1.7}


def test_weather_fetcher_to_api_weather(web_runtime: Any, client: Any, app: Any, mqtt_broker: Broker) -> None:
    """Open-Meteo stand-in -> WeatherFetcher -> broker -> web app -> /api/weather, units included."""
    from solarmon.mqtt.client import Availability
    from solarmon.weather.client import OpenMeteoClient
    from solarmon.weather.config import WeatherConfig
    from solarmon.weather.fetcher import STATUS_TOPIC, WeatherFetcher
    from solarmon.web.runtime import get_context
    from tests.fixtures.broker import settings_for
    from tests.weather.conftest import FakeOpenMeteo

    assert get_context(app).parts.house.wait_connected(5)
    fake = FakeOpenMeteo()
    fake.thread.start()
    conn = MqttConnection(
        settings_for(mqtt_broker, "solarmon-weather"), availability=Availability(STATUS_TOPIC)
    )
    conn.start()
    try:
        assert conn.wait_connected(5)
        config = WeatherConfig(base_url=fake.url, timeout_s=2, retries=0)
        assert WeatherFetcher(config, OpenMeteoClient(config), publisher=conn).fetch_once()
        body = poll(
            client,
            "/api/weather",
            lambda b: len(b["sources"].get("weather", {}).get("values", {})) == 13,
            timeout_s=5,
        )
        assert body is not None
        weather = body["sources"]["weather"]
        assert weather["values"]["temperature"] == -3.4
        assert weather["values"]["tilted_irradiance"] == 121.4
        assert weather["units"]["wind_gusts"] == "km/h"
        assert weather["units"]["temperature"] == "°C"
    finally:
        conn.stop()
        fake.server.shutdown()
        fake.server.server_close()


@pytest.mark.timeout(150)
def test_no_qos1_message_lost_across_ten_broker_restarts(
    web_runtime: Any, app: Any, mqtt_broker: Broker, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    """Issue 14.6: the web app's subscriber keeps a persistent session, so the broker queues for it.

    A sensor publishes a numbered reading at QoS 1 every 20 ms while the real broker is restarted
    ten times (0.5 s down, 2 s up). Every number must reach the web app's sinks (duplicates, which
    QoS 1 allows, are fine). With clean sessions, what the broker got before the subscriber had
    resubscribed was dropped.
    """
    import threading

    from solarmon.web.runtime import get_context

    subscriber = get_context(app).parts.house
    assert subscriber.wait_connected(5)
    seen: set[float] = set()
    subscriber.sinks.append(lambda batch: seen.update(v.value for v in batch if v.name == "seq"))
    sensor = mqtt_connect("house-sensor")
    sent: list[int] = []
    stop = threading.Event()

    def publish() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            assert sensor.publish("house/seq", str(number), qos=1)
            sent.append(number)
            time.sleep(0.02)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        for _ in range(10):
            time.sleep(2.0)
            mqtt_broker.stop()
            time.sleep(0.5)
            mqtt_broker.start()
        time.sleep(2.0)
    finally:
        stop.set()
        publisher.join(5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not set(map(float, sent)) <= seen:
        time.sleep(0.1)
    lost = sorted(set(map(float, sent)) - seen)
    print(f"sent {len(sent)} QoS 1 messages across 10 broker restarts, lost {len(lost)}")
    assert not lost, f"{len(lost)} of {len(sent)} lost, e.g. {lost[:10]}"
