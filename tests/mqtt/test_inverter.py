"""The daemon's mqtt output on a real broker: state, availability, HA discovery and its re-publish
on `homeassistant/status`, settings over MQTT through a real Daemon's control path."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from solarmon.daemon.mqtt_inverter import InverterMqtt, InverterMqttConfig, parse_request
from solarmon.daemon.service import Daemon
from solarmon.mqtt.client import MqttConnection
from solarmon.mqtt.discovery import DeviceInfo
from tests.fixtures.broker import Broker, Recorder, settings_for
from tests.mqtt.conftest import reading

pytestmark = pytest.mark.timeout(60)


def make_output(broker: Broker, **options: object) -> InverterMqtt:
    return InverterMqtt(settings_for(broker, "solarmon-daemon"), InverterMqttConfig(**options))  # type: ignore[arg-type]


@pytest.fixture
def output_factory(mqtt_broker: Broker) -> Iterator[Callable[..., InverterMqtt]]:
    made: list[InverterMqtt] = []

    def make(**options: object) -> InverterMqtt:
        control = options.pop("control", None)
        out = make_output(mqtt_broker, **options)
        out.control = control  # type: ignore[assignment]
        out.add_device(DeviceInfo(section="inverter", name="Main inverter", serial="92932004102443"))
        out.start()
        assert out.connection.wait_connected(5)
        made.append(out)
        return out

    yield make
    for out in made:
        out.stop()


def test_state_values_and_availability(
    output_factory: Callable[..., InverterMqtt], mqtt_connect: Callable[..., MqttConnection]
) -> None:
    out = output_factory()
    out.publish_fields("inverter", reading("QPIGS").fields)
    out.publish_fields("inverter", reading("QMOD").fields)
    out.set_available("inverter", True)
    ha = Recorder()
    mqtt_connect("homeassistant", subscriptions=["solarmon/#"], on_message=ha)
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inverter/availability" for m in ms))
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inverter/state" for m in ms))
    state = json.loads(ha.on("solarmon/inverter/state")[-1].payload)
    assert state["battery_voltage"] == 57.5
    assert state["device_mode"] == "Battery"  # merged across commands
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inverter/pv_input_power" for m in ms))
    assert ha.on("solarmon/inverter/pv_input_power")[-1].payload == b"856"
    assert ha.on("solarmon/inverter/availability")[-1].payload == b"online"
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/status" and m.payload == b"online" for m in ms))
    # Without discovery enabled nothing goes to homeassistant/.
    watcher = Recorder()
    mqtt_connect("admin", subscriptions=["homeassistant/#"], on_message=watcher)
    before = len(ha.on("solarmon/inverter/state"))
    out.publish_fields("inverter", reading("QPIGS").fields)
    assert ha.wait_for(lambda ms: len(ha.on("solarmon/inverter/state")) > before)
    assert watcher.messages == []


def test_stop_and_last_will_mark_offline(
    mqtt_broker: Broker,
    output_factory: Callable[..., InverterMqtt],
    mqtt_connect: Callable[..., MqttConnection],
) -> None:
    out = output_factory()
    out.set_available("inverter", True)
    out.stop()
    ha = Recorder()
    mqtt_connect("homeassistant", subscriptions=["solarmon/#"], on_message=ha)
    assert ha.wait_for(lambda ms: len(ms) >= 2)
    assert ha.on("solarmon/status")[-1].payload == b"offline"
    assert ha.on("solarmon/inverter/availability")[-1].payload == b"offline"


def test_discovery_published_and_republished_on_ha_birth(
    output_factory: Callable[..., InverterMqtt], mqtt_connect: Callable[..., MqttConnection]
) -> None:
    out = output_factory(discovery=True)
    out.publish_fields("inverter", reading("QPIGS").fields)
    count = len(reading("QPIGS").fields)
    assert out.connection.flush(5)  # the broker has them all before Home Assistant subscribes
    ha = Recorder()
    ha_conn = mqtt_connect("homeassistant", subscriptions=["homeassistant/+/+/+/config"], on_message=ha)
    # Every config is kept by the broker: a late subscriber gets them as retained copies.
    assert ha.wait_for(lambda ms: len({m.topic for m in ms if m.retain}) == count)
    config = json.loads(
        ha.on("homeassistant/sensor/solarmon_92932004102443/battery_voltage/config")[-1].payload
    )
    assert config["device_class"] == "voltage"
    # HA restarts and announces itself: everything is sent again (live, not retained copies).
    live_before = sum(not m.retain for m in ha.messages)
    ha_conn.publish("homeassistant/status", "online", qos=1)
    assert ha.wait_for(lambda ms: sum(not m.retain for m in ms) >= live_before + count)


def test_settings_over_mqtt_follow_the_control_socket_rules(
    daemon: Daemon,
    sent: list[str],
    output_factory: Callable[..., InverterMqtt],
    mqtt_connect: Callable[..., MqttConnection],
) -> None:
    output_factory(settings=True, control=daemon.dispatch)
    replies = Recorder()
    ha = mqtt_connect("homeassistant", subscriptions=["solarmon/inverter/set/response"], on_message=replies)
    requests = [
        (
            '{"command": "PGR01", "id": "a"}',
            lambda r: r["ok"] and r["command"] == "PGR01" and "verified" in r,
        ),
        (
            '{"command": "POP02", "id": "b", "confirm": true}',
            lambda r: not r["ok"] and r["reason"] == "dangerous",
        ),
        ('{"command": "PGR05", "id": "c"}', lambda r: not r["ok"] and r["error"] == "invalid"),
        ('{"command": "PEa", "id": "d"}', lambda r: not r["ok"] and r["reason"] == "not_allowed"),
        ('{"command": "XYZ1", "id": "e"}', lambda r: not r["ok"] and r["reason"] == "unknown_command"),
        ('{"id": "f"}', lambda r: not r["ok"] and r["error"] == "invalid"),
    ]
    for payload, _ in requests:
        ha.publish("solarmon/inverter/set", payload, qos=1)
    assert replies.wait_for(lambda ms: len(ms) == len(requests), timeout_s=15)
    by_id = {r["id"]: r for r in (json.loads(m.payload) for m in replies.messages)}
    for (payload, check), rid in zip(requests, "abcdef", strict=True):
        assert check(by_id[rid]), (payload, by_id[rid])
    assert sent == ["PGR01"]  # only the allowed, valid, non-dangerous setting reached the inverter


def test_settings_off_by_default(
    daemon: Daemon,
    sent: list[str],
    output_factory: Callable[..., InverterMqtt],
    mqtt_connect: Callable[..., MqttConnection],
) -> None:
    out = output_factory(control=daemon.dispatch)
    marker = Recorder()
    ha = mqtt_connect("homeassistant", subscriptions=["solarmon/#"], on_message=marker)
    ha.publish("solarmon/inverter/set", "PGR01", qos=1)
    out.set_available("inverter", True)  # a later message: by then a request would have been handled
    assert marker.wait_for(lambda ms: any(m.topic == "solarmon/inverter/availability" for m in ms))
    assert marker.on("solarmon/inverter/set/response") == []
    assert sent == []


@pytest.mark.parametrize(
    ("payload", "command", "error"),
    [
        (b"PGR01", "PGR01", None),
        (b' {"command": " MCHGC040 ", "id": 7} ', "MCHGC040", None),
        (b"PBCV48.0", "PBCV48.0", None),
        (b"", "", 'missing "command"'),
        (b"QP IGS", "", "printable ASCII without spaces"),
        (b"Q" * 40, "", "at most 32"),
        (b'{"request": "status"}', "", "only"),
        (b"x" * 600, "", "larger than"),
        (b"[1]", "[1]", None),  # a command string; the daemon refuses it as unknown
    ],
)
def test_parse_request(payload: bytes, command: str, error: str | None) -> None:
    _, parsed, problem = parse_request(payload)
    assert parsed == command
    assert (problem is None) if error is None else (error in problem)


def test_everything_republished_after_a_broker_restart(
    mqtt_broker: Broker,
    output_factory: Callable[..., InverterMqtt],
    mqtt_connect: Callable[..., MqttConnection],
) -> None:
    out = output_factory(discovery=True)
    out.publish_fields("inverter", reading("QMOD").fields)
    out.set_available("inverter", True)
    assert out.connection.flush(5)
    mqtt_broker.stop()  # persistence is off: the broker forgets every retained message
    mqtt_broker.start()
    assert out.connection.wait_connected(5)
    ha = Recorder()
    mqtt_connect("homeassistant", subscriptions=["solarmon/#", "homeassistant/+/+/+/config"], on_message=ha)
    assert ha.wait_for(
        lambda ms: {m.topic for m in ms}
        >= {
            "homeassistant/sensor/solarmon_92932004102443/device_mode/config",
            "solarmon/inverter/state",
            "solarmon/inverter/availability",
            "solarmon/status",
        }
    )
    assert ha.on("solarmon/inverter/availability")[-1].payload == b"online"
