"""Fault injection: the ``--faults`` spec, which request gets which fault, and what it does to the bytes.

Spec syntax: comma-separated items, each either a rate or a schedule::

    KIND:RATE[:PARAM]              each request has probability RATE (0..1) of this fault
    KIND@AT[:DURATION[:PARAM]]     every request from AT on (seconds after start) gets it, for
                                   DURATION, or until the device is power-cycled (gone / unplug)

Times take a unit: ``500ms``, ``30s``, ``2m`` (a bare number is seconds). Kinds:

=========  =====================================================================  ================
kind       what the client sees                                                    PARAM (default)
=========  =====================================================================  ================
noreply    nothing                                                                 -
garbage    random bytes (not starting with "(") ending in CR                       -
flip       the reply with one byte changed (fails its CRC)                         -
truncate   the first part of the reply, no terminator                              -
nak        ``(NAK`` instead of the answer (``nak@AT``: a unit NAKing everything)   -
late       the head of the reply now, its tail just before the next reply          max hold (10s)
slow       the right reply after an extra turnaround                               delay (1.5s)
echo       the request bytes echoed back (a badly wired adapter)                   -
lf         the right reply ending in LF instead of CR (accepted by a good client)  -
nocrc      the right reply without CRC (firmware that sends none)                  -
gone       the device disappears and comes back as a new node                      away for (5s)
=========  =====================================================================  ================

Example: ``noreply:0.02,garbage:0.02,flip:0.02,truncate:0.02,nak:0.01,late:0.02,slow:0.02,gone@30s:5s``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from solarmon.inverter.frame import CR, LF, FrameError, decode_reply, encode_reply

KINDS = (
    "noreply",
    "garbage",
    "flip",
    "truncate",
    "nak",
    "late",
    "slow",
    "echo",
    "lf",
    "nocrc",
    "gone",
)
DEFAULT_PARAM_S = {"late": 10.0, "slow": 1.5, "gone": 5.0}
# What a correct client does with the bytes each fault produces.
EXPECTED = {
    None: "accept",
    "slow": "accept",
    "lf": "accept",
    "nocrc": "accept_if_no_crc_allowed",
    "nak": "refused",
    "noreply": "timeout",
    "garbage": "reject",
    "flip": "reject",
    "truncate": "reject",
    "late": "reject",
    "echo": "reject",
}
_TIME_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")


def parse_seconds(text: str, what: str) -> float:
    """``500ms`` / ``30s`` / ``2m`` / ``7`` -> seconds; ValueError naming ``what`` otherwise."""
    match = _TIME_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{what}: {text!r} is not a time (use e.g. 500ms, 30s, 2m)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One spec item: a per-request ``rate``, or a window starting ``at_s`` lasting ``duration_s``."""

    kind: str
    rate: float | None = None
    at_s: float | None = None
    duration_s: float | None = None  # None with at_s: until the next power cycle
    param_s: float | None = None

    @property
    def param(self) -> float:
        """The kind's parameter (seconds), or its default; a scheduled ``gone`` lasts its duration."""
        if self.kind == "gone" and self.param_s is None and self.duration_s is not None:
            return self.duration_s
        return self.param_s if self.param_s is not None else DEFAULT_PARAM_S.get(self.kind, 0.0)


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Parse a ``--faults`` spec (see the module docstring); ValueError names the bad item."""
    rules: list[FaultRule] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        rules.append(_parse_item(item))
    total = sum(rule.rate or 0.0 for rule in rules)
    if total > 1.0:
        raise ValueError(f"fault rates add up to {total:g}; they must not exceed 1")
    return rules


def _parse_item(item: str) -> FaultRule:
    if "@" in item:
        kind, _, rest = item.partition("@")
        _check_kind(kind, item)
        parts = rest.split(":")
        if len(parts) > 3:
            raise ValueError(f"fault {item!r}: expected KIND@AT[:DURATION[:PARAM]]")
        at = parse_seconds(parts[0], f"fault {item!r} start")
        duration = (
            parse_seconds(parts[1], f"fault {item!r} duration")
            if len(parts) > 1 and parts[1]
            else None
        )
        param = parse_seconds(parts[2], f"fault {item!r} parameter") if len(parts) > 2 else None
        return FaultRule(kind, at_s=at, duration_s=duration, param_s=param)
    parts = item.split(":")
    kind = parts[0]
    _check_kind(kind, item)
    if len(parts) not in (2, 3):
        raise ValueError(f"fault {item!r}: expected KIND:RATE[:PARAM] or KIND@AT[:DURATION]")
    try:
        rate = float(parts[1])
    except ValueError:
        raise ValueError(f"fault {item!r}: rate {parts[1]!r} is not a number") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"fault {item!r}: rate must be between 0 and 1")
    param = parse_seconds(parts[2], f"fault {item!r} parameter") if len(parts) == 3 else None
    return FaultRule(kind, rate=rate, param_s=param)


def _check_kind(kind: str, item: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"fault {item!r}: unknown kind {kind!r}; known: {', '.join(KINDS)}")


class FaultPlan:
    """Decides, request by request, which fault (if any) applies. Not thread-safe: one device thread."""

    def __init__(self, rules: list[FaultRule], rng: random.Random) -> None:
        self.rules = list(rules)
        self._rng = rng
        self._cycled_at_s = -1.0  # open-ended windows that started before this are over
        self._fired: set[int] = set()  # scheduled "gone" rules already carried out

    def replace(self, rules: list[FaultRule], now_s: float) -> None:
        """Swap in new rules (control socket); schedules count from ``now_s`` on."""
        self.rules = [
            FaultRule(
                r.kind, r.rate, None if r.at_s is None else r.at_s + now_s, r.duration_s, r.param_s
            )
            for r in rules
        ]
        self._fired.clear()

    def power_cycled(self, now_s: float) -> None:
        """The device was unplugged: faults that last "until power-cycled" end now."""
        self._cycled_at_s = now_s

    def _active(self, rule: FaultRule, now_s: float) -> bool:
        if rule.at_s is None or now_s < rule.at_s:
            return False
        if rule.duration_s is None:
            return rule.at_s > self._cycled_at_s
        return now_s < rule.at_s + rule.duration_s

    def due_gone(self, now_s: float) -> FaultRule | None:
        """A scheduled ``gone`` whose time has come (each fires once)."""
        for index, rule in enumerate(self.rules):
            if (
                rule.kind == "gone"
                and rule.at_s is not None
                and index not in self._fired
                and now_s >= rule.at_s
            ):
                self._fired.add(index)
                return rule
        return None

    def for_request(self, now_s: float) -> FaultRule | None:
        """The fault for a request arriving ``now_s`` after start: a window first, else a dice roll."""
        for rule in self.rules:
            if rule.kind != "gone" and self._active(rule, now_s):
                return rule
        rated = [rule for rule in self.rules if rule.rate]
        if not rated:
            return None
        roll, edge = self._rng.random(), 0.0
        for rule in rated:
            edge += rule.rate or 0.0
            if roll < edge:
                return rule
        return None


@dataclass(frozen=True, slots=True)
class Mangled:
    """The bytes to send for a faulted reply: ``head`` now, ``tail`` before the next reply."""

    head: bytes
    tail: bytes = b""
    extra_delay_s: float = 0.0


def mangle(
    kind: str | None, payload: str, request: bytes, rng: random.Random, param_s: float = 0.0,
    encode: Callable[[str], bytes] = encode_reply,
) -> Mangled:
    """What goes on the wire for ``payload`` under fault ``kind`` (None: the reply as it should be).

    ``encode`` frames a payload in the firmware's protocol (PI30 by default; PI18's for a PI18
    unit); the LF and no-CRC variants are PI30 firmware quirks and stay PI30 frames.
    """
    good = encode(payload)
    if kind in (None, "gone"):
        return Mangled(good)
    if kind == "noreply":
        return Mangled(b"")
    if kind == "slow":
        return Mangled(good, extra_delay_s=param_s)
    if kind == "nak":
        return Mangled(encode("NAK"))
    if kind == "lf":
        return Mangled(encode_reply(payload, terminator=LF))
    if kind == "nocrc":
        return Mangled(encode_reply(payload, with_crc=False))
    if kind == "echo":
        end = request.find(b"\r")
        return Mangled(request[: end + 1] if end >= 0 else request + b"\r")
    if kind == "garbage":
        junk = bytes(
            rng.choice([b for b in range(1, 256) if b not in (CR, LF, 0x28)])
            for _ in range(len(good) - 1)
        )
        return Mangled(junk + bytes((CR,)))
    if kind == "flip":
        return Mangled(_flip(good, rng))
    cut = rng.randint(1, max(1, len(good) - 2))
    if kind == "truncate":
        return Mangled(good[:cut])
    if kind == "late":
        return Mangled(good[:cut], tail=good[cut:], extra_delay_s=param_s)
    raise ValueError(f"unknown fault kind {kind!r}")


def _flip(good: bytes, rng: random.Random) -> bytes:
    """``good`` with one bit of one byte flipped, never into a terminator, and never still valid."""
    while True:
        data = bytearray(good)
        index = rng.randrange(1, len(data) - 1)  # not the "(" and not the terminator
        data[index] ^= 1 << rng.randrange(8)
        if data[index] in (CR, LF):
            continue
        try:
            decode_reply(bytes(data))
        except FrameError:
            return bytes(data)
