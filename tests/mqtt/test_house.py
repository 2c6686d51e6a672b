"""HouseSubscriber against a real private Mosquitto: values, rejections, .prom files, reconnect."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solarmon.mqtt.client import MqttConnection
from solarmon.mqtt.house import HouseSubscriber
from solarmon.mqtt.payload import SensorValue
from tests.fixtures.broker import Broker, Recorder, settings_for

pytestmark = pytest.mark.timeout(60)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def received() -> list[SensorValue]:
    return []


@pytest.fixture
def subscriber(mqtt_broker: Broker, tmp_path: Path, received: list[SensorValue]) -> Iterator[HouseSubscriber]:
    sub = HouseSubscriber(
        settings_for(mqtt_broker, "solarmon-web"),
        sinks=[received.extend],
        prom_dir=tmp_path / "prometheus",
        prom_interval_s=0.2,
    )
    sub.start()
    assert sub.wait_connected(5)
    yield sub
    sub.stop()


def prom_samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_values_reach_board_sinks_and_prom(
    subscriber: HouseSubscriber,
    mqtt_connect: Callable[..., MqttConnection],
    received: list[SensorValue],
    tmp_path: Path,
) -> None:
    sensor = mqtt_connect("house-sensor")
    sensor.publish("house/temperature", "23.5", qos=1)
    sensor.publish("house/living_room/humidity", '{"value": 41, "unit": "%"}', qos=1)
    assert wait_until(lambda: len(received) == 2)
    values = subscriber.board.values("house")
    assert values["temperature"]["value"] == 23.5
    assert values["living_room/humidity"] == {
        "value": 41.0,
        "unit": "%",
        "ts": values["living_room/humidity"]["ts"],
    }
    prom = tmp_path / "prometheus" / "house.prom"
    assert wait_until(lambda: prom.exists() and "living_room" in prom.read_text())
    samples = prom_samples(prom)
    assert samples[("house_sensor_value", (("sensor", "temperature"), ("unit", "")))] == 23.5
    assert samples[("house_sensor_value", (("sensor", "living_room/humidity"), ("unit", "%")))] == 41.0
    assert samples[("house_messages_accepted_total", ())] == 2
    # Readable by node_exporter's textfile collector (its own user) whatever our umask is.
    assert prom.stat().st_mode & 0o777 == 0o644


def test_bad_payloads_counted_never_stored(
    subscriber: HouseSubscriber, mqtt_connect: Callable[..., MqttConnection], received: list[SensorValue]
) -> None:
    sensor = mqtt_connect("house-sensor")
    bad = {"house/temperature": ["nan", "warm", "x" * 300, '{"value": "1"}', ""], "house/a/b/c/d": ["1"]}
    for topic, payloads in bad.items():
        for payload in payloads:
            sensor.publish(topic, payload, qos=1)
    sensor.publish("house/ok", "1", qos=1)  # a good one after the bad: the subscriber is still alive
    assert wait_until(lambda: subscriber.board.stats()["accepted_total"] == 1)
    assert wait_until(lambda: subscriber.board.stats()["rejected_total"] == 6)
    stats = subscriber.board.stats()
    assert stats["rejected"]["house"] == {
        "non_finite": 1,
        "not_a_number": 2,
        "oversized": 1,
        "empty": 1,
        "too_deep": 1,
    }
    assert wait_until(lambda: len(received) == 1)  # the sinks run on the subscriber's worker
    assert [v.name for v in received] == ["ok"]
    assert set(subscriber.board.values("house")) == {"ok"}


def test_weather_status_and_digest_are_not_sensors(
    subscriber: HouseSubscriber, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    fetcher = mqtt_connect("solarmon-weather")
    fetcher.publish(
        "weather/current", '{"values": {"temperature": 1.5}, "units": {"temperature": "°C"}}', qos=1
    )
    fetcher.publish("weather/status", "online", qos=1)
    fetcher.publish("weather/temperature", "1.5", qos=1)
    fetcher.publish("weather/rain", "0", qos=1)
    fetcher.publish("weather/current", b"{broken", qos=1)  # advisory only: ignored, not counted
    assert wait_until(lambda: subscriber.board.stats()["accepted_total"] == 2)
    assert wait_until(lambda: subscriber.board.stats()["weather_fetcher_online"] is True)
    values = subscriber.board.values("weather")
    assert {name: (v["value"], v["unit"]) for name, v in values.items()} == {
        "temperature": (1.5, "°C"),  # the unit came from the digest
        "rain": (0.0, None),
    }
    assert subscriber.board.stats()["rejected_total"] == 0


def test_reconnects_after_broker_restart(
    subscriber: HouseSubscriber, mqtt_broker: Broker, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    mqtt_broker.stop()
    assert wait_until(lambda: not subscriber.health()["connected"])
    mqtt_broker.start()
    restarted = time.monotonic()
    assert wait_until(lambda: subscriber.health()["connected"], timeout_s=5.0)
    assert time.monotonic() - restarted < 5.0
    health = subscriber.health()
    assert health["connects"] == 2
    assert health["disconnects"] == 1
    # Subscriptions were renewed on reconnect: a new value arrives.
    mqtt_connect("house-sensor").publish("house/after_restart", "7", qos=1)
    assert wait_until(lambda: "after_restart" in subscriber.board.values("house"))


def test_wrong_password_reported_not_connected(mqtt_broker: Broker) -> None:
    settings = settings_for(mqtt_broker, "solarmon-web")
    bad = HouseSubscriber(
        type(settings)(host=settings.host, port=settings.port, username=settings.username, password="wrong")
    )
    bad.start()
    try:
        assert wait_until(lambda: bad.health()["last_error"] is not None)
        assert not bad.health()["connected"]
        assert bad.health()["last_error"] in ("bad username or password", "not authorised")
    finally:
        bad.stop()


def test_acl_keeps_sensors_out_of_inverter_topics(
    mqtt_broker: Broker, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    recorder = Recorder()
    mqtt_connect("admin", subscriptions=["#"], on_message=recorder)
    sensor = mqtt_connect("house-sensor")
    sensor.publish("solarmon/main/set", '{"command": "POP02"}', qos=1)
    sensor.publish("house/marker", "1", qos=1)
    assert recorder.wait_for(lambda ms: any(m.topic == "house/marker" for m in ms))
    assert recorder.on("solarmon/main/set") == []


def test_sensor_count_is_bounded() -> None:
    from solarmon.mqtt.house import MAX_SENSORS, SensorBoard

    board = SensorBoard()
    for i in range(MAX_SENSORS):
        assert board.store(SensorValue("house", f"s{i}", 1.0, None, 0.0))
    assert board.store(SensorValue("house", "s0", 2.0, None, 1.0))  # a known sensor still updates
    assert not board.store(SensorValue("house", "one_too_many", 1.0, None, 0.0))
    assert board.store(SensorValue("weather", "temperature", 1.0, None, 0.0))  # per source
    stats = board.stats()
    assert stats["rejected"]["house"] == {"too_many_sensors": 1}
    assert len(board.values("house")) == MAX_SENSORS
    assert board.values("house")["s0"]["value"] == 2.0


def test_digest_units_are_checked_and_bounded(
    subscriber: HouseSubscriber, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    """Issue 14, 14d: weather/current's units meet the rules of any unit, and their table is bounded."""
    import json

    from solarmon.mqtt.house import MAX_SENSORS

    fetcher = mqtt_connect("solarmon-weather")
    units = {"temperature": "\x1b[31m°C", "wind": "km/h", "rain": "", "bad name": "mm",
             "cloud": "x" * 17}
    fetcher.publish("weather/current", json.dumps({"units": units}), qos=1)
    for name in ("temperature", "wind", "rain", "cloud"):
        fetcher.publish(f"weather/{name}", "1", qos=1)
    assert wait_until(lambda: subscriber.board.stats()["accepted_total"] == 4)
    values = subscriber.board.values("weather")
    assert {name: v["unit"] for name, v in values.items()} == {
        "temperature": None, "wind": "km/h", "rain": None, "cloud": None}
    # A stream of digests with new names each time: the unit table stops at MAX_SENSORS per source.
    for batch in range(3):
        many = {f"n{batch}_{i}": "W" for i in range(MAX_SENSORS // 2 + 10)}
        fetcher.publish("weather/current", json.dumps({"units": many}), qos=1)
    fetcher.publish("weather/marker", "1", qos=1)
    assert wait_until(lambda: "marker" in subscriber.board.values("weather"))
    assert len(subscriber.board._units) <= MAX_SENSORS
