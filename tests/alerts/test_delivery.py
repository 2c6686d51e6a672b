"""Delivery through real channels: apprise to a local webhook receiver, MQTT to the real test
broker; a dead channel is retried with backoff and never holds up the others."""

from __future__ import annotations

import json
import threading

import pytest

from solarmon.alerts.channels import AppriseTarget, DeliveryError, MqttChannel, alert_topic, read_url_file
from solarmon.alerts.delivery import ChannelWorker, Delivery, RetryPolicy
from solarmon.alerts.evaluator import Evaluator
from solarmon.alerts.notify import Notification
from solarmon.alerts.rules import AlertConfigError, parse_rules
from solarmon.mqtt.client import MqttConnection
from tests.alerts.conftest import wait_until
from tests.fixtures.broker import Recorder, settings_for

FAST = RetryPolicy(initial_s=0.05, max_s=0.2, max_attempts=4)


def notes(*values, source="inverter:main"):
    """Notifications of a battery_low rule for a sequence of capacities (fired, cleared, ...)."""
    rule = parse_rules([{"name": "battery_low", "metric": "battery_capacity", "below": 20,
                         "severity": "critical", "message": "Battery low: {value}{unit}"}], where="t")[0]
    ev = Evaluator([rule])
    out = []
    for i, v in enumerate(values):
        out += [Notification.from_transition(t, i + 1)
                for t in ev.evaluate(source, {"battery_capacity": v}, {"battery_capacity": "%"}, float(i))]
    return out


class Results:
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def __call__(self, note, channel, ok, attempts, error):
        with self.lock:
            self.items.append((note.kind, channel, ok, attempts, error))


@pytest.mark.timeout(60)
def test_apprise_posts_to_a_local_webhook(receiver):
    results = Results()
    worker = ChannelWorker(AppriseTarget("apprise:hook", receiver.url), retry=FAST, on_result=results)
    worker.start()
    try:
        for note in notes(50, 10, 40):
            worker.submit(note)
        assert receiver.wait_for(lambda b: len(b) == 2)
    finally:
        worker.stop()
    fired, cleared = receiver.bodies
    assert fired["title"] == "CRITICAL: battery_low on main"
    assert fired["message"] == "Battery low: 10%"
    assert fired["type"] == "failure"
    assert cleared["title"] == "RESOLVED: battery_low on main"
    assert cleared["type"] == "success"
    assert results.items == [("fired", "apprise:hook", True, 1, None),
                             ("cleared", "apprise:hook", True, 1, None)]


@pytest.mark.timeout(60)
def test_a_failing_target_is_retried_with_backoff_and_keeps_the_order(receiver):
    receiver.fail_next = 2
    results = Results()
    worker = ChannelWorker(AppriseTarget("apprise:hook", receiver.url), retry=FAST, on_result=results)
    worker.start()
    try:
        for note in notes(50, 10, 40):
            worker.submit(note)
        assert receiver.wait_for(lambda b: len(b) == 2)
    finally:
        worker.stop()
    assert [b["title"].split(":")[0] for b in receiver.bodies] == ["CRITICAL", "RESOLVED"]
    assert receiver.attempts == 4
    assert results.items[0] == ("fired", "apprise:hook", True, 3, None)
    stats = worker.stats()
    assert (stats["delivered"], stats["retries"], stats["failed"], stats["ok"]) == (2, 2, 0, True)


@pytest.mark.timeout(60)
def test_a_dead_channel_does_not_stop_the_others(receiver, dead_url, mqtt_broker, mqtt_connect):
    listener = Recorder()
    mqtt_connect("homeassistant", subscriptions=["alerts/#"], on_message=listener)
    results = Results()
    mqtt = MqttChannel(MqttConnection(settings_for(mqtt_broker, "solarmon-web", "alerts-test")), "alerts")
    workers = [ChannelWorker(AppriseTarget("apprise:dead", dead_url), retry=FAST, on_result=results),
               ChannelWorker(AppriseTarget("apprise:hook", receiver.url), retry=FAST, on_result=results),
               ChannelWorker(mqtt, retry=FAST, on_result=results)]
    delivery = Delivery(workers, {"apprise": ["apprise:dead", "apprise:hook"]})
    delivery.start()
    try:
        assert mqtt.connection.wait_connected(5)
        for note in notes(50, 10, 40):
            delivery.send(note, None)
        assert receiver.wait_for(lambda b: len(b) == 2)
        assert listener.wait_for(lambda m: len(m) == 2)
        assert wait_until(lambda: delivery.stats()["apprise:dead"]["failed"] == 2)
    finally:
        delivery.stop()
    dead = delivery.stats()["apprise:dead"]
    assert (dead["ok"], dead["delivered"], dead["retries"]) == (False, 0, 6)
    assert "not delivered" in dead["last_error"]
    assert "127.0.0.1" in dead["last_error"]
    assert "hook" not in dead["last_error"]  # the host only: no path, no credentials
    gave_up = [r for r in results.items if r[1] == "apprise:dead"]
    assert gave_up == [("fired", "apprise:dead", False, 4, dead["last_error"]),
                       ("cleared", "apprise:dead", False, 4, dead["last_error"])]
    topic = alert_topic("alerts", "battery_low", "inverter:main")
    assert topic == "alerts/battery_low/inverter-main"
    states = [json.loads(m.payload) for m in listener.on(topic)]
    assert [s["state"] for s in states] == ["firing", "cleared"]
    assert states[0]["severity"] == "critical"
    assert (states[0]["value"], states[0]["unit"], states[0]["device"]) == (10, "%", "main")
    assert all(m.retain is False for m in listener.on(topic))  # live delivery; retained for late joiners


@pytest.mark.timeout(60)
def test_the_mqtt_state_is_retained_for_late_subscribers(mqtt_broker, mqtt_connect):
    mqtt = MqttChannel(MqttConnection(settings_for(mqtt_broker, "solarmon-web", "alerts-test")), "alerts")
    worker = ChannelWorker(mqtt, retry=FAST)
    worker.start()
    try:
        assert mqtt.connection.wait_connected(5)
        worker.submit(notes(50, 10)[0])
        assert worker.wait_idle(10)
        assert mqtt.connection.flush(5)
    finally:
        worker.stop()
    late = Recorder()
    mqtt_connect("homeassistant", subscriptions=["alerts/#"], on_message=late)
    assert late.wait_for(lambda m: len(m) == 1)
    assert late.messages[0].retain
    assert json.loads(late.messages[0].payload)["state"] == "firing"


@pytest.mark.timeout(60)
def test_mqtt_without_a_broker_fails_and_is_retried(mqtt_broker):
    mqtt_broker.stop()
    channel = MqttChannel(MqttConnection(settings_for(mqtt_broker, "solarmon-web", "alerts-test")), "alerts")
    channel.start()
    try:
        with pytest.raises(DeliveryError, match="not connected"):
            channel.send(notes(50, 10)[0])
    finally:
        channel.stop()


def test_the_url_file_must_be_private_and_well_formed(url_file, receiver):
    path = url_file([receiver.url, f"phone {receiver.url}"])
    assert read_url_file(path, where="web.yaml") == [("apprise:1", receiver.url),
                                                     ("apprise:phone", receiver.url)]
    with pytest.raises(AlertConfigError, match=r"others may read it \(mode 0644\); run: chmod 600"):
        read_url_file(url_file([receiver.url], mode=0o644), where="web.yaml")
    with pytest.raises(AlertConfigError, match="line 2: expected 'URL' or 'NAME URL'"):
        read_url_file(url_file(["not a url at all"]), where="web.yaml")
    with pytest.raises(AlertConfigError, match="used twice"):
        read_url_file(url_file([f"a {receiver.url}", f"a {receiver.url}"]), where="web.yaml")
    with pytest.raises(AlertConfigError, match="cannot read the apprise URL file"):
        read_url_file(path.with_name("missing.urls"), where="web.yaml")


def test_apprise_refuses_a_url_it_does_not_know_without_showing_secrets():
    with pytest.raises(AlertConfigError) as info:
        AppriseTarget("apprise:1", "nosuchservice://user:hunter2@example.invalid/x")
    assert "hunter2" not in str(info.value)
    assert "nosuchservice://" in str(info.value)


def test_routing_of_rule_channel_names():
    class Null:
        def __init__(self, name):
            self.name = name

        def send(self, note):
            pass

    delivery = Delivery([ChannelWorker(Null(n)) for n in ("apprise:1", "apprise:phone", "mqtt")],
                        {"apprise": ["apprise:1", "apprise:phone"]})
    assert delivery.resolve(None) == ["apprise:1", "apprise:phone", "mqtt"]
    assert delivery.resolve(["apprise"]) == ["apprise:1", "apprise:phone"]
    assert delivery.resolve(["apprise:phone", "mqtt", "apprise"]) == ["apprise:phone", "mqtt", "apprise:1"]
    with pytest.raises(KeyError):
        delivery.resolve(["sms"])
