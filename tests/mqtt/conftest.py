"""Fixtures for the MQTT tests: connected clients for the users of the private broker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from solarmon.mqtt.client import Message, MqttConnection, MqttSettings
from tests.fixtures.broker import Broker

CONNECT_TIMEOUT_S = 5.0


def settings_for(broker: Broker, user: str, client_id: str = "") -> MqttSettings:
    """MqttSettings for one of the broker's generated users."""
    username, password = broker.credentials(user)
    return MqttSettings(
        host=broker.host, port=broker.port, username=username, password=password, client_id=client_id
    )


class Recorder:
    """Collects messages received by a connection; `wait_for` blocks until a predicate holds."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.cond = threading.Condition()

    def __call__(self, message: Message) -> None:
        with self.cond:
            self.messages.append(message)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Message]], bool], timeout_s: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.messages), timeout=timeout_s)

    def on(self, topic: str) -> list[Message]:
        with self.cond:
            return [m for m in self.messages if m.topic == topic]


@pytest.fixture
def connect(mqtt_broker: Broker) -> Iterator[Callable[..., MqttConnection]]:
    """Factory: a started, connected MqttConnection for a broker user; all stopped at teardown."""
    started: list[MqttConnection] = []

    def make(user: str, **kwargs: object) -> MqttConnection:
        conn = MqttConnection(settings_for(mqtt_broker, user), **kwargs)  # type: ignore[arg-type]
        conn.start()
        started.append(conn)
        assert conn.wait_connected(CONNECT_TIMEOUT_S), f"{user} could not connect"
        return conn

    yield make
    for conn in started:
        conn.stop()
