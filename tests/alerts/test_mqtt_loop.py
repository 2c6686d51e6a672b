"""The whole MQTT loop through the web app on the real broker: a house sensor publishes a cold
cellar, the web app's rule on the `house` source fires, and Home Assistant's user receives the
alert on `alerts/<rule>/house` (and its end), with the app's own broker login and the shipped ACL."""

from __future__ import annotations

import json

import pytest

from solarmon.web.runtime import get_context
from tests.alerts.conftest import wait_until
from tests.fixtures.broker import Recorder

pytestmark = pytest.mark.timeout(60)
RULE = {"name": "cellar_cold", "metric": "cellar/temperature", "source": "house", "below": 5,
        "hysteresis": 1, "severity": "warning", "message": "Cellar at {value}{unit}"}


@pytest.fixture
def web_config_overrides(mqtt_broker, tmp_path):
    secret = tmp_path / "web-mqtt.pass"
    secret.write_text(mqtt_broker.users["solarmon-web"] + "\n")
    secret.chmod(0o600)
    return {"mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port, "password_file": str(secret)},
            "alerts": {"tick_s": 0.05, "notify_interval_s": 0, "defaults": False, "rules": [RULE],
                       "retry_initial_s": 0.05}}


def test_a_house_sensor_alert_reaches_home_assistant_over_mqtt(app, web_runtime, mqtt_connect):
    ctx = get_context(app)
    assert ctx.parts.house.wait_connected(5)
    assert ctx.parts.alerts.delivery.workers["mqtt"].channel.connection.wait_connected(5)
    listener = Recorder()
    mqtt_connect("homeassistant", subscriptions=["alerts/#"], on_message=listener)
    sensor = mqtt_connect("house-sensor")
    service, state = ctx.parts.alerts, ctx.parts.state
    for value, active in ((7.5, 0), (3.5, 1), (5.5, 1), (6.25, 0)):  # 5.5: inside the hysteresis band
        sensor.publish("house/cellar/temperature", json.dumps({"value": value, "unit": "°C"}), qos=1)
        assert sensor.flush(5)
        # One value at a time (a burst may be merged into one sample): wait until the state has it
        # and the store shows what the rule made of it.
        assert wait_until(lambda v=value: state.snapshot("house") is not None
                          and state.snapshot("house").values.get("cellar/temperature") == v)
        assert wait_until(lambda a=active: len(service.store.active()) == a), value
    assert listener.wait_for(lambda m: len(m) == 2, timeout_s=10)
    states = [json.loads(m.payload) for m in listener.on("alerts/cellar_cold/house")]
    assert [(s["state"], s["value"]) for s in states] == [("firing", 3.5), ("cleared", 6.25)]
    assert states[0]["message"] == "Cellar at 3.5°C"
    assert states[1]["message"] == "Resolved: Cellar at 6.25°C (now 6.25°C)"
    channel = ctx.parts.alerts.delivery.stats()["mqtt"]
    assert (channel["delivered"], channel["failed"]) == (2, 0)
