"""Alert rules: the typed model and the parser that refuses a bad rule with its name and the reason.

A rule watches one metric of matching sources (any inverter by default) and fires when a
condition holds for `for_s` seconds:

    - name: battery_low
      metric: battery_capacity          # a value key, or a derived one (data_age_s)
      source: inverter                  # any inverter; inverter:<section>, house, weather, battery, *
      below: 20                         # or above / equals / changes_to
      for_s: 60
      hysteresis: 10                    # clears at 30 % (or `clear: {above: 30, for_s: 60}`)
      severity: warning                 # info | warning | critical
      channels: [apprise, mqtt]         # default: every configured channel
      message: "Battery at {value}{unit} on {device}"

A threshold is a number or another metric of the same source with an offset
(`"battery_under_voltage + 2"`), resolved at evaluation time. Unknown keys in a rule are refused,
not warned about: a misspelt `for` would otherwise make a rule fire at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from solarmon.confighelper import ConfigError

SEVERITIES = ("info", "warning", "critical")
FIRE_KINDS = ("above", "below", "equals", "changes_to")
CLEAR_KINDS = ("above", "below", "equals", "not_equals")
DERIVED_METRICS = {"data_age_s": "seconds since the source's newest reading"}
RULE_KEYS = frozenset({"name", "metric", "source", *FIRE_KINDS, "for_s", "hysteresis", "clear",
                       "arm_on_clear", "severity", "channels", "message", "enabled"})
CLEAR_KEYS = frozenset({*CLEAR_KINDS, "for_s"})
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
METRIC_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:/.\-]{0,127}$")
SOURCE_RE = re.compile(r"^(\*|inverter|house|weather|[a-z]+:[A-Za-z0-9_.\-/]{1,64}|[A-Za-z0-9_\-]{1,64})$")
REF_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*(\d+(?:\.\d+)?))?\s*$")
MAX_DURATION_S = 7 * 86400
MAX_MESSAGE_CHARS = 500


# An alert rule or the `alerts:` section is invalid (the message names the rule and why): the one
# ConfigError of solarmon/confighelper.py, under the name this package has always raised.
AlertConfigError = ConfigError


@dataclass(frozen=True)
class Threshold:
    """A number, or `metric + offset` of the same source (e.g. the QPIRI cut-off plus 2 V)."""

    value: float | None = None
    metric: str | None = None
    offset: float = 0.0

    def resolve(self, values: Mapping[str, Any]) -> float | None:
        """The threshold for one source's values; None when the referenced metric is missing."""
        if self.metric is None:
            return self.value
        ref = number(values.get(self.metric))
        return None if ref is None else ref + self.offset

    def describe(self) -> str:
        """The threshold as written in the rule."""
        if self.metric is None:
            return f"{self.value:g}"
        if not self.offset:
            return self.metric
        return f"{self.metric} {'+' if self.offset > 0 else '-'} {abs(self.offset):g}"


@dataclass(frozen=True)
class Condition:
    """One comparison: `kind` is above/below (a Threshold) or equals/not_equals/changes_to (a value).

    `inclusive` makes above/below mean "at or above/below": a clear condition derived from a
    firing one includes the limit, so no value is left where neither holds."""

    kind: str
    threshold: Threshold | None = None
    target: str | float | bool | None = None
    inclusive: bool = False

    def holds(self, value: Any, values: Mapping[str, Any]) -> bool | None:
        """Whether the condition holds for `value`; None when it cannot be judged (no number)."""
        if self.kind in ("above", "below"):
            assert self.threshold is not None
            v, limit = number(value), self.threshold.resolve(values)
            if v is None or limit is None:
                return None
            if self.kind == "above":
                return v >= limit if self.inclusive else v > limit
            return v <= limit if self.inclusive else v < limit
        same = same_value(value, self.target)
        return not same if self.kind == "not_equals" else same

    def describe(self) -> str:
        """The condition in words, for messages and the API."""
        word = f"at or {self.kind}" if self.inclusive else self.kind.replace("_", " ")
        shown = self.threshold.describe() if self.threshold is not None else f"{self.target}"
        return f"{word} {shown}"


@dataclass(frozen=True)
class Rule:
    """One validated alert rule; `clear` is the condition that ends it (derived when not given)."""

    name: str
    metric: str
    condition: Condition
    clear: Condition
    source: str = "inverter"
    for_s: float = 0.0
    clear_for_s: float = 0.0
    arm_on_clear: bool = False
    severity: str = "warning"
    channels: tuple[str, ...] | None = None  # None: every configured channel
    message: str = ""
    builtin: bool = False

    def matches(self, source: str) -> bool:
        """Whether this rule watches `source` (`inverter` means every inverter:<section>)."""
        if self.source == "*":
            return True
        if self.source in ("inverter", "house", "weather", "battery"):
            return source == self.source or source.startswith(self.source + ":")
        return source == self.source

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for GET /api/alerts."""
        return {"name": self.name, "metric": self.metric, "source": self.source,
                "condition": self.condition.describe(), "clear": self.clear.describe(),
                "for_s": self.for_s, "clear_for_s": self.clear_for_s, "severity": self.severity,
                "channels": list(self.channels) if self.channels is not None else None,
                "builtin": self.builtin}


def number(value: Any) -> float | None:
    """A finite float for numbers and booleans (True is 1), None for anything else."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def same_value(value: Any, target: Any) -> bool:
    """Equality the way a rule author means it: numbers by value, text without regard to case."""
    a, b = number(value), number(target)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if value is None or target is None:
        return False
    return str(value).strip().casefold() == str(target).strip().casefold()


def parse_rules(items: Any, *, where: str, builtin: bool = False) -> list[Rule]:
    """Parse a list of rule mappings; the first bad one raises AlertConfigError naming it and why."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise AlertConfigError(f"{where}: alert rules must be a list of mappings, not {type(items).__name__}")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        label = f"rule #{index + 1}"
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            label = f"rule {item['name']!r}"
        rule = parse_rule(item, where=f"{where}: {label}", builtin=builtin)
        if rule is None:
            continue
        if rule.name in seen:
            raise AlertConfigError(f"{where}: {label}: the name is used by an earlier rule")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def parse_rule(item: Any, *, where: str, builtin: bool = False) -> Rule | None:
    """One rule (None when `enabled: false`); raises AlertConfigError with `where` and the reason."""
    if not isinstance(item, Mapping):
        raise AlertConfigError(f"{where}: must be a mapping of keys, not {item!r}")
    unknown = sorted(set(map(str, item)) - RULE_KEYS)
    if unknown:
        raise AlertConfigError(f"{where}: unknown key(s) {', '.join(unknown)} "
                               f"(known: {', '.join(sorted(RULE_KEYS))})")
    name = item.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AlertConfigError(f"{where}: name must be 1-64 characters a-z, 0-9, _ (got {name!r})")
    if not _bool(item.get("enabled", True), where, "enabled"):
        return None
    metric = item.get("metric")
    if not isinstance(metric, str) or not METRIC_RE.match(metric):
        raise AlertConfigError(f"{where}: metric must name a value key such as battery_capacity "
                               f"(got {metric!r})")
    source = item.get("source", "inverter")
    if not isinstance(source, str) or not SOURCE_RE.match(source):
        raise AlertConfigError(f"{where}: source must be inverter, inverter:<section>, house, weather, "
                               f"battery (the BMS), house:<name> or * (got {source!r})")
    kinds = [k for k in FIRE_KINDS if k in item]
    if len(kinds) != 1:
        raise AlertConfigError(f"{where}: needs exactly one condition of {', '.join(FIRE_KINDS)} "
                               f"(got {', '.join(kinds) or 'none'})")
    condition = _condition(kinds[0], item[kinds[0]], where)
    for_s = _duration(item.get("for_s", 0), where, "for_s")
    clear, clear_for_s = _clear(item, condition, where)
    severity = item.get("severity", "warning")
    if severity not in SEVERITIES:
        raise AlertConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)} (got {severity!r})")
    channels = item.get("channels")
    if channels is not None and (not isinstance(channels, list) or not channels
                                 or not all(isinstance(c, str) and c for c in channels)):
        raise AlertConfigError(f"{where}: channels must be a non-empty list of channel names "
                               f"(got {channels!r})")
    message = item.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_CHARS:
        raise AlertConfigError(f"{where}: message must be text of at most {MAX_MESSAGE_CHARS} characters")
    _check_template(message, where)
    # changes_to is "equals, but only after another value was seen": the arming does the rest.
    arm = _bool(item.get("arm_on_clear", False), where, "arm_on_clear") or condition.kind == "changes_to"
    return Rule(name=name, metric=metric, condition=condition, clear=clear, source=source, for_s=for_s,
                clear_for_s=clear_for_s, arm_on_clear=arm, severity=severity,
                channels=tuple(channels) if channels is not None else None, message=message,
                builtin=builtin)


def _condition(kind: str, raw: Any, where: str) -> Condition:
    """Parse the value of one condition key."""
    if kind in ("above", "below"):
        return Condition(kind, threshold=_threshold(raw, where, kind))
    if isinstance(raw, bool) or (isinstance(raw, int | float) and math.isfinite(raw)):
        return Condition(kind, target=raw)
    if isinstance(raw, str) and raw.strip():
        return Condition(kind, target=raw.strip())
    raise AlertConfigError(f"{where}: {kind} needs a number, true/false or text (got {raw!r})")


def _threshold(raw: Any, where: str, key: str) -> Threshold:
    """A number, or `metric [+|- number]`."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            raise AlertConfigError(f"{where}: {key} must be a finite number (got {raw!r})")
        return Threshold(value=float(raw))
    match = REF_RE.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise AlertConfigError(f"{where}: {key} must be a number or 'metric + number' "
                               f"such as 'battery_under_voltage + 2' (got {raw!r})")
    sign = -1.0 if match.group(2) == "-" else 1.0
    return Threshold(metric=match.group(1), offset=sign * float(match.group(3) or 0))


def _clear(item: Mapping[str, Any], fire: Condition, where: str) -> tuple[Condition, float]:
    """The clear condition: given explicitly, or the opposite of `fire` moved by the hysteresis."""
    raw_clear, hysteresis = item.get("clear"), item.get("hysteresis")
    if raw_clear is not None and hysteresis is not None:
        raise AlertConfigError(f"{where}: give either hysteresis or clear, not both")
    if raw_clear is not None:
        if not isinstance(raw_clear, Mapping):
            raise AlertConfigError(f"{where}: clear must be a mapping such as {{above: 30, for_s: 60}}")
        unknown = sorted(set(map(str, raw_clear)) - CLEAR_KEYS)
        kinds = [k for k in CLEAR_KINDS if k in raw_clear]
        if unknown or len(kinds) != 1:
            raise AlertConfigError(f"{where}: clear needs exactly one of {', '.join(CLEAR_KINDS)} and "
                                   f"optionally for_s (got {', '.join(map(str, raw_clear)) or 'nothing'})")
        clear = _condition(kinds[0], raw_clear[kinds[0]], where + " clear")
        _check_overlap(fire, clear, where)
        return clear, _duration(raw_clear.get("for_s", 0), where, "clear.for_s")
    if fire.kind in ("equals", "changes_to"):
        if hysteresis is not None:
            raise AlertConfigError(f"{where}: hysteresis only applies to above/below conditions")
        return Condition("not_equals", target=fire.target), 0.0
    if hysteresis is None:
        hysteresis = 0.0
    if isinstance(hysteresis, bool) or not isinstance(hysteresis, int | float) or not 0 <= hysteresis < 1e9:
        raise AlertConfigError(f"{where}: hysteresis must be a number >= 0 (got {hysteresis!r})")
    assert fire.threshold is not None
    t = fire.threshold
    # Clearing is "at or below (limit - h)" / "at or above (limit + h)": the band in between holds.
    if fire.kind == "above":
        return Condition("below", threshold=Threshold(t.value - hysteresis if t.value is not None else None,
                                                      t.metric, t.offset - hysteresis), inclusive=True), 0.0
    return Condition("above", threshold=Threshold(t.value + hysteresis if t.value is not None else None,
                                                  t.metric, t.offset + hysteresis), inclusive=True), 0.0


def _check_overlap(fire: Condition, clear: Condition, where: str) -> None:
    """Refuse a clear condition that can hold together with the fire condition (endless flapping)."""
    if fire.kind in ("above", "below"):
        if clear.kind == fire.kind or clear.kind not in ("above", "below"):
            raise AlertConfigError(f"{where}: a rule firing {fire.kind} a limit must clear "
                                   f"{'below' if fire.kind == 'above' else 'above'} one")
        f, c = fire.threshold, clear.threshold
        assert f is not None
        assert c is not None
        if f.metric is None and c.metric is None and f.value is not None and c.value is not None and (
                (fire.kind == "above" and c.value > f.value) or (fire.kind == "below" and c.value < f.value)):
            raise AlertConfigError(f"{where}: the clear limit {c.value:g} overlaps the firing limit "
                                   f"{f.value:g}: a value in between would fire and clear at once")
    elif clear.kind == "equals" and same_value(clear.target, fire.target):
        raise AlertConfigError(f"{where}: clear equals the firing value {fire.target!r}")


def _duration(raw: Any, where: str, key: str) -> float:
    """Seconds in 0..7 days."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= MAX_DURATION_S:
        raise AlertConfigError(f"{where}: {key} must be a number of seconds in 0..{MAX_DURATION_S} "
                               f"(got {raw!r})")
    return float(raw)


def _bool(raw: Any, where: str, key: str) -> bool:
    """true/false only (YAML's yes/no arrive as booleans already)."""
    if not isinstance(raw, bool):
        raise AlertConfigError(f"{where}: {key} must be true or false (got {raw!r})")
    return raw


TEMPLATE_FIELDS = frozenset({"rule", "source", "device", "metric", "value", "unit", "threshold",
                             "condition", "severity", "faults"})


def _check_template(message: str, where: str) -> None:
    """Refuse a message naming a field the formatter does not fill (it would fail at 3 a.m.)."""
    for field_name in re.findall(r"{([^{}]*)}", message):
        if field_name not in TEMPLATE_FIELDS:
            raise AlertConfigError(f"{where}: message uses {{{field_name}}}; allowed: "
                                   f"{', '.join('{' + f + '}' for f in sorted(TEMPLATE_FIELDS))}")
