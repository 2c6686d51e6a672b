"""Live state of the web app: the latest values per source, per-source health, the ring of recent
samples and the fan-out of new samples to live-stream subscribers (`fanout.py`).

One `LiveState` object is shared by the reader thread (writer side) and the request threads (reader
side). Every public method takes the lock briefly and hands out copies, so a view can never see a
half-applied update nor change the state by accident. Subscribers get their own bounded queue: a
slow dashboard loses its oldest events, it never blocks the reader.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from solarmon.inverter import catalog
from solarmon.web.fanout import SUBSCRIBER_QUEUE_SIZE, Event, Subscription, TooManySubscribersError

Value = float | int | str | bool

RING_SIZE = 1000
INVERTER_PREFIX = "inverter:"
MEASUREMENT, DERIVED, WARNING, FAULT = "measurement", "derived", "warning", "fault"


def inverter_source(section: str) -> str:
    """Return the source id of the inverter configured as `section` in mpp-solar.conf."""
    return f"{INVERTER_PREFIX}{section}"


def section_of(source: str) -> str | None:
    """Return the inverter section of a source id, or None when the source is not an inverter."""
    return source[len(INVERTER_PREFIX) :] if source.startswith(INVERTER_PREFIX) else None


MERGE, SOURCE, COMMANDS = "merge", "source", "commands"
# Kinds that describe the unit's configuration: read every settings_interval, they stay valid
# while their source is fresh (their age is shown, but they are not "stale" by it).
STATIC_KINDS = frozenset({"rating", "setting", "default", "text"})
# Commands read every cycle: an enum they carry (QMOD's mode) is live, one of QPIRI is configuration.
LIVE_COMMANDS = frozenset({"QMOD"} | {
    entry.command for entry in catalog.CATALOG.values()
    if entry.kind in (catalog.Kind.MEASUREMENT, catalog.Kind.WARNING, catalog.Kind.FAULT,
                      catalog.Kind.STATUS, catalog.Kind.ENERGY) and entry.command})


def is_static(kind: str, command: str) -> bool:
    """True for a value that describes configuration (not aged out by `stale_after_s`)."""
    return kind in STATIC_KINDS or (kind == "enum" and command not in LIVE_COMMANDS)
DEFAULT_STALE_AFTER_S = 180.0
# A read time further than this ahead of the web app's clock is impossible (a Pi without RTC
# stamps its files in the future until NTP steps the clock back): it is clamped to the arrival
# time and counted as a "future_timestamp" error of its source.
FUTURE_TOLERANCE_S = 5.0
FUTURE_TIMESTAMP = "future_timestamp"


@dataclass(frozen=True)
class SourceUpdate:
    """One reading of one source: what a .prom file (or an MQTT message) said at one moment.

    `values` maps catalog key to value (numbers, or strings such as the device mode); `units` and
    `kinds` map key to unit ("" when unitless) and catalog kind. `commands` maps key to the
    command that read it and `times` maps command to its read time (a key without a command has
    the update's `ts`). `scope` says what the update replaces:
    - "source": the whole picture of the source (this project's daemon file: a command absent from
      it was withdrawn, its values are dropped);
    - "commands": the values of the commands it names (upstream mppsolar's one file per command);
    - "merge": only its own keys, a newer value per key wins (MQTT sensors, tests).
    A NaN value withdraws its key. `ok` is False when the file reports the source down (`up 0`).
    """

    source: str
    ts: float
    values: dict[str, Value]
    units: dict[str, str] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    file: str = ""
    kinds: dict[str, str] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    scope: str = MERGE
    link_errors: dict[str, float] = field(default_factory=dict)  # the daemon's errors_total by kind

    def time_of(self, key: str) -> float:
        """When the value of `key` was read (its command's time, else the update's)."""
        return self.times.get(self.commands.get(key, ""), self.ts)


@dataclass(frozen=True)
class SourceHealth:
    """Health of one source (an inverter's files, house, weather, the history DB...)."""

    ok: bool
    error: str | None
    last_ok: float | None
    last_error: float | None
    error_count: int
    errors_by_kind: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Entry:
    """One held value with everything known about it."""

    value: Value
    unit: str
    kind: str
    command: str
    ts: float
    arrived: float = 0.0  # monotonic time of arrival: the order that survives a clock step

    def read_time(self, now: float, mono: float) -> float:
        """The read time on today's wall clock: the stamp, unless the clock has since stepped back
        behind it (then the arrival, re-expressed on the current clock)."""
        if self.ts > now + FUTURE_TOLERANCE_S:
            return now - max(0.0, mono - self.arrived)
        return self.ts


@dataclass(frozen=True)
class SourceSnapshot:
    """A copy of the live state of one source at `now`.

    `values` holds only live values: a value older than `stale_after_s` (unless its kind is static
    configuration, STATIC_KINDS) is moved to `stale` (key -> age in seconds), never shown as live.
    `ages` is each live value's own age; `ts` and `age_s` are those of the newest value.
    """

    source: str
    ts: float
    age_s: float
    values: dict[str, Value]
    units: dict[str, str]
    health: SourceHealth
    kinds: dict[str, str] = field(default_factory=dict)
    ages: dict[str, float] = field(default_factory=dict)
    stale: dict[str, float] = field(default_factory=dict)
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    times: dict[str, float] = field(default_factory=dict)  # key -> read time, live and stale keys
    version: int = 0  # the source's change count (LiveState.version) this copy was taken at
    expires: float = math.inf  # when, with no new reading, a live value would age out

    @property
    def fresh(self) -> bool:
        """True when the newest value is within `stale_after_s` (the source is not stale)."""
        return self.age_s <= self.stale_after_s

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict: values, units, kinds, ages, stale, the faults and warnings set
        now (catalog.classify_alarms over the live values), ts, age_s, ok, error."""
        faults, warnings = catalog.classify_alarms(self.values)
        return {
            "source": self.source,
            "ts": self.ts,
            "age_s": round(self.age_s, 3),
            "values": dict(self.values),
            "units": dict(self.units),
            "kinds": dict(self.kinds),
            "ages": {k: round(v, 3) for k, v in self.ages.items()},
            "stale": {k: round(v, 3) for k, v in self.stale.items()},
            "faults": faults,
            "warnings": warnings,
            "ok": self.health.ok and self.fresh,
            "error": self.health.error if self.fresh or not self.health.ok else
            f"stale: the newest value is {self.age_s:.0f} s old (limit {self.stale_after_s:g} s)",
        }


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
    """Thread-safe live values, health, ring of recent readings and subscriber fan-out.

    Values are held per source and key with the command that read them and their own read time,
    so a value never borrows another command's time. Derived values (PV total, battery, grid and
    load power) are computed once per inverter update with `derive` and held like the others,
    with the time of the oldest measurement they come from.
    """

    def __init__(
        self,
        *,
        ring_size: int = RING_SIZE,
        max_subscribers: int = 100,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        derive: Callable[[Mapping[str, Value]], Mapping[str, float]] | None = catalog.derive,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._monotonic = monotonic
        self.stale_after_s = stale_after_s
        self._derive = derive
        self._entries: dict[str, dict[str, _Entry]] = {}
        self._source_ts: dict[str, float] = {}
        self._versions: collections.Counter[str] = collections.Counter()
        self._link_errors: dict[str, dict[str, float]] = {}
        self._health: dict[str, _Health] = {}
        self._ring: collections.deque[SourceUpdate] = collections.deque(maxlen=ring_size)
        self._subscribers: list[Subscription] = []
        self._max_subscribers = max_subscribers
        self._seq = itertools.count(1)

    # -- writer side -------------------------------------------------------------------------
    def apply(self, update: SourceUpdate) -> SourceUpdate:
        """Store a new reading (per its `scope`), recompute the derived values, record health,
        append it to the ring and send subscribers the source's new live picture.

        Read times more than FUTURE_TOLERANCE_S ahead of the clock are clamped to the arrival time
        (and counted); values held from before a backward clock step are re-stamped with their
        arrival time, so "newest" follows the order of arrival and the view recovers at once.

        Returns the update with the derived values it brought about added and its times clamped
        (what the history and the energy integrator store: derived once, here)."""
        now, mono = self._clock(), self._monotonic()
        update, clamped = _clamp_future(update, now)
        with self._lock:
            entries = self._entries.setdefault(update.source, {})
            for key, entry in list(entries.items()):
                if entry.ts > now + FUTURE_TOLERANCE_S:  # the clock stepped back since it came
                    entries[key] = replace(entry, ts=entry.read_time(now, mono))
            if self._source_ts.get(update.source, 0.0) > now + FUTURE_TOLERANCE_S:
                self._source_ts[update.source] = max((e.ts for e in entries.values()), default=0.0)
            if update.scope == SOURCE:
                entries.clear()
            elif update.scope == COMMANDS:
                replaced = set(update.times) | set(update.commands.values())
                for key in [k for k, e in entries.items() if e.command in replaced]:
                    del entries[key]
            for key, value in update.values.items():
                ts = update.time_of(key)
                if isinstance(value, float) and not math.isfinite(value):
                    old = entries.get(key)
                    if old is not None and ts >= old.ts:
                        del entries[key]  # NaN: the value was withdrawn
                    continue
                old = entries.get(key)
                if update.scope == MERGE and old is not None and ts < old.ts:
                    continue  # an older reading never overwrites a newer value
                entries[key] = _Entry(value, update.units.get(key, ""), update.kinds.get(key, ""),
                                      update.commands.get(key, ""), ts, mono)
            derived = self._rederive(update.source, entries)
            if derived:
                update = replace(
                    update,
                    values={**update.values, **{k: e.value for k, e in derived.items()}},
                    units={**update.units, **{k: e.unit for k, e in derived.items()}},
                    kinds={**update.kinds, **{k: e.kind for k, e in derived.items()}},
                )
            newest = max((e.ts for e in entries.values()), default=update.ts)
            self._source_ts[update.source] = max(newest, self._source_ts.get(update.source, 0.0)) \
                if update.scope == MERGE else newest
            self._versions[update.source] += 1
            if update.link_errors:
                self._link_errors[update.source] = dict(update.link_errors)
            self._ring.append(update)
            health = self._health.setdefault(update.source, _Health())
            if clamped:
                health.errors_by_kind[FUTURE_TIMESTAMP] += 1
            was_ok = health.ok
            if update.ok:
                health.ok, health.error, health.last_ok = True, None, update.ts
            else:
                health.ok, health.error, health.last_error = False, update.error or "down", update.ts
                health.errors_by_kind["down"] += 1
            snap = self._snapshot_locked(update.source, now) if self._subscribers else None
            if snap is not None:  # the whole live picture: a withdrawn value disappears downstream too
                self._publish("sample", update.source, snap.ts, snap.to_json())
            if was_ok != health.ok:
                self._publish("health", update.source, update.ts, _health_data(health.frozen()))
        return update

    def _rederive(self, source: str, entries: dict[str, _Entry]) -> dict[str, _Entry]:
        """Replace the derived values of an inverter source by those of its current values; also
        count the QPIWS faults and warnings with the catalog's one rule (upstream mppsolar files
        carry the bits only). Returns the new derived entries."""
        for key in [k for k, e in entries.items() if e.kind == DERIVED]:
            del entries[key]
        if self._derive is None or section_of(source) is None:
            return {}
        new: dict[str, _Entry] = {}
        bits = [e for e in entries.values() if e.kind in (WARNING, FAULT)]
        if bits:
            faults, warnings = catalog.classify_alarms({k: e.value for k, e in entries.items()
                                                        if e.kind in (WARNING, FAULT)})
            ts = min(e.ts for e in bits)
            for key, count in (("faults_active", len(faults)), ("warnings_active", len(warnings))):
                entries[key] = _Entry(count, "", MEASUREMENT, "QPIWS", ts)
        measured = [e.ts for e in entries.values() if e.kind == MEASUREMENT and e.command != "QPIWS"]
        if not measured:
            return new
        ts = min(measured)  # as old as the oldest measurement it may come from
        inputs = {k: e.value for k, e in entries.items()}
        for key, value in self._derive(inputs).items():
            info = catalog.info(key)
            new[key] = entries[key] = _Entry(value, info.unit if info else "W", DERIVED, "", ts)
        return new

    def record_error(self, source: str, kind: str, message: str) -> None:
        """Count an error of `kind` for `source` (a bad file, a DB failure...) and mark it not ok."""
        now = self._clock()
        with self._lock:
            health = self._health.setdefault(source, _Health())
            was_ok = health.ok
            health.ok, health.error, health.last_error = False, f"{kind}: {message}", now
            self._versions[source] += 1
            health.errors_by_kind[kind] += 1
            if was_ok:
                self._publish("health", source, now, _health_data(health.frozen()))

    # -- reader side -------------------------------------------------------------------------
    def snapshot(self, source: str) -> SourceSnapshot | None:
        """Return a copy of the live state of `source`, or None when it never delivered data."""
        now = self._clock()
        with self._lock:
            return self._snapshot_locked(source, now)

    def version(self, source: str) -> tuple[int, float]:
        """How often `source` changed (readings applied, errors recorded) and the state's clock
        now: a body built from a snapshot of the same version holds until its `expires`."""
        now = self._clock()
        with self._lock:
            return self._versions[source], now

    def snapshots(self) -> dict[str, SourceSnapshot]:
        """Return copies of the live state of every source that delivered data."""
        now = self._clock()
        with self._lock:
            snaps = {src: self._snapshot_locked(src, now) for src in self._entries}
        return {src: snap for src, snap in snaps.items() if snap is not None}

    def devices(self) -> list[str]:
        """Return the inverter sections seen so far, in the order they first delivered data.

        A BMS section's file (``type = jkbms|dalybms``) is read like an inverter's, but it is not
        an inverter: it is left out (solarmon/web/bms.py tells it by its values).
        """
        from solarmon.web.bms import is_bms

        with self._lock:
            sources = [src for src, entries in self._entries.items() if not is_bms(entries)]
        return [sec for sec in (section_of(src) for src in sources) if sec is not None]

    def link_errors(self) -> dict[str, dict[str, float]]:
        """The daemon's own error counters (by kind) per inverter source, as its file last said."""
        with self._lock:
            return {src: dict(counts) for src, counts in self._link_errors.items()}

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
        entries = self._entries.get(source)
        if entries is None:
            return None
        mono = self._monotonic()
        ts = self._source_ts.get(source, 0.0)
        if ts > now + FUTURE_TOLERANCE_S:  # the clock stepped back: the newest value's arrival
            ts = max((e.read_time(now, mono) for e in entries.values()), default=now)
        values: dict[str, Value] = {}
        units: dict[str, str] = {}
        kinds: dict[str, str] = {}
        ages: dict[str, float] = {}
        stale: dict[str, float] = {}
        # Sensors (house, weather, BMS) report at their own pace; only inverter values age out.
        limit = self.stale_after_s if section_of(source) is not None else math.inf
        times = {key: entry.read_time(now, mono) for key, entry in entries.items()}
        expires = ts + limit
        for key, entry in entries.items():
            age = max(0.0, now - times[key])
            if not is_static(entry.kind, entry.command):
                if age > limit:
                    stale[key] = age
                    continue
                expires = min(expires, times[key] + limit)
            values[key], units[key], ages[key] = entry.value, entry.unit, age
            if entry.kind:
                kinds[key] = entry.kind
        return SourceSnapshot(
            source=source,
            ts=ts,
            age_s=max(0.0, now - ts),
            values=values,
            units=units,
            health=self._health.get(source, _Health()).frozen(),
            kinds=kinds,
            ages=ages,
            stale=stale,
            stale_after_s=limit,
            times=times,
            version=self._versions[source],
            expires=expires,
        )


def _clamp_future(update: SourceUpdate, now: float) -> tuple[SourceUpdate, bool]:
    """Clamp the read times of `update` that lie beyond FUTURE_TOLERANCE_S ahead of `now` to
    `now` (the arrival); return the update and whether any time was clamped."""
    limit = now + FUTURE_TOLERANCE_S
    if update.ts <= limit and all(t <= limit for t in update.times.values()):
        return update, False
    times = {cmd: min(t, now) if t > limit else t for cmd, t in update.times.items()}
    return replace(update, ts=now if update.ts > limit else update.ts, times=times), True


def _health_data(health: SourceHealth) -> dict[str, Any]:
    return {"ok": health.ok, "error": health.error, "error_count": health.error_count}
