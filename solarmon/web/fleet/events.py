"""The hub's events from the central MQTT broker: what the sites' bridges forward under
`sites/<site>/...` (docs/FLEET.md): their alert messages (`sites/<site>/alerts/<rule>/<source>`,
the JSON of docs/MQTT.md) and their availability topics (`sites/<site>/.../availability` and the
daemon's `sites/<site>/<prefix>/status`: `online` / `offline`).

Optional: only with `fleet.broker` in web.yaml. The store's series stay the truth for a site's
status; these events are what happened, as it happened (an alert firing between two scrapes, a
daemon's last will). paho's thread only parses and stores (a lock and a dict per site); views
ask `site(name)` for a copy. A service: `start()` / `stop()` own the MQTT connection.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from solarmon.confighelper import ConfigError
from solarmon.mqtt.client import Message, MqttConnection, MqttSettings
from solarmon.mqtt.credentials import mqtt_settings_from_config
from solarmon.web.config import SITE_NAME_RE

LOG = logging.getLogger(__name__)
TOPIC = "sites/#"
CLIENT_ID = "solarmon-hub"
MAX_ALERT_EVENTS = 20  # per site: the newest alert messages kept
MAX_SITES = 10000  # a runaway publisher cannot grow the hub without bound
MAX_PAYLOAD_BYTES = 8192
AVAILABILITY_WORDS = ("online", "offline")


def broker_settings(broker: Mapping[str, Any], where: str) -> MqttSettings:
    """`fleet.broker` as MqttSettings (the keys of `mqtt:`); errors name `fleet.broker.<key>`."""
    try:
        return mqtt_settings_from_config(broker, source=where, client_id=CLIENT_ID,
                                         default_username=CLIENT_ID)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(": mqtt.", ": fleet.broker."), source=where,
                          key=f"fleet.broker.{(exc.key or '').removeprefix('mqtt.')}".rstrip("."),
                          value=exc.value, allowed=exc.allowed) from exc


@dataclass
class SiteEvents:
    """What one site's bridge forwarded: availability per topic, the newest alert messages."""

    availability: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_ALERT_EVENTS))


class FleetEvents:
    """Subscribes to `sites/#` on the central broker and keeps each site's events."""

    def __init__(self, settings: MqttSettings, *, clock: Callable[[], float] = time.time) -> None:
        """Build the connection (not started)."""
        self.clock = clock
        self._sites: dict[str, SiteEvents] = {}
        self._lock = threading.Lock()
        self.rejected = 0  # messages that fit neither kind (counted, not kept)
        self.connection = MqttConnection(settings, subscriptions=(TOPIC,), on_message=self._on_message)

    def start(self) -> None:
        """Connect (in the background; paho reconnects by itself)."""
        self.connection.start()

    def stop(self) -> None:
        """Disconnect."""
        self.connection.stop()

    def health(self) -> dict[str, Any]:
        """The connection's health for /api/status."""
        return self.connection.health().as_dict()

    def site(self, name: str) -> dict[str, Any] | None:
        """A copy of one site's events (None: nothing heard from it)."""
        with self._lock:
            events = self._sites.get(name)
            if events is None:
                return None
            return {"availability": {topic: dict(v) for topic, v in sorted(events.availability.items())},
                    "alerts": [dict(a) for a in reversed(events.alerts)]}

    def _on_message(self, message: Message) -> None:
        """paho's thread: parse and store, nothing more."""
        parts = message.topic.split("/")
        if len(parts) < 3 or parts[0] != "sites" or not SITE_NAME_RE.fullmatch(parts[1]) \
                or len(message.payload) > MAX_PAYLOAD_BYTES:
            self.rejected += 1
            return
        site, rest = parts[1], "/".join(parts[2:])
        now = self.clock()
        if parts[2] == "alerts" and len(parts) >= 4:
            event = _alert(message.payload, rest, now)
        elif parts[-1] in ("availability", "status"):
            word = message.payload.decode("utf-8", "replace").strip().lower()
            event = {"state": word, "ts": now} if word in AVAILABILITY_WORDS else None
        else:
            event = None
        if event is None:
            self.rejected += 1
            return
        with self._lock:
            events = self._sites.get(site)
            if events is None:
                if len(self._sites) >= MAX_SITES:
                    self.rejected += 1
                    return
                events = self._sites[site] = SiteEvents()
            if parts[2] == "alerts":
                events.alerts.append(event)
            else:
                events.availability[rest] = event


def _alert(payload: bytes, topic: str, now: float) -> dict[str, Any] | None:
    """An alert message (docs/MQTT.md) reduced to what the hub shows; None when it is not one."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("state") not in ("firing", "cleared"):
        return None
    keys = ("rule", "source", "severity", "message", "time")
    text = {key: str(body[key])[:300] for key in keys if key in body}
    return {"topic": topic, "state": body["state"], **text, "received_ts": now}
