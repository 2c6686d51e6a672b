"""The alert service: one thread evaluating the rules on each new sample and on a periodic tick.

It subscribes to the live state like a dashboard does (a bounded queue: it never slows the
reader), evaluates the rules over the source's merged values plus the derived `data_age_s`
(what a parallel / three-phase system's units share — the battery, a parallel system's grid — on
the system, not on each unit: scope.py),
records every transition in the store at once, and hands the messages the flap limiter lets
through to the delivery workers, which send them on their own threads. Build cold; `start()` opens
the store (after the history migrated it), restores the alerts that were active before a restart,
starts the channel workers and the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from solarmon.alerts.delivery import Delivery
from solarmon.alerts.evaluator import FIRED, Evaluator, Transition
from solarmon.alerts.notify import Notification, Throttle
from solarmon.alerts.rules import Rule
from solarmon.alerts.scope import rule_values, shared_keys
from solarmon.alerts.store import AlertStore
from solarmon.inverter.system import SHARED_BATTERY

LOG = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0
SUBSCRIBER_QUEUE = 1024


@dataclass(frozen=True)
class _Wake:
    """Offered to the subscription at stop, to wake the thread (which then sees the stop flag).

    Shaped like the live state's events (kind, source), so alerts need not import solarmon.web:
    the web app wires alerts, never the reverse (docs/ARCHITECTURE.md)."""

    kind: str = "stop"
    source: str = ""


_WAKE = _Wake()


class AlertService:
    """Rules over the live state -> alert store + channels. A web app service named "alerts"."""

    name = "alerts"

    def __init__(self, rules: tuple[Rule, ...], *, state: Any, store: AlertStore, delivery: Delivery,
                 notify_interval_s: float = 300.0, tick_s: float = 5.0, log_retention_days: float = 365.0,
                 clock: Callable[[], float] = time.time,
                 unit_of_system: Callable[[str], bool] | None = None) -> None:
        """Build cold: nothing is opened or started here.

        ``unit_of_system(source)`` says whether a source is a unit of a parallel / three-phase
        system, whose shared battery the rules watch on the system instead (solarmon/alerts/scope.py);
        the web app, which knows its systems, passes it."""
        self.rules = rules
        self.state = state
        self.store = store
        self.delivery = delivery
        self.evaluator = Evaluator(rules)
        self.throttle = Throttle(notify_interval_s)
        self.tick_s = tick_s
        self.log_retention_days = log_retention_days
        self._clock = clock
        self._unit_of_system = unit_of_system or (lambda _source: False)
        self._lock = threading.Lock()  # one evaluation at a time (thread, tests, API refresh)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Any = None
        self.evaluations = 0
        self.errors = 0
        self.last_error: str | None = None

    # -- service ------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the store, restore active alerts, start the channels and the evaluation thread."""
        self.store.open()
        try:
            pruned = self.store.prune(self.log_retention_days)
            if pruned:
                LOG.info("alerts: %d old alert(s) pruned from the log", pruned)
        except Exception:
            LOG.exception("alerts: pruning the log failed")
        self._restore()
        self.delivery.start()
        self._stop.clear()
        if self.state is not None:
            self._subscription = self.state.subscribe(SUBSCRIBER_QUEUE)
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, the channels and the store (safe when not started)."""
        self._stop.set()
        if self._subscription is not None:
            # Wake the thread now: it may be waiting up to a tick for the next sample.
            self._subscription.offer(_WAKE)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
            self._thread = None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        self.delivery.stop()
        self.store.close()

    def _restore(self) -> None:
        now = self._clock()
        for row in self.store.active():
            if not self.evaluator.restore(row["rule"], row["source"], row["fired_ts"]):
                # The rule was removed or changed its sources: the alert cannot clear by itself.
                self.store.close_active(row["rule"], row["source"], now, None, "rule removed")
                LOG.info("alerts: %s/%s closed (its rule is gone)", row["rule"], row["source"])

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            wait = max(0.0, min(self.tick_s, next_tick - time.monotonic()))
            event = self._subscription.get(timeout=wait) if self._subscription is not None else None
            if event is None and self._subscription is None:
                self._stop.wait(wait)
            if self._stop.is_set():
                return
            if event is not None and event.kind == "sample":
                self.check_source(event.source)
            if time.monotonic() >= next_tick:
                self.tick()
                next_tick = time.monotonic() + self.tick_s

    # -- evaluation ---------------------------------------------------------------------------
    def check_source(self, source: str) -> list[Transition]:
        """Evaluate the rules of one source over its latest values now."""
        snap = self.state.snapshot(source) if self.state is not None else None
        if snap is None:
            return []
        return self._evaluate(source, snap)

    def tick(self) -> list[Transition]:
        """Re-evaluate every source (durations, data age) and send held-back flap messages."""
        out: list[Transition] = []
        if self.state is not None:
            for source, snap in self.state.snapshots().items():
                out += self._evaluate(source, snap)
        with self._lock:
            for note in self.throttle.due(self._clock()):
                self._send(note)
        return out

    def _evaluate(self, source: str, snap: Any) -> list[Transition]:
        now = self._clock()
        values = dict(snap.values)
        units = dict(snap.units)
        values["data_age_s"] = round(max(0.0, now - snap.ts), 1)
        units["data_age_s"] = "s"
        unit_of_system = self._unit_of_system(source)
        shared = shared_keys(values, unit_of_system=unit_of_system)
        values, units = rule_values(values, units, unit_of_system=unit_of_system)
        with self._lock:
            if unit_of_system:
                self._hand_over(source, shared, now)
            try:
                transitions = self.evaluator.evaluate(source, values, units, now)
                self.evaluations += 1
                for transition in transitions:
                    self._handle(transition, now)
            except Exception as exc:  # one bad value or rule must not end the evaluation thread
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                LOG.exception("alerts: evaluating %s failed", source)
                return []
        return transitions

    def _hand_over(self, source: str, shared: Mapping[str, str], now: float) -> None:
        """A unit's alert on what its system shares (``shared``: the battery, a parallel system's
        grid), fired before the unit was known as one (e.g. before an upgrade), is closed: the
        system's alert watches it now, and the unit's would otherwise never clear."""
        for rule in self.rules:
            if rule.metric in shared and self.evaluator.drop(rule.name, source):
                what = "battery" if rule.metric in SHARED_BATTERY else "grid"
                try:
                    self.store.close_active(rule.name, source, now, None,
                                            f"the shared {what} is watched on its system")
                except Exception:
                    LOG.exception("alerts: closing %s/%s failed", rule.name, source)
                LOG.info("alerts: %s/%s closed (the system watches the shared %s)", rule.name, source, what)

    def _handle(self, transition: Transition, now: float) -> None:
        """Record a transition and pass its message on (unless the flap limiter holds it)."""
        alert_id: int | None = None
        try:
            if transition.kind == FIRED:
                alert_id = self.store.fire(transition)
            else:
                alert_id = self.store.clear(transition)
        except Exception:  # the message still goes out when the database is busy or broken
            LOG.exception("alerts: recording %s/%s failed", transition.rule.name, transition.source)
        level = logging.WARNING if transition.kind == FIRED else logging.INFO
        LOG.log(level, "alert %s %s: %s", transition.rule.name, transition.kind, transition.message)
        note = self.throttle.offer(transition, alert_id, now)
        if note is not None:
            self._send(note)

    def _send(self, note: Notification) -> None:
        rule = next((r for r in self.rules if r.name == note.rule), None)
        self.delivery.send(note, rule.channels if rule is not None else None)

    def record_delivery(self, note: Notification, channel: str, ok: bool, attempts: int,
                        error: str | None) -> None:
        """The delivery workers' result callback: log the outcome in the store."""
        self.store.record_delivery(note.alert_id, note.kind, channel, ok, attempts, error)

    # -- reads --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts of active alerts by severity and how many are not acknowledged (the banner)."""
        active = self.store.active() if self.store.is_open else []  # not started (yet): none
        counts = {"critical": 0, "warning": 0, "info": 0}
        for row in active:
            counts[row["severity"]] = counts.get(row["severity"], 0) + 1
        return {"active": len(active), "counts": counts,
                "unacknowledged": sum(1 for row in active if not row["acknowledged"]), "alerts": active}

    def health(self) -> dict[str, Any]:
        """JSON-able health for /api/status: the store, the thread, each channel."""
        channels = self.delivery.stats()
        store = self.store.status()
        running = self._thread is not None and self._thread.is_alive()
        error = store["error"] or (None if running else "not running")
        failing = [name for name, s in channels.items() if not s["ok"]]
        if error is None and failing:
            error = f"channel(s) failing: {', '.join(failing)}"
        return {"ok": error is None, "error": error, "running": running, "rules": len(self.rules),
                "evaluations": self.evaluations, "evaluation_errors": self.errors,
                "suppressed_messages": self.throttle.suppressed, "store": store, "channels": channels}
