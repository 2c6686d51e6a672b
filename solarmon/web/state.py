"""Live state of the web app: the latest values per source, per-source health, the ring of recent
samples and the fan-out of new samples to live-stream subscribers.

One `LiveState` object is shared by the reader thread (writer side) and the request threads (reader
side). Every public method takes the lock briefly and hands out copies, so a view can never see a
half-applied update nor change the state by accident. Subscribers get their own bounded queue: a
slow dashboard loses its oldest events, it never blocks the reader.
"""

from __future__ import annotations

import collections
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

Value = float | int | str | bool

RING_SIZE = 1000
SUBSCRIBER_QUEUE_SIZE = 256
INVERTER_PREFIX = "inverter:"


def inverter_source(section: str) -> str:
    """Return the source id of the inverter configured as `section` in mpp-solar.conf."""
    return f"{INVERTER_PREFIX}{section}"


def section_of(source: str) -> str | None:
    """Return the inverter section of a source id, or None when the source is not an inverter."""
    return source[len(INVERTER_PREFIX) :] if source.startswith(INVERTER_PREFIX) else None


@dataclass(frozen=True)
class SourceUpdate:
    """One reading of one source: what a .prom file said at one moment.

    `values` maps metric key to value (numbers, or strings such as the device mode); `units` maps
    metric key to unit ("" when unitless). `ok` is False when the file itself reports the source
    down (`mpp_solar_up 0`); the values are then whatever the file still carried.
    """

    source: str
    ts: float
    values: dict[str, Value]
    units: dict[str, str] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    file: str = ""


@dataclass(frozen=True)
class SourceHealth:
    """Health of one source (an inverter's files, house, weather, the history DB...)."""

    ok: bool
    error: str | None
    last_ok: float | None
    last_error: float | None
    error_count: int
    errors_by_kind: dict[str, int]


@dataclass(frozen=True)
class SourceSnapshot:
    """A copy of the latest state of one source, with its age at the time of the snapshot."""

    source: str
    ts: float
    age_s: float
    values: dict[str, Value]
    units: dict[str, str]
    health: SourceHealth

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (values, units, ts, age_s, ok, error)."""
        return {
            "source": self.source,
            "ts": self.ts,
            "age_s": round(self.age_s, 3),
            "values": dict(self.values),
            "units": dict(self.units),
            "ok": self.health.ok,
            "error": self.health.error,
        }


@dataclass(frozen=True)
class Event:
    """One event for live-stream subscribers. `kind` is "sample" or "health"; `seq` increases."""

    seq: int
    kind: str
    source: str
    ts: float
    data: dict[str, Any]


class TooManySubscribersError(RuntimeError):
    """Raised by `LiveState.subscribe` when the configured number of subscribers is reached."""


class Subscription:
    """A live-stream subscriber's bounded queue. Iterate with `get(timeout)`; `close()` when done."""

    def __init__(self, owner: LiveState, maxsize: int) -> None:
        self._owner = owner
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=maxsize)
        self._dropped = 0
        self._closed = False

    @property
    def dropped(self) -> int:
        """How many events this subscriber lost because it read too slowly."""
        return self._dropped

    @property
    def closed(self) -> bool:
        """True after `close()`."""
        return self._closed

    def offer(self, event: Event) -> None:
        """Queue `event` without blocking; drop the oldest queued event when full."""
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._dropped += 1
                except queue.Empty:
                    continue

    def get(self, timeout: float | None = None) -> Event | None:
        """Return the next event, or None after `timeout` seconds without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Unsubscribe; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._owner._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Health:
    ok: bool = False
    error: str | None = "no data yet"
    last_ok: float | None = None
    last_error: float | None = None
    errors_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)

    def frozen(self) -> SourceHealth:
        """An immutable copy for readers."""
        return SourceHealth(
            ok=self.ok,
            error=self.error,
            last_ok=self.last_ok,
            last_error=self.last_error,
            error_count=sum(self.errors_by_kind.values()),
            errors_by_kind=dict(self.errors_by_kind),
        )


class LiveState:
    """Thread-safe latest values, health, ring of recent samples and subscriber fan-out."""

    def __init__(
        self,
        *,
        ring_size: int = RING_SIZE,
        max_subscribers: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._latest: dict[str, SourceUpdate] = {}
        # When each value key of a source last arrived: MQTT sensors share a source but report at
        # their own pace, so the source's ts alone would give them all the newest one's age.
        self._value_ts: dict[str, dict[str, float]] = {}
        self._health: dict[str, _Health] = {}
        self._ring: collections.deque[SourceUpdate] = collections.deque(maxlen=ring_size)
        self._subscribers: list[Subscription] = []
        self._max_subscribers = max_subscribers
        self._seq = itertools.count(1)

    # -- writer side -------------------------------------------------------------------------
    def apply(self, update: SourceUpdate) -> None:
        """Store a new reading: latest values (merged per key), health, ring, and notify subscribers.

        Values are merged so that one-file-per-command sources (mppsolar's own output) build up one
        picture per device; a reading older than what is held does not overwrite newer values.
        """
        with self._lock:
            old = self._latest.get(update.source)
            if old is None:
                merged = replace(update, values=dict(update.values), units=dict(update.units))
            else:
                values, units = dict(old.values), dict(old.units)
                if update.ts >= old.ts:
                    values.update(update.values)
                    units.update(update.units)
                else:
                    for key, value in update.values.items():
                        values.setdefault(key, value)
                    for key, unit in update.units.items():
                        units.setdefault(key, unit)
                merged = replace(update, ts=max(update.ts, old.ts), values=values, units=units)
            self._latest[update.source] = merged
            stamps = self._value_ts.setdefault(update.source, {})
            for key in update.values:
                if update.ts >= stamps.get(key, update.ts):
                    stamps[key] = update.ts
            self._ring.append(update)
            health = self._health.setdefault(update.source, _Health())
            was_ok = health.ok
            if update.ok:
                health.ok, health.error, health.last_ok = True, None, update.ts
            else:
                health.ok, health.error, health.last_error = False, update.error or "down", update.ts
                health.errors_by_kind["down"] += 1
            self._publish("sample", update.source, update.ts, _sample_data(update))
            if was_ok != health.ok:
                self._publish("health", update.source, update.ts, _health_data(health.frozen()))

    def record_error(self, source: str, kind: str, message: str) -> None:
        """Count an error of `kind` for `source` (a bad file, a DB failure...) and mark it not ok."""
        now = self._clock()
        with self._lock:
            health = self._health.setdefault(source, _Health())
            was_ok = health.ok
            health.ok, health.error, health.last_error = False, f"{kind}: {message}", now
            health.errors_by_kind[kind] += 1
            if was_ok:
                self._publish("health", source, now, _health_data(health.frozen()))

    # -- reader side -------------------------------------------------------------------------
    def snapshot(self, source: str) -> SourceSnapshot | None:
        """Return a copy of the latest state of `source`, or None when it never delivered data."""
        now = self._clock()
        with self._lock:
            return self._snapshot_locked(source, now)

    def snapshots(self) -> dict[str, SourceSnapshot]:
        """Return copies of the latest state of every source that delivered data."""
        now = self._clock()
        with self._lock:
            snaps = {src: self._snapshot_locked(src, now) for src in self._latest}
        return {src: snap for src, snap in snaps.items() if snap is not None}

    def value_times(self, source: str) -> dict[str, float]:
        """Return when each value key of `source` last arrived (its own ts, not the source's)."""
        with self._lock:
            return dict(self._value_ts.get(source, {}))

    def devices(self) -> list[str]:
        """Return the inverter sections seen so far, in the order they first delivered data.

        A BMS section's file (``type = jkbms|dalybms``) is read like an inverter's, but it is not
        an inverter: it is left out (solarmon/web/bms.py tells it by its values).
        """
        from solarmon.web.bms import is_bms

        with self._lock:
            sources = [src for src, update in self._latest.items() if not is_bms(update.values)]
        return [sec for sec in (section_of(src) for src in sources) if sec is not None]

    def health(self) -> dict[str, SourceHealth]:
        """Return the health of every source known (with data or with errors only)."""
        with self._lock:
            return {src: h.frozen() for src, h in self._health.items()}

    def ring(self, source: str | None = None, since: float | None = None) -> list[SourceUpdate]:
        """Return recent readings, oldest first, optionally of one source and newer than `since`."""
        with self._lock:
            items = list(self._ring)
        return [
            u
            for u in items
            if (source is None or u.source == source) and (since is None or u.ts > since)
        ]

    def subscribe(self, maxsize: int = SUBSCRIBER_QUEUE_SIZE) -> Subscription:
        """Register a live-stream subscriber; raises TooManySubscribersError past the limit."""
        with self._lock:
            if len(self._subscribers) >= self._max_subscribers:
                raise TooManySubscribersError(f"{self._max_subscribers} live subscribers already")
            sub = Subscription(self, maxsize)
            self._subscribers.append(sub)
            return sub

    def subscriber_count(self) -> int:
        """Return how many subscribers are registered now."""
        with self._lock:
            return len(self._subscribers)

    # -- internals ---------------------------------------------------------------------------
    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    def _publish(self, kind: str, source: str, ts: float, data: dict[str, Any]) -> None:
        # Called with the lock held: offer() never blocks, so holding it is cheap and keeps the
        # event order identical for every subscriber.
        event = Event(next(self._seq), kind, source, ts, data)
        for sub in self._subscribers:
            sub.offer(event)

    def _snapshot_locked(self, source: str, now: float) -> SourceSnapshot | None:
        latest = self._latest.get(source)
        if latest is None:
            return None
        health = self._health.get(source, _Health()).frozen()
        return SourceSnapshot(
            source=source,
            ts=latest.ts,
            age_s=max(0.0, now - latest.ts),
            values=dict(latest.values),
            units=dict(latest.units),
            health=health,
        )


def _sample_data(update: SourceUpdate) -> dict[str, Any]:
    return {"values": dict(update.values), "units": dict(update.units), "ok": update.ok}


def _health_data(health: SourceHealth) -> dict[str, Any]:
    return {"ok": health.ok, "error": health.error, "error_count": health.error_count}
