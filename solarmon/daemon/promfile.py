"""Prometheus text files: rendered from decoded readings (written by solarmon.atomicfile).

Names and labels follow mppsolar's ``prom_file`` output (PI30.md §6) so existing dashboards keep
working: ``mpp_solar_<Field.name>{inverter, device, cmd}``, strings as a ``myStr`` label with value 1,
and ``machine_role{role="mpp_solar"} 1``. Unlike mppsolar, every family has ``# HELP`` and
``# TYPE`` and appears once: where QPIRI's rating and QPIGS's live value share a name (e.g.
``battery_voltage``), they are two samples of one family told apart by ``cmd``. Field.key is not
added as a label to the value series (it would change every series' identity for existing users);
instead ``mpp_solar_field_info{cmd, name, key, kind, unit} 1`` says, once per value written, which
catalog entry (:mod:`solarmon.inverter.catalog`) each (name, cmd) series is, so a reader maps every
series back without guessing. HELP texts and units come from the catalog. Flags (QPIWS, QFLAG,
status bits) are numbers 0/1, not upstream's ``myStr="0"/"1"``. The file ends with ``# EOF``: a
reader that finds a daemon file (one with ``mpp_solar_field_info``) without it knows it was cut.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from solarmon.inverter import catalog

PREFIX = "mpp_solar_"
FIELD_INFO = PREFIX + "field_info"
END_MARKER = "# EOF"
# Counters exist from the first file on (a counter that appears late loses its first increase).
BASE_ERROR_KINDS = ("timeout", "device_gone", "busy", "nak", "decode", "truncated", "echo", "garbage", "crc")
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_]")


@dataclass(frozen=True, slots=True)
class HealthSample:
    """What the health tracker reports for one device at write time."""

    up: bool
    last_success_wall: float  # Unix time of the last valid reply, 0 when never
    poll_duration_s: float
    consecutive_failures: int
    errors: Mapping[str, int]
    discarded: Mapping[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TimedReading:
    """A decoded reading and the Unix time it was read."""

    reading: Any  # solarmon.inverter.readings.Reading (command, fields)
    wall_time: float


def metric_name(field_name: str) -> str:
    """mppsolar's name mangling (lower case, space and / to _, - removed), then anything else invalid to _."""
    name = field_name.replace(" ", "_").replace("/", "_").replace("-", "").lower()
    return PREFIX + _INVALID_NAME_CHARS.sub("_", name)


def escape_label(value: str) -> str:
    """Escape a label value per the text exposition format."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float | int | bool) -> str:
    """A sample value: booleans as 1/0, integers exactly, floats in their shortest repr."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _Families:
    """Families in first-seen order, each with one HELP, one TYPE and its unique samples."""

    def __init__(self) -> None:
        self.meta: dict[str, tuple[str, str]] = {}
        self.samples: dict[str, dict[str, str]] = {}

    def add(self, name: str, kind: str, help_text: str, labels: str, value: str) -> None:
        """Add one sample; the family's HELP/TYPE are those of its first sample."""
        if name not in self.meta:
            self.meta[name] = (kind, help_text)
            self.samples[name] = {}
        # A repeated (name, labels) would make the file invalid; the first one wins.
        self.samples[name].setdefault(labels, value)

    def render(self) -> str:
        """The exposition text, family by family, then the end marker."""
        lines: list[str] = []
        for name, (kind, help_text) in self.meta.items():
            lines.append(f"# HELP {name} {_escape_help(help_text)}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{{{labels}}} {value}" for labels, value in self.samples[name].items())
        lines.append(END_MARKER)
        return "\n".join(lines) + "\n"


def _field_help(entry: catalog.FieldInfo) -> str:
    help_text = (entry.help or entry.label).strip()
    unit = entry.unit
    return f"{help_text} ({unit})" if unit and f"({unit})" not in help_text else help_text


Describe = Callable[[Any, str], catalog.FieldInfo]  # (Field, command) -> its catalog entry


@dataclass(frozen=True, slots=True)
class UnitBlock:
    """One unit of a parallel / three-phase system, written as its own device (``inverter`` label)."""

    inverter: str
    readings: tuple[TimedReading, ...]
    up: bool
    dropouts: int


_OWN = frozenset({"up", "last_success_timestamp_seconds", "poll_duration_seconds", "errors_total",
                  "consecutive_failures", "reading_timestamp_seconds", "discarded_frames_total",
                  "unit_dropouts_total"})


def _add_values(families: _Families, base: str, timed: Iterable[TimedReading],
                written: list[tuple[str, str, catalog.FieldInfo]], describe: Describe) -> None:
    for item in timed:
        command = item.reading.command
        labels = f'{base},cmd="{escape_label(command)}"'
        for field in item.reading.fields:
            name = metric_name(field.name)
            if name[len(PREFIX):] in _OWN or name == FIELD_INFO:
                continue  # a codec field must never shadow the daemon's own families
            value = field.value
            entry = describe(field, command)
            if isinstance(value, str):
                string_labels = f'{labels},myStr="{escape_label(value)}"'
                families.add(name, "gauge", _field_help(entry), string_labels, "1")
            elif value is not None:
                families.add(name, "gauge", _field_help(entry), labels, format_value(value))
            else:
                continue
            written.append((labels, name, entry))


def _add_times(families: _Families, base: str, timed: Iterable[TimedReading]) -> None:
    for item in timed:
        cmd_labels = f'{base},cmd="{escape_label(item.reading.command)}"'
        families.add(PREFIX + "reading_timestamp_seconds", "gauge",
                     "Unix time the values of this command were read.", cmd_labels,
                     format_value(float(item.wall_time)))


def render(inverter: str, device: str, readings: Iterable[TimedReading], health: HealthSample,
           units: Iterable[UnitBlock] = (), *, describe: Describe = catalog.of_field,
           error_kinds: Iterable[str] = BASE_ERROR_KINDS) -> str:
    """The whole file for one device: mppsolar-compatible values, then the daemon's own metrics.

    ``describe`` finds each field's catalog entry (a BMS passes its own catalog's,
    :func:`solarmon.bms.catalog.of_field`); ``error_kinds`` are the counters written from the start.

    ``units``: the units of a parallel / three-phase section, each written as its own device (its
    ``inverter`` label) with its own ``up``, value series, field info, reading times and dropouts.
    """
    base = f'inverter="{escape_label(inverter)}",device="{escape_label(device)}"'
    families = _Families()
    families.add("machine_role", "gauge", "Role of the machine that wrote this file (mppsolar compatible).",
                 'role="mpp_solar"', "1")
    timed = list(readings)
    blocks = list(units)
    written: list[tuple[str, str, catalog.FieldInfo]] = []  # (cmd labels, series name, entry)
    _add_values(families, base, timed, written, describe)
    unit_bases = [f'inverter="{escape_label(b.inverter)}",device="{escape_label(device)}"' for b in blocks]
    for block, unit_base in zip(blocks, unit_bases, strict=True):
        _add_values(families, unit_base, block.readings, written, describe)
    for labels, name, entry in written:
        info_labels = (f'{labels},name="{escape_label(name[len(PREFIX):])}",key="{escape_label(entry.key)}",'
                       f'kind="{escape_label(entry.kind.value)}",unit="{escape_label(entry.unit)}"')
        families.add(FIELD_INFO, "gauge",
                     "1 per value in this file: its series name (without mpp_solar_), cmd, catalog key, "
                     "kind and unit.", info_labels, "1")
    up_help = "1 when the device answered validly in its last poll cycle."
    families.add(PREFIX + "up", "gauge", up_help, base, format_value(health.up))
    for block, unit_base in zip(blocks, unit_bases, strict=True):
        families.add(PREFIX + "up", "gauge", up_help, unit_base, format_value(block.up))
    families.add(PREFIX + "last_success_timestamp_seconds", "gauge",
                 "Unix time of the last valid reply from the device (0: never).", base,
                 format_value(float(health.last_success_wall)))
    families.add(PREFIX + "poll_duration_seconds", "gauge", "Duration of the last poll cycle.", base,
                 format_value(float(health.poll_duration_s)))
    families.add(PREFIX + "consecutive_failures", "gauge", "Poll cycles failed in a row.", base,
                 format_value(health.consecutive_failures))
    errors = dict.fromkeys(error_kinds, 0) | dict(health.errors)
    for kind in sorted(errors):
        families.add(PREFIX + "errors_total", "counter", "Failed exchanges with the device, by kind.",
                     f'{base},kind="{escape_label(kind)}"', format_value(errors[kind]))
    for kind in sorted(health.discarded):
        families.add(PREFIX + "discarded_frames_total", "counter",
                     "Frames the transport threw away (corrupt, stale or not ours), by kind.",
                     f'{base},kind="{escape_label(kind)}"', format_value(health.discarded[kind]))
    for block, unit_base in zip(blocks, unit_bases, strict=True):
        families.add(PREFIX + "unit_dropouts_total", "counter",
                     "Poll cycles in which this unit of a parallel system did not answer its QPGSn.",
                     unit_base, format_value(block.dropouts))
    _add_times(families, base, timed)
    for block, unit_base in zip(blocks, unit_bases, strict=True):
        _add_times(families, unit_base, block.readings)
    return families.render()
