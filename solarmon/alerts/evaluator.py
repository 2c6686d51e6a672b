"""The rule state machine: values in, `Transition`s (fired / cleared) out. No threads, no I/O.

Each (rule, source) pair has a track: `ok` -> `pending` (the condition holds, waiting `for_s`) ->
`firing` -> `clearing` (the clear condition holds, waiting `clear_for_s`) -> `ok`. A pending
condition that stops holding goes back to `ok` silently; a clearing one back to `firing`. A rule
with `arm_on_clear` (and every `changes_to` rule) only fires after its clear condition has held
once since the start, so an off-grid house is not told at every start that the grid is missing.
Durations are measured on the caller's clock (`now`), so the evaluation can be driven by samples
and by a periodic tick alike (the tick is what fires "data stale").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from solarmon.alerts.rules import Rule, number
from solarmon.bms import catalog as bms_catalog
from solarmon.inverter import catalog

FIRED, CLEARED = "fired", "cleared"


@dataclass(frozen=True)
class Transition:
    """One alert firing or clearing: what the store records and the channels are told."""

    rule: Rule
    source: str
    kind: str  # FIRED | CLEARED
    ts: float
    value: Any
    unit: str
    threshold: float | None
    message: str

    @property
    def key(self) -> tuple[str, str]:
        """(rule name, source): one alert instance."""
        return (self.rule.name, self.source)


@dataclass
class _Track:
    """Where one (rule, source) pair stands."""

    phase: str = "ok"  # ok | pending | firing | clearing
    since: float = 0.0
    armed: bool = True


def device_of(source: str) -> str:
    """The inverter section of `inverter:<section>`, else the source itself (for messages)."""
    return source.split(":", 1)[1] if source.startswith("inverter:") else source


def active_faults(values: Mapping[str, Any]) -> str:
    """The keys of the QPIWS fault bits set now, by the catalog's one rule (classify_alarms), and
    the labels of a BMS's protections (solarmon.bms.catalog)."""
    faults, _warnings = catalog.classify_alarms(values)
    protections, _bms_warnings = bms_catalog.classify_alarms(values)
    labels = [entry.label for key in protections if (entry := bms_catalog.info(key)) is not None]
    return ", ".join(faults + labels) or "unknown"


def format_value(value: Any) -> str:
    """A value for people: numbers without float noise, text as is."""
    n = number(value)
    if n is None or isinstance(value, bool):
        return str(value)
    return f"{round(n, 2):g}"


def render_message(rule: Rule, source: str, kind: str, value: Any, unit: str, threshold: float | None,
                   values: Mapping[str, Any]) -> str:
    """The human message of a transition (the rule's template, or a generic sentence)."""
    fields = {"rule": rule.name, "source": source, "device": device_of(source), "metric": rule.metric,
              "value": format_value(value), "unit": unit, "severity": rule.severity,
              "threshold": format_value(threshold) if threshold is not None else "",
              "condition": rule.condition.describe(), "faults": active_faults(values)}
    text = rule.message.format(**fields) if rule.message else \
        f"{rule.metric} of {fields['device']} is {fields['value']}{unit} ({rule.condition.describe()})"
    if kind == CLEARED:
        text = f"Resolved: {text} (now {fields['value']}{unit})" if rule.message else \
            f"{rule.metric} of {fields['device']} is back to {fields['value']}{unit}"
    return text


class Evaluator:
    """Evaluates rules against each source's latest values; returns the transitions it sees."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        """Track nothing yet; a pair's track is made when its source first reports."""
        self.rules = tuple(rules)
        self._tracks: dict[tuple[str, str], _Track] = {}

    def restore(self, rule_name: str, source: str, since: float) -> bool:
        """Mark an alert that was active before a restart as firing (no second message if it still
        holds, one `cleared` when it no longer does). False when no rule has that name any more."""
        if not any(r.name == rule_name and r.matches(source) for r in self.rules):
            return False
        self._tracks[(rule_name, source)] = _Track("firing", since, True)
        return True

    def firing(self) -> list[tuple[str, str]]:
        """The (rule, source) pairs currently firing (or waiting to clear)."""
        return [key for key, t in self._tracks.items() if t.phase in ("firing", "clearing")]

    def drop(self, rule_name: str, source: str) -> bool:
        """Drop the track of one (rule, source) pair; True when it was firing (nothing is sent)."""
        track = self._tracks.pop((rule_name, source), None)
        return track is not None and track.phase in ("firing", "clearing")

    def forget(self, source: str) -> None:
        """Drop the tracks of a source that went away (nothing is sent)."""
        for key in [k for k in self._tracks if k[1] == source]:
            del self._tracks[key]

    def evaluate(self, source: str, values: Mapping[str, Any], units: Mapping[str, str],
                 now: float) -> list[Transition]:
        """Run every rule matching `source` over its values at time `now`."""
        out = []
        for rule in self.rules:
            if not rule.matches(source) or rule.metric not in values:
                continue
            transition = self._step(rule, source, values, units.get(rule.metric, ""), now)
            if transition is not None:
                out.append(transition)
        return out

    def _step(self, rule: Rule, source: str, values: Mapping[str, Any], unit: str,
              now: float) -> Transition | None:
        value = values[rule.metric]
        key = (rule.name, source)
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(armed=not rule.arm_on_clear)
        fire = rule.condition.holds(value, values)
        clear = rule.clear.holds(value, values)
        if fire is None and clear is None:
            return None  # not a number where one is needed: keep the state as it is
        if not track.armed:
            if clear:
                track.armed = True
            return None
        if track.phase in ("ok", "pending"):
            if not fire:
                track.phase = "ok"
                return None
            if track.phase == "ok":
                track.phase, track.since = "pending", now
            if now - track.since >= rule.for_s:
                track.phase, track.since = "firing", now
                return self._transition(rule, source, FIRED, now, value, unit, values)
            return None
        if not clear:
            track.phase = "firing"
            return None
        if track.phase == "firing":
            track.phase, track.since = "clearing", now
        if now - track.since >= rule.clear_for_s:
            track.phase, track.since = "ok", now
            return self._transition(rule, source, CLEARED, now, value, unit, values)
        return None

    @staticmethod
    def _transition(rule: Rule, source: str, kind: str, now: float, value: Any, unit: str,
                    values: Mapping[str, Any]) -> Transition:
        condition = rule.condition if kind == FIRED else rule.clear
        threshold = condition.threshold.resolve(values) if condition.threshold is not None else None
        return Transition(rule, source, kind, now, value, unit, threshold,
                          render_message(rule, source, kind, value, unit, threshold, values))
