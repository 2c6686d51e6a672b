"""Home Assistant discovery for a parallel system: one HA device per unit with ``via_device`` the
system, every device block with model, firmware and serial, and identities that survive a rename of
the section (the daemon as a subprocess, the 3-unit simulator, a real broker)."""

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


def _configs(ha: Recorder) -> dict[str, dict]:
    """HA's discovery configs by topic (last one wins)."""
    return {m.topic: json.loads(m.payload) for m in ha.messages if m.topic.endswith("/config") and m.payload}


def _run_daemon(tmp_path: Path, port: Path, broker: Broker, section: str, ha: Recorder) -> dict[str, dict]:
    conf = tmp_path / f"{section}.conf"
    conf.write_text(
        f"[SETUP]\npause = 0.5\ncontrol_socket =\naudit_log = audit.jsonl\nmqtt_broker = 127.0.0.1\n"
        f"mqtt_port = {broker.port}\n\n[{section}]\nport = {port}\nporttype = serial\n"
        "prom_output_dir = prom\n"
        "parallel = auto\noutputs = prom_file,hass_mqtt\n")
    env = os.environ | {"SOLARMON_MQTT_PASSWORD": broker.users["solarmon-daemon"]}
    proc = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO, env=env,
                            stderr=(tmp_path / f"{section}.log").open("w"))
    try:
        def units_announced(messages) -> bool:
            devices = {json.dumps(c["device"], sort_keys=True) for c in _configs(ha).values()
                       if c.get("device", {}).get("via_device")}
            return len(devices) == 3
        assert ha.wait_for(units_announced, timeout_s=40), (tmp_path / f"{section}.log").read_text()
        return {c["device"]["identifiers"][0]: c["device"] for c in _configs(ha).values()}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_each_unit_is_a_device_via_the_system_and_identities_survive_a_rename(
        simulator: Callable[..., object], mqtt_broker: Broker, tmp_path: Path,
        mqtt_connect: Callable[..., MqttConnection]) -> None:
    sim = simulator(transport="pty", extra_args=("--units", "3", "--layout", "parallel"))
    ha = Recorder()
    mqtt_connect("homeassistant", subscriptions=["homeassistant/+/+/+/config"], on_message=ha)
    devices = _run_daemon(tmp_path, sim.port, mqtt_broker, "plant", ha)
    serial = sim.control({"op": "query", "command": "QID"})["payload"]
    system = devices[f"solarmon_{serial}_system"]  # the host's serial; the host unit has the plain one
    assert system["serial_number"] == serial
    assert system["model"] == sim.control({"op": "query", "command": "QMN"})["payload"]
    assert system["sw_version"] == sim.control({"op": "query", "command": "QVFW"})["payload"]
    units = [d for d in devices.values() if d.get("via_device")]
    assert {d["via_device"] for d in units} == {f"solarmon_{serial}_system"}
    assert serial in {d["serial_number"] for d in units}  # the host is one of the units
    assert len({d["serial_number"] for d in units}) == 3
    assert all(d["identifiers"] == [f"solarmon_{d['serial_number']}"] for d in units)
    assert all(d["model"] == system["model"] for d in units)
    assert all(d["sw_version"] == system["sw_version"] for d in units)

    # Rename the section: every device keeps its identifiers (they are serial numbers).
    ha.messages.clear()
    renamed = _run_daemon(tmp_path, sim.port, mqtt_broker, "house", ha)
    assert set(renamed) == set(devices)
