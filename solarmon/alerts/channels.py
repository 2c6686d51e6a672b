"""Notification channels: apprise targets (email, ntfy, Telegram, Pushover, webhooks... by URL) and
an MQTT topic per alert. The only module that imports apprise.

A channel has a `name` and `send(notification)`, which returns once the message is handed over and
raises `DeliveryError` when it is not; retrying is the delivery worker's business. Apprise URLs
carry credentials, so they live in a file only its owner may read (mode 0600 or 0400), and no
message, log line or API answer ever shows more than a URL's scheme and host.

URL file: one target per line, `URL` or `NAME URL` (NAME: letters, digits, `_`, `-`); blank lines
and `#` comments are skipped. Targets are channels `apprise:<NAME>` (unnamed: `apprise:<n>`, the
n-th target of the file);
`apprise` in a rule means all of them.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import apprise

from solarmon.alerts.evaluator import FIRED
from solarmon.alerts.notify import Notification
from solarmon.alerts.rules import AlertConfigError

TARGET_LINE_RE = re.compile(r"^(?:([A-Za-z0-9_-]{1,32})\s+)?([A-Za-z0-9+.-]+://\S+)$")
NOTIFY_TYPES = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING,
                "info": apprise.NotifyType.INFO}
TOPIC_SAFE_RE = re.compile(r"[^A-Za-z0-9_.\-]")


class DeliveryError(Exception):
    """A channel could not hand a message over (the worker retries with backoff)."""


class Channel(Protocol):
    """What the delivery worker needs of a channel."""

    name: str

    def send(self, notification: Notification) -> None:
        """Hand one message over; raise DeliveryError when that fails."""


def redact(url: str) -> str:
    """Only the scheme and host of a URL: enough to tell targets apart, no credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" if host else f"{parts.scheme}://…"


def read_url_file(path: Path, *, where: str) -> list[tuple[str, str]]:
    """(channel name, URL) pairs from an apprise URL file; refuses a file others may read."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertConfigError(f"{where}: cannot read the apprise URL file {path}: "
                               f"{exc.strerror or exc}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AlertConfigError(f"{where}: {path} holds credentials but others may read it "
                               f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}")
    targets: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = TARGET_LINE_RE.match(line)
        if match is None:
            raise AlertConfigError(f"{where}: {path} line {number}: expected 'URL' or 'NAME URL'")
        name = f"apprise:{match.group(1) or len(targets) + 1}"
        if any(name == n for n, _ in targets):
            raise AlertConfigError(f"{where}: {path} line {number}: the name {name} is used twice")
        targets.append((name, match.group(2)))
    return targets


def _asset() -> apprise.AppriseAsset:
    """Apprise settings for a box without Internet: no plugin folders, no disk cache, no logos."""
    return apprise.AppriseAsset(plugin_paths=[], storage_mode=apprise.PersistentStoreMode.MEMORY,
                                app_id="solarmon", app_desc="solarmon alerts", app_url="",
                                image_url_mask="", image_url_logo="", image_path_mask="")


class AppriseTarget:
    """One apprise URL as a channel."""

    def __init__(self, name: str, url: str, *, where: str = "alerts") -> None:
        """Parse the URL now, so a URL apprise does not understand stops the start-up."""
        self.name = name
        self.label = redact(url)
        self._apprise = apprise.Apprise(asset=_asset())
        if not self._apprise.add(url):
            raise AlertConfigError(f"{where}: {name}: apprise does not understand the URL "
                                   f"{self.label}; check it against apprise's list of services")

    def send(self, notification: Notification) -> None:
        """Notify through apprise (blocking; apprise applies the URL's own timeouts)."""
        try:
            ok = self._apprise.notify(body=notification.body, title=notification.title,
                                      notify_type=_notify_type(notification))
        except Exception as exc:  # a plugin bug must not kill the worker: count it as a failure
            raise DeliveryError(f"{self.label}: {type(exc).__name__}") from exc
        if not ok:
            raise DeliveryError(f"{self.label}: not delivered")


def _notify_type(notification: Notification) -> Any:
    if notification.kind != FIRED:
        return apprise.NotifyType.SUCCESS
    return NOTIFY_TYPES.get(notification.severity, apprise.NotifyType.INFO)


def alert_topic(prefix: str, rule: str, source: str) -> str:
    """`<prefix>/<rule>/<source>` with the source's `:` as `-` (inverter:main -> inverter-main)."""
    return f"{prefix}/{rule}/{TOPIC_SAFE_RE.sub('-', source)}"


class MqttChannel:
    """Alert states on MQTT: one retained JSON message per alert, `firing` then `cleared`."""

    name = "mqtt"

    def __init__(self, connection: Any, prefix: str = "alerts") -> None:
        """`connection` is a solarmon.mqtt.client.MqttConnection (not started here)."""
        self.connection = connection
        self.prefix = prefix

    def start(self) -> None:
        """Connect in the background."""
        self.connection.start()

    def stop(self) -> None:
        """Disconnect."""
        self.connection.stop()

    def send(self, notification: Notification) -> None:
        """Publish retained with QoS 1; a broker that is not connected counts as a failure."""
        if not self.connection.connected:
            raise DeliveryError("MQTT broker not connected")
        topic = alert_topic(self.prefix, notification.rule, notification.source)
        payload = json.dumps(notification.to_json(), ensure_ascii=False)
        if not self.connection.publish(topic, payload, retain=True, qos=1):
            raise DeliveryError("MQTT publish refused")

    def health(self) -> dict[str, Any]:
        """The connection's health."""
        return self.connection.health().as_dict()
