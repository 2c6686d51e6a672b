"""The hub's optional central broker (fleet.broker): what the sites' bridges forward under
`sites/<site>/...` — alert messages and availability — shows in GET /api/fleet/<site>, with a
real Mosquitto (the project's broker fixture, an ACL that lets a site write only its own topics)
and a real VictoriaMetrics for the site itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from solarmon.mqtt.client import MqttConnection
from solarmon.web.config import ConfigError, config_from_mapping
from solarmon.web.runtime import Runtime, get_context
from tests.fixtures.broker import Broker, settings_for
from tests.fleet.hubstore import VictoriaMetrics
from tests.fleet.test_hub_api import hub_app, store  # noqa: F401 - the module's VictoriaMetrics fixture
from tests.tools import require_tool

pytestmark = pytest.mark.timeout(60)
# The central broker's rules in small: the hub reads sites/#, a site writes only its own subtree.
ACL = "user solarmon-hub\ntopic read sites/#\n\nuser site-alpha\ntopic write sites/alpha/#\n"
ALERT = {"id": 7, "rule": "battery_low", "source": "inverter:main", "device": "main", "state": "firing",
         "severity": "warning", "metric": "battery_capacity", "value": 18, "unit": "%", "ts": 1796639000.0,
         "time": "2026-12-07T10:23:20Z", "title": "WARNING: battery_low on main",
         "message": "Battery low: 18% on main", "flaps": 0}


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    require_tool("mosquitto")
    require_tool("mosquitto_passwd")
    broker = Broker(workdir=tmp_path_factory.mktemp("central-broker"))
    broker.configure(ACL)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def hub(store: VictoriaMetrics, central: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:  # noqa: F811
    root = tmp_path_factory.mktemp("hub-events")
    secret = root / "hub.pass"
    secret.write_text(central.users["solarmon-hub"] + "\n")
    secret.chmod(0o600)
    app = hub_app(root, store.url, broker={"host": central.host, "port": central.port,
                                           "username": "solarmon-hub", "password_file": str(secret)})
    runtime = Runtime.for_app(app).start()
    events = get_context(app).parts.fleet.events
    assert events.connection.wait_connected(10), "the hub did not connect to the central broker"
    yield app
    runtime.stop()


def publish(broker: Broker, user: str, messages: list[tuple[str, str]]) -> None:
    conn = MqttConnection(settings_for(broker, user))
    conn.start()
    try:
        assert conn.wait_connected(5)
        for topic, payload in messages:
            conn.publish(topic, payload, qos=1, retain=True)
        assert conn.flush(5)
    finally:
        conn.stop()


def events_of(app: Any, site: str, timeout_s: float = 5.0, *, count: int = 1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body = app.test_client().get(f"/api/fleet/{site}").get_json()
        found = body.get("events") or {}
        if len(found.get("alerts", [])) + len(found.get("availability", {})) >= count or \
                time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_bridged_alerts_and_availability_show_on_the_site(hub: Any, central: Broker) -> None:
    publish(central, "site-alpha", [
        ("sites/alpha/alerts/battery_low/inverter-main", json.dumps(ALERT)),
        ("sites/alpha/solarmon/main/availability", "offline"),
        ("sites/alpha/solarmon/status", "online"),
        ("sites/alpha/solarmon/main/availability_typo", "offline"),  # neither kind: not kept
        ("sites/alpha/alerts/battery_low/inverter-main", "not json"),  # refused, counted
    ])
    body = events_of(hub, "alpha", count=3)
    assert body["broker"] is True
    events = body["events"]
    assert {topic: v["state"] for topic, v in events["availability"].items()} == {
        "solarmon/main/availability": "offline", "solarmon/status": "online"}
    assert len(events["alerts"]) == 1
    alert = events["alerts"][0]
    assert alert["rule"] == "battery_low"
    assert alert["state"] == "firing"
    assert alert["message"] == "Battery low: 18% on main"
    assert alert["topic"] == "alerts/battery_low/inverter-main"
    assert get_context(hub).parts.fleet.events.rejected == 2


def test_a_site_cannot_speak_for_another(hub: Any, central: Broker) -> None:
    # The ACL drops site-alpha's message for bravo; the hub never sees it.
    publish(central, "site-alpha", [("sites/bravo/solarmon/status", "offline"),
                                    ("sites/alpha/solarmon/status", "offline")])
    assert events_of(hub, "alpha")["events"]["availability"]["solarmon/status"]["state"] == "offline"
    assert events_of(hub, "bravo", timeout_s=0.5)["events"] is None


def test_without_a_broker_events_are_null(store: VictoriaMetrics, tmp_path: Path) -> None:  # noqa: F811
    app = hub_app(tmp_path, store.url)
    runtime = Runtime.for_app(app).start()
    try:
        body = app.test_client().get("/api/fleet/alpha").get_json()
    finally:
        runtime.stop()
    assert body["broker"] is False
    assert body["events"] is None


def test_bad_broker_keys_name_fleet_broker() -> None:
    from solarmon.web import create_app

    with pytest.raises(ConfigError, match=r"web.yaml: fleet.broker.port must be an integer in 1..65535"):
        create_app(config_from_mapping({"fleet": {"promql_url": "http://c:8428", "broker": {"port": 0}}},
                                       where="web.yaml"))
