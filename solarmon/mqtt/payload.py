"""Parse house-sensor, weather and BMS messages: topic -> sensor name, payload -> finite float + unit.

Accepted payloads: a plain number (`23.5`) or a JSON object `{"value": 23.5, "unit": "°C"}`
(unit optional). Everything else raises `PayloadRejected` with a stable `reason`, which the
subscriber counts: nothing malformed is ever stored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

MAX_PAYLOAD_BYTES = 256
# house/<sensor> or house/<room>/<sensor> or house/<floor>/<room>/<sensor>: deeper is a mistake.
MAX_TOPIC_LEVELS = 4
MAX_UNIT_CHARS = 16
# battery/<name>: a battery management system (BMS), e.g. battery/cell1 .. battery/cellN volts.
ROOTS = ("house", "weather", "battery")
# A topic level that is safe as a Prometheus label value, a JSON key and a history key.
LEVEL_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A plain decimal number; float() alone would also take "nan", "1_000" and " inf ".
NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

REJECT_REASONS = (
    "empty",
    "oversized",
    "bad_topic",
    "too_deep",
    "not_a_number",
    "non_finite",
    "bad_json",
    "bad_unit",
)


class PayloadRejected(ValueError):
    """A message that must not be stored; `reason` is one of REJECT_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class SensorValue:
    """One accepted sensor value. `name` is the topic below the root (`living_room/temperature`)."""

    source: str
    name: str
    value: float
    unit: str | None
    received_s: float

    @property
    def topic(self) -> str:
        """The topic this value arrived on."""
        return f"{self.source}/{self.name}"


def split_topic(topic: str) -> tuple[str, str]:
    """(root, name) of a sensor topic, or PayloadRejected for anything that is not one."""
    levels = topic.split("/")
    if len(levels) > MAX_TOPIC_LEVELS:
        raise PayloadRejected("too_deep", f"{topic!r} has {len(levels)} levels (max {MAX_TOPIC_LEVELS})")
    if len(levels) < 2 or levels[0] not in ROOTS or not all(LEVEL_RE.match(level) for level in levels[1:]):
        raise PayloadRejected("bad_topic", f"{topic[:80]!r} is not <house|weather|battery>/<name>")
    return levels[0], "/".join(levels[1:])


def _finite(value: object, topic: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadRejected("not_a_number", f"{topic}: value {str(value)[:40]!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise PayloadRejected("non_finite", f"{topic}: value {number} is not finite")
    return number


def parse_value(topic: str, payload: bytes) -> tuple[float, str | None]:
    """(value, unit) from a payload; raises PayloadRejected."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected("oversized", f"{topic}: {len(payload)} bytes (max {MAX_PAYLOAD_BYTES})")
    if not payload.strip():
        raise PayloadRejected("empty", f"{topic}: empty payload")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise PayloadRejected("not_a_number", f"{topic}: payload is not UTF-8") from exc
    if not text.startswith("{"):
        if NUMBER_RE.match(text):
            return _finite(float(text), topic), None
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise PayloadRejected("non_finite", f"{topic}: value {text!r} is not finite")
        raise PayloadRejected("not_a_number", f"{topic}: payload {text[:40]!r} is not a number")
    try:
        # parse_constant: JSON has no NaN/Infinity, but Python's json would accept them.
        obj = json.loads(text, parse_constant=lambda name: name)
    except ValueError as exc:
        raise PayloadRejected("bad_json", f"{topic}: {exc}") from exc
    if not isinstance(obj, dict) or "value" not in obj:
        raise PayloadRejected("bad_json", f'{topic}: JSON payload needs a "value" key')
    if obj["value"] in ("NaN", "Infinity", "-Infinity"):
        raise PayloadRejected("non_finite", f"{topic}: value {obj['value']} is not finite")
    value = _finite(obj["value"], topic)
    unit = obj.get("unit")
    if unit is not None and (
        not isinstance(unit, str) or len(unit) > MAX_UNIT_CHARS or not unit.isprintable()
    ):
        raise PayloadRejected("bad_unit", f"{topic}: unit must be a short string, got {str(unit)[:40]!r}")
    return value, unit or None


def parse_sensor_message(topic: str, payload: bytes, *, received_s: float) -> SensorValue:
    """Turn one house/weather/battery message into a SensorValue; raises PayloadRejected."""
    source, name = split_topic(topic)
    value, unit = parse_value(topic, payload)
    return SensorValue(source=source, name=name, value=value, unit=unit, received_s=received_s)
