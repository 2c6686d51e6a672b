"""Events over MQTT (issue 19): the site's Mosquitto, with the bridge solarmon.fleet writes, forwards
the site's alerts and availability over TLS to a central Mosquitto that runs the shipped
mosquitto/fleet-central.conf.example and .acl.example — two real brokers, a throwaway CA.

- an alert published on the site arrives centrally under sites/<site>/alerts/..., the daemon's
  availability under sites/<site>/solarmon/...; the bridge's own state under sites/<site>/bridge/state;
- a house sensor's value (house/...) does not cross, nor a reading (solarmon/<section>/state);
- the site's account cannot write under another site's prefix, nor outside sites/<site>/;
- the central listener speaks TLS only.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from solarmon.fleet.bridge import render_bridge_config
from solarmon.fleet.settings import load_settings
from solarmon.mqtt.client import MqttConnection, MqttSettings
from tests.fixtures.broker import (
    ACL_FILE,
    MOSQUITTO,
    Broker,
    Recorder,
    _current_user,
    free_port,
    settings_for,
)
from tests.fleet.conftest import make_cert_authority, wait_for
from tests.tools import missing_tool, require_tool

REPO = Path(__file__).resolve().parents[2]
SITE = "cabin"
OTHER = "farm"
HUB = "solarmon-hub"


@dataclass
class Central:
    """The central broker: its port, CA and the accounts' passwords."""

    port: int
    ca_file: Path
    passwords: dict[str, str]


def central_config(workdir: Path, port: int, certs: dict[str, Path]) -> str:
    """The shipped central config with this test's port, files and user."""
    text = (REPO / "mosquitto" / "fleet-central.conf.example").read_text()
    for old, new in (("listener 8883", f"listener {port} 127.0.0.1"),
                     ("/etc/mosquitto/certs/central.crt", str(certs["server.crt"])),
                     ("/etc/mosquitto/certs/central.key", str(certs["server.key"])),
                     ("/etc/mosquitto/fleet.passwd", str(workdir / "passwd")),
                     ("/etc/mosquitto/fleet-central.acl", str(REPO / "mosquitto/fleet-central.acl.example")),
                     ("persistence true", f"persistence false\nuser {_current_user()}\nlog_dest stderr")):
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """The central Mosquitto on a free TLS port, accounts for two sites and the hub."""
    if not Path(MOSQUITTO).exists():
        missing_tool("mosquitto")
    passwd_tool = require_tool("mosquitto_passwd")
    workdir = tmp_path_factory.mktemp("central")
    certs = make_cert_authority(workdir)
    passwords = {name: secrets.token_urlsafe(16) for name in (SITE, OTHER, HUB)}
    for i, (name, password) in enumerate(passwords.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run([passwd_tool, *create, "-b", str(workdir / "passwd"), name, password],
                       check=True, capture_output=True, timeout=30)
    (workdir / "passwd").chmod(0o600)
    broker = Broker(workdir=workdir, port=free_port())
    (workdir / "mosquitto.conf").write_text(central_config(workdir, broker.port, certs))
    broker.start()
    yield Central(broker.port, certs["ca.crt"], passwords)
    broker.stop()


@pytest.fixture(scope="module")
def site_broker(tmp_path_factory: pytest.TempPathFactory, central: Central) -> Iterator[Broker]:
    """The site's Mosquitto (the project's ACL) with the fleet bridge fleet-setup would write."""
    workdir = tmp_path_factory.mktemp("site-broker")
    password_file = workdir / "bridge.secret"
    password_file.write_text(central.passwords[SITE] + "\n")
    password_file.chmod(0o600)
    settings = load_settings({"site": SITE, "central": {"remote_write_url": "https://c.example/api/v1/write",
                                                        "credentials_file": str(password_file)},
                              "bridge": {"enabled": True, "central_host": "127.0.0.1",
                                         "central_port": central.port, "ca_file": str(central.ca_file),
                                         "password_file": str(password_file)}}, "test fleet-site.yaml")
    broker = Broker(workdir=workdir)
    broker.configure(ACL_FILE.read_text())
    conf = workdir / "mosquitto.conf"
    conf.write_text(conf.read_text() + render_bridge_config(settings, central.passwords[SITE]))
    broker.start()
    yield broker
    broker.stop()


def connect(settings: MqttSettings, recorder: Recorder | None = None,
            subscribe: tuple[str, ...] = ()) -> MqttConnection:
    """A started connection, connected."""
    conn = MqttConnection(settings, subscriptions=subscribe, on_message=recorder)
    conn.start()
    assert conn.wait_connected(10), f"{settings.username} could not connect"
    return conn


def central_as(central: Central, user: str) -> MqttSettings:
    """Settings to reach the central broker over TLS as one of its accounts."""
    return MqttSettings(host="127.0.0.1", port=central.port, username=user, password=central.passwords[user],
                        tls_ca_file=str(central.ca_file))


@pytest.fixture(scope="module")
def hub(central: Central) -> Iterator[Recorder]:
    """The hub's subscription to every site (what the hub's broker client sees)."""
    recorder = Recorder()
    conn = connect(central_as(central, HUB), recorder, ("sites/#",))
    yield recorder
    conn.stop()


def topics(recorder: Recorder) -> list[str]:
    """Topics received so far, in order."""
    return [m.topic for m in recorder.messages]


@pytest.mark.timeout(60)
def test_alerts_and_availability_cross_nothing_else(site_broker: Broker, hub: Recorder) -> None:
    # The bridge says it is up, under the site's prefix.
    assert hub.wait_for(lambda ms: any(m.topic == f"sites/{SITE}/bridge/state" and m.payload == b"1"
                                       for m in ms), 20), topics(hub)
    sensor = connect(settings_for(site_broker, "house-sensor"))
    daemon = connect(settings_for(site_broker, "solarmon-daemon"))
    web = connect(settings_for(site_broker, "solarmon-web"))
    try:
        sensor.publish("house/kitchen/temperature", "21.5", qos=1)
        daemon.publish("solarmon/main/state", '{"battery_voltage": 52.4}', qos=1, retain=True)
        daemon.publish("solarmon/main/availability", "online", qos=1, retain=True)
        web.publish("alerts/battery_low/inverter-main", '{"state": "firing"}', qos=1, retain=True)
        alert = f"sites/{SITE}/alerts/battery_low/inverter-main"
        assert hub.wait_for(lambda ms: any(m.topic == alert for m in ms), 20), topics(hub)
        assert hub.wait_for(lambda ms: any(m.topic == f"sites/{SITE}/solarmon/main/availability"
                                           for m in ms), 10)
        # Published before the alert and on the same connection order: had they crossed, they
        # would be here by now. Wait a little more to be sure.
        reading = f"sites/{SITE}/solarmon/main/state"
        assert not hub.wait_for(lambda ms: any("house" in m.topic or m.topic == reading for m in ms), 1.0)
        (message,) = hub.on(alert)
        assert message.payload == b'{"state": "firing"}'
    finally:
        for conn in (sensor, daemon, web):
            conn.stop()


def test_a_site_account_writes_only_under_its_own_prefix(central: Central, hub: Recorder) -> None:
    imposter = connect(central_as(central, SITE))
    try:
        imposter.publish(f"sites/{OTHER}/alerts/battery_low/inverter-main", "forged", qos=1)
        imposter.publish(f"sites/{SITE}/probe", "mine", qos=1)
        assert hub.wait_for(lambda ms: any(m.topic == f"sites/{SITE}/probe" for m in ms), 10)
        assert imposter.flush(5)
        assert not wait_for(lambda: hub.on(f"sites/{OTHER}/alerts/battery_low/inverter-main"), 1.0)
    finally:
        imposter.stop()


def test_the_central_broker_speaks_tls_only(central: Central) -> None:
    plain = MqttConnection(MqttSettings(host="127.0.0.1", port=central.port, username=HUB,
                                        password=central.passwords[HUB]))
    plain.start()
    try:
        assert not plain.wait_connected(1)
    finally:
        plain.stop()
