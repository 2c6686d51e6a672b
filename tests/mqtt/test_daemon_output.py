"""The daemon's MQTT output end to end: a real Daemon (reference replies), its workers watched by
DaemonMqtt, a real broker, Home Assistant's view of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from solarmon.daemon.config import load_config
from solarmon.daemon.mqtt_output import DaemonMqtt, build_daemon_mqtt, settings_from_setup
from solarmon.daemon.service import Daemon
from solarmon.mqtt.client import MqttConnection
from tests.fixtures.broker import Broker, Recorder, settings_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def daemon_outputs() -> str:
    return "prom_file,hass_mqtt"


@pytest.fixture
def bridge(daemon: Daemon, mqtt_broker: Broker) -> Iterator[DaemonMqtt]:
    out = DaemonMqtt(daemon, settings_for(mqtt_broker, "solarmon-daemon"), poll_s=0.05)
    out.start()
    assert out.output.connection.wait_connected(5)
    yield out
    out.stop()


def test_cycle_published_with_discovery_and_availability(
    bridge: DaemonMqtt, daemon: Daemon, mqtt_connect: Callable[..., MqttConnection]
) -> None:
    ha = Recorder()
    mqtt_connect("homeassistant", subscriptions=["solarmon/#", "homeassistant/+/+/+/config"], on_message=ha)
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inverter/state" for m in ms))
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inverter/availability" for m in ms))
    assert ha.on("solarmon/inverter/availability")[-1].payload == b"online"
    state = json.loads(ha.on("solarmon/inverter/state")[-1].payload)
    # QPIGS, QMOD, QPIWS every cycle and QPIRI/QFLAG at start: all merged into one state.
    assert state["battery_voltage"] == 57.5
    assert state["device_mode"] == "Battery"
    assert state["rated_battery_voltage"] == 48.0
    assert ha.wait_for(
        lambda ms: any(m.topic == "homeassistant/sensor/solarmon_inverter/pv_input_power/config" for m in ms)
    )
    config = json.loads(ha.on("homeassistant/sensor/solarmon_inverter/pv_input_power/config")[-1].payload)
    assert (config["device_class"], config["unit_of_measurement"]) == ("power", "W")
    assert config["device"]["identifiers"] == ["solarmon_inverter"]
    # Nothing new until the next cycle: no re-publish on every poll.
    assert bridge.publish_new_cycles() == 0


def test_settings_stay_off_without_the_key(
    bridge: DaemonMqtt, sent: list[str], mqtt_connect: Callable[..., MqttConnection]
) -> None:
    replies = Recorder()
    ha = mqtt_connect("homeassistant", subscriptions=["solarmon/#"], on_message=replies)
    ha.publish("solarmon/inverter/set", "PGR01", qos=1)
    bridge.output.set_available("inverter", False)  # a later marker message
    assert replies.wait_for(lambda ms: any(m.payload == b"offline" for m in ms))
    assert replies.on("solarmon/inverter/set/response") == []
    assert sent == []


def test_no_mqtt_output_no_bridge(tmp_path: Path) -> None:
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text("[SETUP]\ncontrol_socket =\n\n[inverter]\nport = /dev/null\nporttype = serial\n")
    assert build_daemon_mqtt(Daemon(load_config(conf), lambda _d: None)) is None


def test_settings_from_setup_keys(tmp_path: Path) -> None:
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text(
        "[SETUP]\nmqtt_broker = 127.0.0.1\nmqtt_port = 1884\nmqtt_user = someone\nmqtt_pass = pw\n"
        "control_socket =\n\n[inverter]\nport = /dev/null\nporttype = serial\n"
    )
    setup = load_config(conf).setup
    settings = settings_from_setup(setup, source="x", env={})
    assert (settings.host, settings.port, settings.username, settings.password) == (
        "127.0.0.1",
        1884,
        "someone",
        "pw",
    )
    # No mqtt_pass: the default file made by mosquitto/setup.sh (0600), else the environment.
    conf.write_text("[SETUP]\ncontrol_socket =\n\n[inverter]\nport = /dev/null\nporttype = serial\n")
    setup = load_config(conf).setup
    secret = tmp_path / "solarmon-daemon.pass"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    settings = settings_from_setup(setup, source="x", env={}, default_password_file=secret)
    assert (settings.username, settings.password) == ("solarmon-daemon", "from-file")
    env = {"SOLARMON_MQTT_PASSWORD": "from-env"}
    assert settings_from_setup(
        setup, source="x", env=env, default_password_file=tmp_path / "none"
    ).password == ("from-env")
