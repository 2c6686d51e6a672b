"""The daemon itself with the MQTT output on: mpp-solar.conf keys, Daemon.start()/stop() wiring,
settings over MQTT when `mqtt_settings = on`, and a bad MQTT setting that leaves polling alone."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from solarmon.daemon.service import Daemon
from solarmon.mqtt.client import MqttConnection
from tests.fixtures.broker import Broker, Recorder

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def daemon_outputs() -> str:
    return "prom_file,mqtt"


@pytest.fixture
def daemon_setup_extra(mqtt_broker: Broker, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOLARMON_MQTT_PASSWORD", mqtt_broker.users["solarmon-daemon"])
    return f"mqtt_broker = 127.0.0.1\nmqtt_port = {mqtt_broker.port}\nmqtt_settings = on"


def test_daemon_publishes_and_takes_settings(
    daemon: Daemon, sent: list[str], mqtt_connect: Callable[..., MqttConnection]
) -> None:
    assert daemon.mqtt is not None
    assert daemon.mqtt.output.connection.wait_connected(5)
    ha = Recorder()
    conn = mqtt_connect("homeassistant", subscriptions=["solarmon/#"], on_message=ha)
    assert ha.wait_for(lambda ms: any(m.topic == "solarmon/inverter/state" for m in ms))
    assert json.loads(ha.on("solarmon/inverter/state")[-1].payload)["pv_input_power"] == 856
    conn.publish("solarmon/inverter/set", '{"command": "PGR01", "id": 1}', qos=1)
    conn.publish("solarmon/inverter/set", '{"command": "POP02", "id": 2}', qos=1)
    assert ha.wait_for(lambda ms: len(ha.on("solarmon/inverter/set/response")) == 2, timeout_s=15)
    replies = {r["id"]: r for r in (json.loads(m.payload) for m in ha.on("solarmon/inverter/set/response"))}
    assert replies["1"]["ok"] is True
    assert replies["2"]["reason"] == "dangerous"
    assert sent == ["PGR01"]
    daemon.stop()
    assert ha.wait_for(lambda ms: ha.on("solarmon/status")[-1].payload == b"offline")
    assert ha.on("solarmon/inverter/availability")[-1].payload == b"offline"


@pytest.mark.parametrize("extra", ["mqtt_prefix = solar/#", "mqtt_port = {port}\nmqtt_pass_file_typo = x"])
def test_bad_mqtt_setting_is_logged_and_polling_goes_on(
    tmp_path, extra: str, sent: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    import time

    from solarmon.daemon.config import load_config
    from tests.fixtures.broker import free_port
    from tests.mqtt.conftest import ReferenceLink

    extra = extra.format(port=free_port())  # nothing listens there: the output keeps retrying

    conf = tmp_path / "mpp-solar.conf"
    conf.write_text(
        f"[SETUP]\npause = 3600\ncontrol_socket =\naudit_log = {tmp_path}/a.jsonl\n{extra}\n"
        f"[inverter]\nport = /dev/null\nporttype = serial\noutputs = prom_file,mqtt\n"
        f"prom_output_dir = {tmp_path}/prometheus\n"
    )
    daemon = Daemon(load_config(conf), lambda _d: ReferenceLink(sent))
    daemon.start()
    try:
        if "#" in extra:
            assert daemon.mqtt is None
            assert "MQTT output off" in caplog.text
            assert "mqtt_prefix" in caplog.text
        else:  # an unknown key only warns; the output starts (and keeps retrying a missing broker)
            assert "unknown key" in caplog.text
        worker = daemon.workers["inverter"]
        deadline = time.monotonic() + 10
        while not worker.device.prom_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.latest("QPIGS") is not None  # polling and the .prom file went on regardless
        assert worker.device.prom_file.exists()
    finally:
        daemon.stop()
