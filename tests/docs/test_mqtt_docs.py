"""docs/MQTT.md names every topic the code publishes or subscribes to, and every broker account.

The topics come from the code itself: the constants the web app subscribes with, the weather
fetcher's topics and its variable table, the inverter bridge's `Topics` and Home Assistant's
topics, and the users of the ACL file that mosquitto/setup.sh installs. Placeholders are written
`<prefix>`, `<section>`, `<key>`, `<name>` in the docs.
"""

from __future__ import annotations

import re

import pytest

from solarmon.daemon import mqtt_inverter as inverter
from solarmon.mqtt import discovery, house
from solarmon.mqtt.discovery import Topics
from solarmon.weather import client, fetcher
from tests.docs.conftest import REPO, section

DOC = (REPO / "docs" / "MQTT.md").read_text(encoding="utf-8")
ACL = (REPO / "mosquitto" / "solarmon.acl").read_text(encoding="utf-8")


def documented(topic: str) -> bool:
    """The topic appears in the docs as code (`weather/status`) or as a table cell."""
    return f"`{topic}`" in DOC or f"| {topic} |" in DOC


def acl_users() -> dict[str, list[tuple[str, str]]]:
    """User -> [(access, topic)] of the ACL file."""
    users: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in ACL.splitlines():
        words = line.split()
        if words[:1] == ["user"]:
            current = words[1]
            users[current] = []
        elif words[:1] == ["topic"] and current is not None:
            users[current].append((words[1], words[2]))
    return users


CODE_TOPICS = [
    *house.TOPICS, house.BMS_TOPIC,  # what the web app subscribes to
    house.WEATHER_STATUS_TOPIC, house.WEATHER_DIGEST_TOPIC,
    fetcher.STATUS_TOPIC, fetcher.DIGEST_TOPIC,
    inverter.HA_STATUS_TOPIC,
]


@pytest.mark.parametrize("topic", CODE_TOPICS)
def test_fixed_topics_are_documented(topic: str) -> None:
    assert documented(topic), f"docs/MQTT.md does not name {topic}"


@pytest.mark.parametrize("name", sorted(client.VARIABLES.values()))
def test_every_weather_value_topic_is_in_the_weather_table(name: str) -> None:
    published = section(DOC, "Weather fetcher")
    assert f"`{name}`" in published, f"docs/MQTT.md's weather table lacks weather/{name}"


@pytest.mark.parametrize("attribute", ["bridge_status", "availability", "state", "set", "response"])
def test_every_inverter_topic_is_documented(attribute: str) -> None:
    topic = getattr(Topics("<prefix>", "<section>"), attribute)
    assert documented(topic), f"docs/MQTT.md does not name the inverter topic {topic}"


def test_the_per_field_topic_and_discovery_topics_are_documented() -> None:
    assert documented(Topics("<prefix>", "<section>").value("<key>"))
    assert discovery.HA_PREFIX == "homeassistant"
    assert "`homeassistant/<component>/solarmon_<id>/<key>/config`" in DOC


def test_the_web_app_subscribes_below_house_and_weather_only() -> None:
    # The documented sensor topics are house/<...> and weather/<...>: nothing else is read.
    assert sorted(house.TOPICS) == ["house/#", "weather/#"]
    assert "The web app subscribes to `house/#` and `weather/#`" in DOC


@pytest.mark.parametrize("user", sorted(acl_users()))
def test_every_broker_account_is_documented_with_its_topics(user: str) -> None:
    row = next((line for line in DOC.splitlines() if line.startswith(f"| `{user}`")), None)
    assert row is not None, f"docs/MQTT.md's user table lacks {user}"
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    publish, subscribe = cells[1], cells[2]
    for access, topic in acl_users()[user]:
        if "write" in access:
            assert f"`{topic}`" in publish, f"{user} may publish {topic}: not in its row"
        if "read" in access:
            assert f"`{topic}`" in subscribe, f"{user} may subscribe {topic}: not in its row"


def test_no_documented_account_is_missing_from_the_acl() -> None:
    table = section(DOC, "Broker")
    named = set(re.findall(r"^\| `([a-z-]+)` ", table, flags=re.MULTILINE))
    assert named == set(acl_users()), "docs/MQTT.md's user table and mosquitto/solarmon.acl differ"


def test_the_alert_topic_is_documented() -> None:
    from solarmon.alerts.channels import alert_topic

    # The placeholders' < > are not topic-safe: check the shape with plain words, then the docs.
    assert alert_topic("alerts", "rule", "source") == "alerts/rule/source"
    assert documented("alerts/<rule>/<source>")
    example = alert_topic("alerts", "battery_low", "inverter:main")
    assert f"`{example}`" in DOC, f"docs/MQTT.md's example alert topic should read {example}"
