"""House-sensor, weather and BMS subscriber: `house/#`, `weather/#` and `battery/#` into the live
state and history.

paho's thread only parses (payload.py) and stores into a `SensorBoard` (a lock and a dict) and
queues the accepted value. One worker thread drains the queue into the owner's sinks (live state,
history writer: possibly slow) in batches — what arrives within FEED_WINDOW_S (50 ms) of a first
value goes together — and rewrites house.prom / weather.prom / battery.prom at most every `prom_interval_s`,
never per message.

Fetcher bookkeeping topics are not sensors: `weather/status` is the fetcher's availability and
`weather/current` the JSON digest of the values it also publishes one by one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solarmon.mqtt.client import Message, MqttConnection, MqttSettings
from solarmon.mqtt.payload import (
    LEVEL_RE,
    MAX_UNIT_CHARS,
    PayloadRejected,
    SensorValue,
    parse_sensor_message,
)
from solarmon.mqtt.promfile import SensorSnapshot, write_snapshot

LOG = logging.getLogger(__name__)

TOPICS = ("house/#", "weather/#")
# A battery management system's values (battery/cell1..N and others), for the battery page.
BMS_TOPIC = "battery/#"
SUBSCRIPTIONS = (*TOPICS, BMS_TOPIC)
SOURCES = ("house", "weather", "battery")
WEATHER_STATUS_TOPIC = "weather/status"
WEATHER_DIGEST_TOPIC = "weather/current"
PROM_INTERVAL_S = 5.0
QUEUE_MAX = 50_000
BATCH_MAX = 1000
FEED_WINDOW_S = 0.05  # values arriving within this of the first are fed together
MAX_SENSORS = 1000  # distinct sensors per source (house, weather, battery)
MAX_DIGEST_BYTES = 16_384
# A sink gets the values accepted since its last call, oldest first (never empty).
Sink = Callable[[list[SensorValue]], None]


@dataclass(frozen=True)
class WeatherStatus:
    """What the fetcher says about itself: `online` (weather/status) or `stale` + `error` (digest)."""

    online: bool | None = None
    stale: bool | None = None
    error: str | None = None


# Told about the fetcher's state changes, on the subscriber's worker thread.
StatusSink = Callable[[WeatherStatus], None]


@dataclass
class SensorBoard:
    """Latest value per sensor and message counters; thread-safe, hands out copies."""

    clock: Callable[[], float] = time.time
    _values: dict[tuple[str, str], SensorValue] = field(default_factory=dict)
    _accepted: Counter[str] = field(default_factory=Counter)
    _rejected: dict[str, Counter[str]] = field(default_factory=dict)
    _weather_online: bool | None = None
    _units: dict[tuple[str, str], str] = field(default_factory=dict)
    _unit_counts: Counter[str] = field(default_factory=Counter)
    _sensor_counts: Counter[str] = field(default_factory=Counter)
    _dirty: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self, value: SensorValue) -> bool:
        """Record an accepted value; False (and counted as `too_many_sensors`) for a new sensor
        beyond MAX_SENSORS per source, so a misbehaving publisher cannot grow memory without end."""
        key = (value.source, value.name)
        with self._lock:
            if key not in self._values and self._sensor_counts[value.source] >= MAX_SENSORS:
                self._rejected.setdefault(value.source, Counter())["too_many_sensors"] += 1
                return False
            if key not in self._values:
                self._sensor_counts[value.source] += 1
            self._values[key] = value
            self._accepted[value.source] += 1
            self._dirty.add(value.source)
            return True

    def reject(self, source: str, reason: str) -> None:
        """Count a rejected message under its root (`house`, `weather`, `battery` or `other`)."""
        with self._lock:
            self._rejected.setdefault(source, Counter())[reason] += 1
            self._dirty.add(source)

    def learn_units(self, source: str, units: dict[str, str]) -> None:
        """Units announced out of band (the fetcher's digest) for values that arrive as bare numbers.

        At most MAX_SENSORS names per source are remembered (a known name still updates), like the
        sensors themselves: a digest full of made-up names cannot grow the table without end.
        """
        with self._lock:
            for name, unit in units.items():
                key = (source, name)
                if key not in self._units and self._unit_counts[source] >= MAX_SENSORS:
                    self._rejected.setdefault(source, Counter())["too_many_units"] += 1
                    continue
                if key not in self._units:
                    self._unit_counts[source] += 1
                self._units[key] = unit

    def unit_for(self, source: str, name: str) -> str | None:
        """The learned unit of a sensor, if any."""
        with self._lock:
            return self._units.get((source, name))

    def set_weather_online(self, online: bool) -> None:
        """The fetcher's availability as last announced by it (or its last will)."""
        with self._lock:
            self._weather_online = online

    def values(self, source: str) -> dict[str, dict[str, Any]]:
        """{name: {"value", "unit", "ts"}} for one source, a copy."""
        with self._lock:
            items = [v for (src, _), v in self._values.items() if src == source]
        return {v.name: {"value": v.value, "unit": v.unit, "ts": v.received_s} for v in items}

    def stats(self) -> dict[str, Any]:
        """Counters for /api/status and the benchmark."""
        with self._lock:
            return {
                "accepted": dict(self._accepted),
                "rejected": {src: dict(c) for src, c in self._rejected.items()},
                "rejected_total": sum(sum(c.values()) for c in self._rejected.values()),
                "accepted_total": sum(self._accepted.values()),
                "weather_fetcher_online": self._weather_online,
            }

    def take_dirty(self) -> list[SensorSnapshot]:
        """Snapshots of the sources changed since the last call (for the .prom writer)."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            return [
                SensorSnapshot(
                    source=src,
                    values=[v for (s, _), v in self._values.items() if s == src],
                    accepted=self._accepted[src],
                    rejected=dict(self._rejected.get(src, {})),
                )
                for src in sorted(dirty & set(SOURCES))
            ]


@dataclass
class HouseSubscriber:
    """Subscribe to house, weather and BMS topics; feed sinks; keep .prom files; report health."""

    settings: MqttSettings
    sinks: Sequence[Sink] = ()
    status_sinks: Sequence[StatusSink] = ()
    prom_dir: Path | None = None
    prom_interval_s: float = PROM_INTERVAL_S
    topics: Sequence[str] = SUBSCRIPTIONS
    clock: Callable[[], float] = time.time
    persistent_session: bool = True
    board: SensorBoard = field(default_factory=SensorBoard)
    _queue: queue.Queue[SensorValue | WeatherStatus | None] = field(
        default_factory=lambda: queue.Queue(QUEUE_MAX)
    )
    _worker: threading.Thread | None = None
    _connection: MqttConnection | None = None
    _dropped: int = 0

    def start(self) -> None:
        """Start the worker, then connect (values may arrive as soon as we subscribe)."""
        if self._worker is not None:
            return
        self._worker = threading.Thread(target=self._drain, name="house-sensors", daemon=True)
        self._worker.start()
        # A persistent session under the fixed client id: the broker queues QoS 1 messages while
        # this subscriber reconnects (a broker restart), so sensor readings are not lost.
        settings = self.settings
        if self.persistent_session and settings.client_id:
            settings = replace(settings, clean_session=False)
        self._connection = MqttConnection(
            settings, subscriptions=list(self.topics), on_message=self._on_message, clock=self.clock
        )
        self._connection.start()

    def stop(self) -> None:
        """Disconnect, let the worker finish the queue and write the .prom files one last time."""
        if self._connection is not None:
            self._connection.stop()
            self._connection = None
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=10)
            self._worker = None

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the broker accepted us (tests, start-up logs)."""
        return self._connection is not None and self._connection.wait_connected(timeout_s)

    def health(self) -> dict[str, Any]:
        """Connection state and message counters, JSON-able, for /api/status."""
        conn = self._connection.health().as_dict() if self._connection is not None else {"connected": False}
        return {**conn, **self.board.stats(), "queue_dropped": self._dropped}

    # paho's thread: parse, store, queue. Nothing slow here.
    def _on_message(self, message: Message) -> None:
        if message.topic == WEATHER_STATUS_TOPIC:
            online = message.payload.strip() == b"online"
            self.board.set_weather_online(online)
            self._put(WeatherStatus(online=online))
            return
        if message.topic == WEATHER_DIGEST_TOPIC:
            units, status = _digest(message.payload)
            self.board.learn_units("weather", units)
            if status is not None:
                self._put(status)
            return
        try:
            value = parse_sensor_message(message.topic, message.payload, received_s=self.clock())
        except PayloadRejected as exc:
            root = message.topic.split("/", 1)[0]
            self.board.reject(root if root in SOURCES else "other", exc.reason)
            LOG.debug("rejected MQTT message: %s", exc)
            return
        if value.unit is None:
            unit = self.board.unit_for(value.source, value.name)
            if unit:
                value = replace(value, unit=unit)
        if self.board.store(value):
            self._put(value)

    def _put(self, item: SensorValue | WeatherStatus) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            # The board already has the value; only the history misses it. Counted, not hidden.
            self._dropped += 1

    def _drain(self) -> None:
        next_write = 0.0
        running = True
        while running:
            batch: list[SensorValue] = []
            item: SensorValue | WeatherStatus | None | bool = False  # False: nothing (yet)
            with contextlib.suppress(queue.Empty):
                item = self._queue.get(timeout=max(0.05, min(1.0, next_write - time.monotonic())))
            # Collect for FEED_WINDOW_S after the first value: a burst reaches the sinks as a few
            # batches (one live-state update per source each), not as thousands of single updates.
            window_end = time.monotonic() + FEED_WINDOW_S
            while item is not False:
                if item is None:
                    running = False
                    break
                if isinstance(item, WeatherStatus):
                    self._feed(batch)  # keep the order: the values before it, then the status
                    batch = []
                    self._tell(item)
                elif isinstance(item, SensorValue):
                    batch.append(item)
                if len(batch) >= BATCH_MAX:
                    break
                try:
                    item = self._queue.get(timeout=max(0.0, window_end - time.monotonic()))
                except queue.Empty:
                    item = False
            self._feed(batch)
            if time.monotonic() >= next_write or not running:
                self._write_prom()
                next_write = time.monotonic() + self.prom_interval_s

    def _tell(self, status: WeatherStatus) -> None:
        for sink in self.status_sinks:
            try:
                sink(status)
            except Exception:
                LOG.exception("weather status sink %r failed", sink)

    def _feed(self, batch: list[SensorValue]) -> None:
        if not batch:
            return
        for sink in self.sinks:
            try:
                sink(batch)
            except Exception:
                LOG.exception("house sensor sink %r failed for %d values", sink, len(batch))

    def _write_prom(self) -> None:
        if self.prom_dir is None:
            return
        for snapshot in self.board.take_dirty():
            try:
                write_snapshot(self.prom_dir / f"{snapshot.source}.prom", snapshot)
            except OSError as exc:
                LOG.warning("cannot write %s.prom in %s: %s", snapshot.source, self.prom_dir, exc)


def _digest(payload: bytes) -> tuple[dict[str, str], WeatherStatus | None]:
    """Units and stale state of a weather/current digest; malformed gives none (it is advisory)."""
    if len(payload) > MAX_DIGEST_BYTES:
        return {}, None
    try:
        digest = json.loads(payload)
    except ValueError:
        return {}, None
    if not isinstance(digest, dict):
        return {}, None
    units = digest.get("units")
    units = units if isinstance(units, dict) else {}
    # The same rules as a unit sent with a value (payload.parse_value) and a sensor's name: short
    # and printable, a name that could be a topic level. Anything else is dropped.
    clean = {
        k: v
        for k, v in list(units.items())[:MAX_SENSORS]
        if isinstance(k, str) and LEVEL_RE.match(k)
        and isinstance(v, str) and 0 < len(v) <= MAX_UNIT_CHARS and v.isprintable()
    }
    stale = digest.get("stale")
    error = digest.get("error")
    status = None
    if isinstance(stale, bool):
        status = WeatherStatus(stale=stale, error=str(error)[:200] if error else None)
    return clean, status
