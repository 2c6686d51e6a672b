"""Notifications (what a channel sends) and the flap limiter that keeps a flapping value quiet.

`Throttle` lets at most one message per alert (rule + source) through every `interval_s`. A
transition inside the interval is held back; when the interval is over, the newest held-back
state is sent only if it differs from the last one sent (fired -> cleared or back), with the number
of changes people did not hear about. The store and the API still see every transition at once:
only the messages are limited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from solarmon.alerts.evaluator import FIRED, Transition, device_of


@dataclass(frozen=True)
class Notification:
    """One message for the channels about one alert firing or clearing."""

    alert_id: int | None
    rule: str
    source: str
    kind: str  # FIRED | CLEARED
    severity: str
    metric: str
    value: Any
    unit: str
    ts: float
    title: str
    body: str
    flaps: int = 0  # changes since the previous message that were not sent on their own

    @classmethod
    def from_transition(cls, t: Transition, alert_id: int | None, flaps: int = 0) -> Notification:
        """Build the message for a transition; a flap count is appended to the body."""
        device = device_of(t.source)
        if t.kind == FIRED:
            title = f"{t.rule.severity.upper()}: {t.rule.name} on {device}"
        else:
            title = f"RESOLVED: {t.rule.name} on {device}"
        body = t.message
        if flaps:
            body += f" (changed {flaps} more time(s) since the last message: flapping)"
        value = t.value if isinstance(t.value, int | float | str | bool) else str(t.value)
        return cls(alert_id, t.rule.name, t.source, t.kind, t.rule.severity, t.rule.metric, value,
                   t.unit, t.ts, title, body, flaps)

    def to_json(self) -> dict[str, Any]:
        """The JSON payload (MQTT) and the API's shape of a message."""
        return {"id": self.alert_id, "rule": self.rule, "source": self.source,
                "device": device_of(self.source),
                "state": "firing" if self.kind == FIRED else "cleared", "severity": self.severity,
                "metric": self.metric, "value": self.value, "unit": self.unit, "ts": self.ts,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.ts)),
                "title": self.title, "message": self.body, "flaps": self.flaps}


@dataclass
class _Sent:
    """What was last said about one alert, and what is being held back."""

    ts: float
    kind: str
    pending: tuple[Transition, int | None] | None = None
    held: int = 0


@dataclass
class Throttle:
    """At most one message per alert per `interval_s` (0: no limit)."""

    interval_s: float
    _sent: dict[tuple[str, str], _Sent] = field(default_factory=dict)
    suppressed: int = 0

    def offer(self, transition: Transition, alert_id: int | None, now: float) -> Notification | None:
        """The message to send now for `transition`, or None when it is held back."""
        sent = self._sent.get(transition.key)
        if sent is None:
            # First word about this alert since the start (a `cleared` of an alert restored from
            # the store included: its end is still news).
            self._sent[transition.key] = _Sent(now, transition.kind)
            return Notification.from_transition(transition, alert_id)
        if now - sent.ts >= self.interval_s:
            flaps, sent.held, sent.pending = sent.held, 0, None
            sent.ts, sent.kind = now, transition.kind
            return Notification.from_transition(transition, alert_id, flaps)
        sent.pending = (transition, alert_id)
        sent.held += 1
        self.suppressed += 1
        return None

    def due(self, now: float) -> list[Notification]:
        """Held-back states whose interval is over and that differ from what was last sent."""
        out = []
        for sent in self._sent.values():
            if sent.pending is None or now - sent.ts < self.interval_s:
                continue
            transition, alert_id = sent.pending
            sent.pending = None
            if transition.kind == sent.kind:
                continue  # people already believe this state; the flaps go into the next message
            # The transition itself was held back, so it counts once less among the flaps.
            out.append(Notification.from_transition(transition, alert_id, max(sent.held - 1, 0)))
            sent.ts, sent.kind, sent.held = now, transition.kind, 0
        return out
