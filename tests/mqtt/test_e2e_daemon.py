"""End to end: `python -m solarmon.daemon` against the simulator on a pty, publishing to a real
broker with Home Assistant discovery and settings over MQTT, as Home Assistant sees it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from solarmon.mqtt.client import MqttConnection
from tests.fixtures.broker import Broker, Recorder

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def test_daemon_process_publishes_the_simulator_to_home_assistant(
    simulator: Callable[..., object],
    mqtt_broker: Broker,
    tmp_path: Path,
    mqtt_connect: Callable[..., MqttConnection],
) -> None:
    sim = simulator(transport="pty")
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text(
        f"[SETUP]\npause = 0.5\ncontrol_socket =\naudit_log = audit.jsonl\nmqtt_broker = 127.0.0.1\n"
        f"mqtt_port = {mqtt_broker.port}\nmqtt_settings = on\n\n"
        f"[inv]\nport = {sim.port}\nporttype = serial\nprom_output_dir = prom\ndev = sim\ncommand = QPIGS\n"
        "allowed_settings = PGR, PCP\noutputs = prom_file,hass_mqtt\n"
    )
    ha = Recorder()
    conn = mqtt_connect(
        "homeassistant", subscriptions=["solarmon/#", "homeassistant/+/+/+/config"], on_message=ha
    )
    env = os.environ | {"SOLARMON_MQTT_PASSWORD": mqtt_broker.users["solarmon-daemon"]}
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO, env=env, stderr=log.open("w")
    )
    try:
        assert ha.wait_for(
            lambda ms: any(m.topic == "solarmon/inv/availability" and m.payload == b"online" for m in ms),
            timeout_s=30,
        ), log.read_text()
        assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inv/state" for m in ms))
        state = json.loads(ha.on("solarmon/inv/state")[-1].payload)
        assert state["battery_voltage"] > 0
        assert isinstance(state["device_mode"], str)
        # The device's identity is its serial (QID), so it survives a rename of the section.
        serial = sim.control({"op": "query", "command": "QID"})["payload"]
        config_topic = f"homeassistant/sensor/solarmon_{serial}/battery_voltage/config"
        assert ha.wait_for(lambda ms: any(m.topic == config_topic for m in ms))
        device = json.loads(ha.on(config_topic)[-1].payload)["device"]
        assert device["name"] == "sim"
        assert device["serial_number"] == serial
        assert device["identifiers"] == [f"solarmon_{serial}"]
        assert device["sw_version"] == sim.control({"op": "query", "command": "QVFW"})["payload"]
        assert device["model"] == sim.control({"op": "query", "command": "QMN"})["payload"]
        conn.publish("solarmon/inv/set", '{"command": "PGR01", "id": "ups"}', qos=1)
        conn.publish("solarmon/inv/set", '{"command": "PCP01", "id": "pcp"}', qos=1)
        assert ha.wait_for(lambda ms: len(ha.on("solarmon/inv/set/response")) >= 2, timeout_s=30)
        replies = {r["id"]: r for r in (json.loads(m.payload) for m in ha.on("solarmon/inv/set/response"))}
        assert replies["ups"]["ok"] is True, replies["ups"]
        assert replies["ups"]["verified"] == {"input_voltage_range": "UPS"}
        assert replies["pcp"]["reason"] == "dangerous"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0
    assert ha.wait_for(lambda ms: ha.on("solarmon/status")[-1].payload == b"offline")
    assert "Traceback" not in log.read_text()
