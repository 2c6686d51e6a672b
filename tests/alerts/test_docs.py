"""The documentation of the alerts part stays true to the code: every `alerts.*` key with its
default in docs/CONFIGURATION.md, the endpoints in docs/API.md, the topic in docs/MQTT.md."""

from __future__ import annotations

from pathlib import Path

from solarmon.alerts.channels import alert_topic
from solarmon.alerts.config import key_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _default(value):
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value == []:
        return "`[]`"
    return '`""`' if value == "" else f"`{value}`"


def test_configuration_doc_lists_every_alerts_key_with_its_default():
    section = (DOCS / "CONFIGURATION.md").read_text().split("### `alerts:`", 1)[1]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines()
            if line.startswith("| `alerts.")}
    for info in key_table():
        row = rows.get(f"`{info.dotted}`")
        assert row is not None, f"docs/CONFIGURATION.md lacks {info.dotted}"
        assert _default(info.default) in row, f"{info.dotted}: default {info.default!r} not documented"
        if info.min is not None:
            assert f"{info.min:g} to {info.max:g}" in row


def test_api_and_mqtt_docs_describe_the_alerts():
    api = (DOCS / "API.md").read_text()
    assert "GET /api/alerts" in api
    assert "POST /api/alerts/ack" in api
    assert alert_topic("alerts", "battery_low", "inverter:main") in (DOCS / "MQTT.md").read_text()
