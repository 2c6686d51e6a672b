"""The one module that imports paho-mqtt (1.6.x API: mppsolar pins paho < 2).

`MqttConnection` wraps a paho client with what every solarmon part needs: authentication,
an availability topic with a last will ("offline") and a birth message ("online"), automatic
reconnection with exponential backoff, re-subscription after every reconnect, and a health
snapshot for /api/status. Connection changes are logged once, on the transition.

paho calls our callbacks on its own network thread: they only hand the message to the
owner's `on_message` (which must itself only parse and store) and update counters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho

LOG = logging.getLogger(__name__)

DEFAULT_PORT = 1883
# Reconnect quickly after a broker restart (the tests demand < 5 s), back off to at most 4 s.
RECONNECT_MIN_S = 0.25
RECONNECT_MAX_S = 4.0
STOP_TIMEOUT_S = 5.0

# CONNACK return codes of MQTT 3.1.1, for readable errors in logs and /api/status.
CONNACK_REASONS = {
    1: "unacceptable protocol version",
    2: "client id rejected",
    3: "broker unavailable",
    4: "bad username or password",
    5: "not authorised",
}


class MqttError(Exception):
    """An MQTT configuration or publishing problem (never raised from paho's thread)."""


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to connect; `password` already resolved (see credentials.py)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    keepalive_s: int = 30
    # False: a persistent session (needs a fixed client_id). The broker keeps the subscriptions
    # and queues QoS 1 messages while the client is away (a broker restart, a reconnect).
    clean_session: bool = True
    tls_ca_file: str | None = None
    reconnect_min_s: float = RECONNECT_MIN_S
    reconnect_max_s: float = RECONNECT_MAX_S


@dataclass(frozen=True)
class Message:
    """One received message, decoupled from paho's MQTTMessage."""

    topic: str
    payload: bytes
    retain: bool
    qos: int


@dataclass(frozen=True)
class Availability:
    """An availability topic: `online` published (retained) on connect, `offline` as last will."""

    topic: str
    online: str = "online"
    offline: str = "offline"


@dataclass
class ConnectionHealth:
    """Counters and state of one connection (a copy is handed out)."""

    connected: bool = False
    connects: int = 0
    disconnects: int = 0
    last_connected_s: float | None = None
    last_error: str | None = None
    last_error_s: float | None = None
    published: int = 0
    received: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for /api/status."""
        return dict(self.__dict__)


@dataclass
class _Subscription:
    topic: str
    qos: int = 1


@dataclass
class MqttConnection:
    """A long-lived MQTT client. Build it, then `start()`; `stop()` disconnects cleanly."""

    settings: MqttSettings
    subscriptions: Sequence[str] = ()
    on_message: Callable[[Message], None] | None = None
    on_connect: Callable[[], None] | None = None
    availability: Availability | None = None
    subscribe_qos: int = 1
    clock: Callable[[], float] = time.time
    _health: ConnectionHealth = field(default_factory=ConnectionHealth)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connected_event: threading.Event = field(default_factory=threading.Event)
    _client: Any = None
    _pending: deque[Any] = field(default_factory=deque)
    _refused: bool = False
    _suback_mid: int | None = None

    def start(self) -> None:
        """Create the paho client and start its network thread (connects in the background)."""
        if self._client is not None:
            return
        if not self.settings.clean_session and not self.settings.client_id:
            raise MqttError("a persistent MQTT session needs a fixed client_id")
        client = paho.Client(client_id=self.settings.client_id, clean_session=self.settings.clean_session)
        if self.settings.username is not None:
            client.username_pw_set(self.settings.username, self.settings.password)
        if self.settings.tls_ca_file:
            client.tls_set(ca_certs=self.settings.tls_ca_file)
        if self.availability is not None:
            client.will_set(self.availability.topic, self.availability.offline, qos=1, retain=True)
        client.reconnect_delay_set(self.settings.reconnect_min_s, self.settings.reconnect_max_s)
        # Sensor bursts: let the broker hand us many QoS 1 messages without waiting per message.
        client.max_inflight_messages_set(100)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_subscribe
        self._client = client
        client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        client.loop_start()

    def stop(self) -> None:
        """Announce `offline` (a clean disconnect does not fire the will), disconnect, join."""
        client = self._client
        if client is None:
            return
        if self.availability is not None and self.health().connected:
            info = client.publish(self.availability.topic, self.availability.offline, qos=1, retain=True)
            info.wait_for_publish(timeout=STOP_TIMEOUT_S)
        client.disconnect()
        client.loop_stop()
        self._client = None
        self._connected_event.clear()
        with self._lock:
            self._health.connected = False

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> bool:
        """Queue one message; False when not started or paho refuses it (e.g. queue full)."""
        client = self._client
        if client is None:
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        # While disconnected paho keeps QoS > 0 messages and sends them after reconnecting; a QoS 0
        # message is gone.
        queued = info.rc == paho.MQTT_ERR_SUCCESS or (info.rc == paho.MQTT_ERR_NO_CONN and qos > 0)
        if not queued:
            return False
        with self._lock:
            self._health.published += 1
            if qos > 0:
                # Remember unacknowledged messages for flush(); acks come in order, so the
                # acknowledged ones are dropped from the front as we go.
                while self._pending and _done(self._pending[0]):
                    self._pending.popleft()
                self._pending.append(info)
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait until every QoS > 0 message published so far is acknowledged (`--once`, tests)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            pending = list(self._pending)
        for info in pending:
            while not _done(info):
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
        return True

    def subscribe(self, topic: str) -> None:
        """Add a subscription now and after every reconnect."""
        self.subscriptions = [*self.subscriptions, topic]
        if self._client is not None and self._connected_event.is_set():
            self._client.subscribe(topic, qos=self.subscribe_qos)

    def wait_connected(self, timeout_s: float, *, until_refused: bool = False) -> bool:
        """Block until connected (tests, `--once`); `until_refused` also gives up on a refused login."""
        if not until_refused:
            return self._connected_event.wait(timeout_s)
        deadline = time.monotonic() + timeout_s
        while not self._connected_event.wait(0.02):
            if self._refused or time.monotonic() >= deadline:
                return False
        return True

    def health(self) -> ConnectionHealth:
        """A copy of the connection's state and counters."""
        with self._lock:
            return ConnectionHealth(**self._health.__dict__)

    @property
    def connected(self) -> bool:
        """True between a successful CONNACK and the next disconnect."""
        return self._connected_event.is_set()

    # paho callbacks: paho's thread; parse, store, return.

    def _handle_connect(self, client: Any, _userdata: Any, _flags: Any, rc: int) -> None:
        if rc != 0:
            self._refused = True
            self._record_error(CONNACK_REASONS.get(rc, f"connection refused (rc={rc})"))
            return
        self._refused = False
        with self._lock:
            self._health.connected = True
            self._health.connects += 1
            self._health.last_connected_s = self.clock()
            self._health.last_error = None
        LOG.info("MQTT connected to %s:%s", self.settings.host, self.settings.port)
        if self.availability is not None:
            client.publish(self.availability.topic, self.availability.online, qos=1, retain=True)
        # Clean sessions forget subscriptions: renew them on every connect (harmless when the
        # broker kept a persistent session: nothing queued is lost). "Connected" (the event
        # wait_connected() waits for) means subscribed too, once the broker acknowledged them:
        # a message published before that would not reach us.
        if self.subscriptions:
            _rc, self._suback_mid = client.subscribe([(t, self.subscribe_qos) for t in self.subscriptions])
        else:
            self._connected_event.set()
        if self.on_connect is not None:
            self.on_connect()

    def _handle_subscribe(self, _client: Any, _userdata: Any, mid: int, _granted: Any) -> None:
        if mid == self._suback_mid:
            self._connected_event.set()

    def _handle_disconnect(self, _client: Any, _userdata: Any, rc: int) -> None:
        self._connected_event.clear()
        with self._lock:
            was_connected = self._health.connected
            self._health.connected = False
            if was_connected:
                self._health.disconnects += 1
        if rc != 0 and was_connected:
            LOG.warning("MQTT connection to %s:%s lost; reconnecting", self.settings.host, self.settings.port)
            self._record_error("connection lost")

    def _handle_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        with self._lock:
            self._health.received += 1
        if self.on_message is None:
            return
        try:
            self.on_message(
                Message(topic=msg.topic, payload=msg.payload, retain=bool(msg.retain), qos=msg.qos)
            )
        except Exception:
            # paho 1.6 re-raises callback exceptions and its network thread dies with them: a bug in
            # a handler must cost one message, not the connection.
            LOG.exception("MQTT message handler failed on %s", msg.topic)

    def _record_error(self, reason: str) -> None:
        with self._lock:
            first = self._health.last_error != reason
            self._health.last_error = reason
            self._health.last_error_s = self.clock()
        if first:
            LOG.warning("MQTT %s:%s: %s", self.settings.host, self.settings.port, reason)


def _done(info: Any) -> bool:
    """True once the broker acknowledged a message (paho raises for never-queued ones)."""
    try:
        return bool(info.is_published())
    except (ValueError, RuntimeError):
        # Published while disconnected: paho keeps QoS > 0 messages and sends them on reconnect,
        # but its MessageInfo keeps the old error code; look at the flag itself.
        return bool(getattr(info, "_published", False))
