"""MQTT: each service's broker account may touch only the topics it needs (mosquitto/solarmon.acl),
checked in a real Mosquitto loaded with the project's ACL and generated passwords.

Mosquitto drops a forbidden publish silently and never delivers a message a client may not read,
so absence is proven with a sentinel rather than a wait: after the message under test, the same
publisher sends a sentinel on a topic the receiver may see; messages of one publisher arrive in
order, so once the sentinel is in, the message under test would be too.
"""

from __future__ import annotations

import pytest

from tests.fixtures.broker import ACL_FILE, Recorder, acl_users

# user -> (a topic it may publish to, [(topic, may publish)])
PUBLISH: dict[str, tuple[str, list[tuple[str, bool]]]] = {
    "solarmon-web": ("alerts/sentinel", [
        ("alerts/battery_low", True), ("house/kitchen/temperature", False), ("weather/temperature", False),
        ("solarmon/main/set", False), ("homeassistant/sensor/x/config", False)]),
    "solarmon-weather": ("weather/sentinel", [
        ("weather/temperature", True), ("house/kitchen/temperature", False), ("solarmon/main/state", False),
        ("alerts/battery_low", False)]),
    "solarmon-daemon": ("solarmon/sentinel", [
        ("solarmon/main/battery_voltage", True), ("homeassistant/sensor/main/config", True),
        ("house/kitchen/temperature", False), ("weather/temperature", False), ("alerts/battery_low", False)]),
    "house-sensor": ("house/sentinel", [
        ("house/kitchen/temperature", True), ("weather/temperature", False), ("solarmon/main/set", False),
        ("solarmon/main/battery_voltage", False), ("alerts/battery_low", False), ("battery/cell1", False)]),
    "solarmon-bms": ("battery/sentinel", [
        ("battery/cell1", True), ("house/kitchen/temperature", False), ("weather/temperature", False),
        ("solarmon/main/set", False), ("alerts/battery_low", False)]),
    "homeassistant": ("homeassistant/sentinel", [
        ("solarmon/main/set", True), ("homeassistant/status", True), ("solarmon/main/battery_voltage", False),
        ("house/kitchen/temperature", False), ("weather/temperature", False)]),
}
# user -> (a topic it may read, [(topic, may read)]). house-sensor and solarmon-bms read nothing: no
# sentinel, and their write-only rights are covered above.
READ: dict[str, tuple[str, list[tuple[str, bool]]]] = {
    "solarmon-web": ("house/sentinel", [
        ("house/kitchen/temperature", True), ("weather/temperature", True), ("solarmon/main/state", True),
        ("battery/cell1", True), ("homeassistant/status", False), ("alerts/battery_low", False)]),
    "solarmon-weather": ("weather/sentinel", [
        ("house/kitchen/temperature", False), ("solarmon/main/set", False), ("alerts/battery_low", False)]),
    "solarmon-daemon": ("solarmon/sentinel", [
        ("solarmon/main/set", True), ("homeassistant/status", True), ("house/kitchen/temperature", False),
        ("weather/temperature", False), ("alerts/battery_low", False)]),
    "homeassistant": ("solarmon/sentinel", [
        ("solarmon/main/battery_voltage", True), ("alerts/battery_low", True),
        ("house/kitchen/temperature", True), ("weather/temperature", True), ("battery/cell1", True)]),
}


def test_every_acl_user_is_in_the_tables():
    users = acl_users(ACL_FILE.read_text())
    assert "mqttuser" not in users  # the seed's shared account is gone
    assert sorted(users) == sorted(PUBLISH)
    assert set(READ) | {"house-sensor", "solarmon-bms"} == set(users)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("user", list(PUBLISH))
def test_a_service_publishes_only_where_it_may(mqtt_broker, mqtt_connect, user):
    sentinel, cases = PUBLISH[user]
    seen = Recorder()
    mqtt_connect("admin", subscriptions=["#"], on_message=seen)
    client = mqtt_connect(user)
    for topic, _allowed in cases:
        assert client.publish(topic, "1", qos=1)
    assert client.publish(sentinel, "end", qos=1)
    assert seen.wait_for(lambda ms: any(m.topic == sentinel for m in ms)), f"{user} cannot publish {sentinel}"
    got = {topic: bool(seen.on(topic)) for topic, _allowed in cases}
    assert got == dict(cases)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("user", list(READ))
def test_a_service_reads_only_what_it_may(mqtt_broker, mqtt_connect, user):
    sentinel, cases = READ[user]
    seen = Recorder()
    mqtt_connect(user, subscriptions=["#"], on_message=seen)
    admin = mqtt_connect("admin")
    for topic, _allowed in cases:
        assert admin.publish(topic, "1", qos=1)
    assert admin.publish(sentinel, "end", qos=1)
    assert seen.wait_for(lambda ms: any(m.topic == sentinel for m in ms)), f"{user} cannot read {sentinel}"
    got = {topic: bool(seen.on(topic)) for topic, _allowed in cases}
    assert got == dict(cases)
