"""The daemon's `mqtt` output: inverter readings on MQTT, HA discovery, settings over MQTT.

Topics under a configurable prefix (default `solarmon`), per inverter section:
`<prefix>/<section>/state` (all current values, JSON, retained), `<prefix>/<section>/<key>`
(each value, plain, retained), `<prefix>/<section>/availability` (the inverter answers or not),
`<prefix>/status` (the daemon's own availability: `offline` is its last will).

With discovery on, every field is announced to Home Assistant (discovery.py) the first time it
is seen, and everything is re-published when HA says `online` on `homeassistant/status` (it
forgets entities on restart) and after every reconnect (a broker restart may lose retained
messages). With settings on (off by default), `<prefix>/<section>/set` takes `{"command":
"POP02", "id": "..."}` (or the bare command); the request goes through the daemon's own control
path — the same allowed_settings, validation and audit as the control socket — except that
dangerous commands are always refused over MQTT (nobody can confirm them there). The reply goes
to `<prefix>/<section>/set/response`.

paho's thread only queues work; one worker thread publishes discovery and runs requests.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from solarmon.daemon.control import parse_request as parse_control_request
from solarmon.inverter.policy import CommandClass, classify
from solarmon.inverter.readings import Field
from solarmon.mqtt.client import Availability, Message, MqttConnection, MqttSettings
from solarmon.mqtt.discovery import HA_PREFIX, DeviceInfo, Topics, discovery_messages

LOG = logging.getLogger(__name__)

HA_STATUS_TOPIC = "homeassistant/status"
MAX_REQUEST_BYTES = 512
QUEUE_MAX = 100
Control = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class InverterMqttConfig:
    """The `mqtt` output's options (from mpp-solar.conf [SETUP])."""

    prefix: str = "solarmon"
    discovery: bool = False
    discovery_prefix: str = HA_PREFIX
    settings: bool = False


class InverterMqtt:
    """Publishes inverter readings; build, `add_device()` each section, `start()`, `stop()`."""

    def __init__(
        self, settings: MqttSettings, config: InverterMqttConfig, *, control: Control | None = None
    ) -> None:
        self.config = config
        self.control = control
        self._devices: dict[str, DeviceInfo] = {}
        self._fields: dict[str, dict[str, Field]] = {}
        self._announced: dict[str, set[str]] = {}
        self._up: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._work: queue.Queue[tuple[str, Any] | None] = queue.Queue(QUEUE_MAX)
        self._worker: threading.Thread | None = None
        self.requests_dropped = 0
        subscriptions = []
        if config.discovery:
            subscriptions.append(HA_STATUS_TOPIC)
        if config.settings:
            subscriptions.append(f"{config.prefix}/+/set")
        self.connection = MqttConnection(
            settings,
            subscriptions=subscriptions,
            on_message=self._on_message,
            on_connect=lambda: self._enqueue(("republish", None)),
            availability=Availability(f"{config.prefix}/status"),
        )

    def add_device(self, device: DeviceInfo) -> None:
        """Declare an inverter section (before or after start)."""
        with self._lock:
            self._devices[device.section] = device
            self._fields.setdefault(device.section, {})
            self._announced.setdefault(device.section, set())

    def update_device(self, device: DeviceInfo) -> None:
        """New identity for a section (serial, model, firmware read after start): announce it again."""
        with self._lock:
            if self._devices.get(device.section) == device:
                return
            self._devices[device.section] = device
            self._fields.setdefault(device.section, {})
            self._announced[device.section] = set()  # the next fields are announced with the new block

    def start(self) -> None:
        """Start the worker, then connect."""
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="mqtt-inverter", daemon=True)
            self._worker.start()
        self.connection.start()

    def stop(self) -> None:
        """End the worker, mark every device offline, disconnect (announcing the daemon offline)."""
        # The worker first: a re-publish it is running must not say "online" after our "offline".
        if self._worker is not None:
            self._work.put(None)
            self._worker.join(timeout=10)
            self._worker = None
        with self._lock:
            sections = list(self._devices)
            self._up = dict.fromkeys(sections, False)
        for section in sections:
            topic = Topics(self.config.prefix, section).availability
            self.connection.publish(topic, "offline", retain=True, qos=1)
        self.connection.stop()

    def health(self) -> dict[str, Any]:
        """Connection state for the daemon's status."""
        return {**self.connection.health().as_dict(), "requests_dropped": self.requests_dropped}

    # Called by the daemon's device threads.

    def publish_fields(self, section: str, fields: Iterable[Field]) -> None:
        """Merge a reading's fields into the section's state and publish it (and new discovery)."""
        topics = Topics(self.config.prefix, section)
        with self._lock:
            if section not in self._devices:
                self._devices[section] = DeviceInfo(section=section, name=section)
                self._announced[section] = set()
            current = self._fields.setdefault(section, {})
            fresh = list(fields)
            for field in fresh:
                current[field.key] = field
            state = {key: f.value for key, f in current.items()}
            new = [f for f in fresh if f.key not in self._announced[section]]
            self._announced[section].update(f.key for f in new)
            device = self._devices[section]
        if self.config.discovery and new:
            self._publish_discovery(device, topics, new)
        for field in fresh:
            self.connection.publish(topics.value(field.key), _plain(field.value), retain=True)
        self.connection.publish(topics.state, json.dumps(state), retain=True)

    def set_available(self, section: str, up: bool) -> None:
        """The inverter answers (or stopped answering): publish on transitions only."""
        with self._lock:
            changed = self._up.get(section) != up
            self._up[section] = up
        if changed:
            topic = Topics(self.config.prefix, section).availability
            self.connection.publish(topic, "online" if up else "offline", retain=True, qos=1)

    # paho's thread: queue and return.

    def _on_message(self, message: Message) -> None:
        if message.topic == HA_STATUS_TOPIC:
            if message.payload.strip() == b"online":
                self._enqueue(("republish", None))
            return
        parts = message.topic.split("/")
        if self.config.settings and len(parts) >= 2 and parts[-1] == "set":
            self._enqueue(("request", (parts[-2], message.payload)))

    def _enqueue(self, item: tuple[str, Any]) -> None:
        try:
            self._work.put_nowait(item)
        except queue.Full:
            self.requests_dropped += 1

    # The worker.

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            kind, data = item
            try:
                if kind == "republish":
                    self._republish()
                else:
                    self._handle_request(*data)
            except Exception:
                LOG.exception("MQTT %s failed", kind)

    def _publish_discovery(self, device: DeviceInfo, topics: Topics, fields: Iterable[Field]) -> None:
        for topic, payload in discovery_messages(
            fields, device, topics, ha_prefix=self.config.discovery_prefix
        ):
            self.connection.publish(topic, payload, retain=True, qos=1)

    def _republish(self) -> None:
        with self._lock:
            snapshot = [
                (self._devices[s], list(f.values()), self._up.get(s)) for s, f in self._fields.items()
            ]
        for device, fields, up in snapshot:
            topics = Topics(self.config.prefix, device.section)
            if self.config.discovery:
                self._publish_discovery(device, topics, fields)
            if fields:
                self.connection.publish(
                    topics.state, json.dumps({f.key: f.value for f in fields}), retain=True
                )
            if up is not None:
                self.connection.publish(
                    topics.availability, "online" if up else "offline", retain=True, qos=1
                )

    def _handle_request(self, section: str, payload: bytes) -> None:
        topics = Topics(self.config.prefix, section)
        request_id, command, error = parse_request(payload)
        reply: dict[str, Any]
        if error is not None:
            reply = {"ok": False, "error": "invalid", "message": error}
        elif section not in self._devices:
            reply = {"ok": False, "error": "invalid", "message": f"no inverter section [{section}]"}
        elif classify(command) is CommandClass.DANGEROUS:
            reply = {
                "ok": False,
                "error": "refused",
                "reason": "dangerous",
                "message": f"{command} is dangerous (PI30.md §4): not accepted over MQTT; "
                "use the web app or manage_daemon.sh, which ask for confirmation",
            }
        elif self.control is None:
            reply = {"ok": False, "error": "refused", "message": "no control path in this process"}
        else:
            # The daemon's own path: allowed_settings, validation against QPIRI, audit log.
            reply = self.control({"command": command, "device": section, "confirm": False})
        if request_id is not None:
            reply = {**reply, "id": request_id}
        LOG.info(
            "MQTT request on [%s] %r: %s", section, command, "ok" if reply.get("ok") else reply.get("error")
        )
        self.connection.publish(topics.response, json.dumps(reply), qos=1)


def parse_request(payload: bytes) -> tuple[str | None, str, str | None]:
    """(id, command, error) from a `set` payload: JSON {"command", "id"} or a bare command.

    The checks are the control socket's own (solarmon.daemon.control.parse_request), so a request
    is refused over MQTT for the same reasons, with the same messages.
    """
    if len(payload) > MAX_REQUEST_BYTES:
        return None, "", f"request larger than {MAX_REQUEST_BYTES} bytes"
    line = payload.strip()
    if not line.startswith(b"{"):
        line = json.dumps({"command": line.decode("utf-8", "replace")}).encode()
    request_id = None
    try:
        raw = json.loads(line)
        if isinstance(raw, dict) and raw.get("id") is not None:
            request_id = str(raw["id"])[:64]
        request = parse_control_request(line)
    except ValueError as exc:
        return request_id, "", str(exc)
    if "command" not in request:
        return request_id, "", 'only {"command": ...} requests are taken over MQTT'
    return request_id, request["command"].strip(), None


def _plain(value: object) -> str:
    """A plain MQTT payload: numbers as numbers, booleans as 1/0, text as text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
