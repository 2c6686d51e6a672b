"""Parsing of the Prometheus text files in `prometheus/` into `SourceUpdate`s, with
`prometheus_client`'s own parser.

Three kinds of file (naming rules in docs/INTERFACES.md, "Web data path"):
- this project's daemon: `mpp-solar-<section>.prom`, one file per inverter, HELP/TYPE lines, a
  `mpp_solar_field_info` family that maps every series to its catalog key, kind and unit, and a
  final `# EOF` line; the file is the whole picture of its inverter;
- mppsolar 0.16.56's `prom_file` output: `mpp-solar-<section>-<cmd>.prom`, one file per command,
  no HELP/TYPE, strings as a `myStr` label, a `machine_role` line: mapped with
  `catalog.by_wire(name, cmd)`, flag strings made numbers;
- any other `<name>.prom` (house.prom, weather.prom): the generic source `<name>`.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from solarmon.inverter import catalog
from solarmon.web.state import COMMANDS, SOURCE, SourceUpdate, Value, inverter_source

INVERTER_FILE_PREFIX = "mpp-solar-"
UNNAMED_INVERTER = "mpp_solar"  # mppsolar's `inverter` label when its config names no section
METRIC_PREFIX = "mpp_solar_"
# Labels that identify where a value comes from rather than which value it is.
ROUTING_LABELS = frozenset({"inverter", "device", "cmd", "myStr"})
# This project's daemon states when each command was read: the time of every value of it.
READ_TIME_NAME = "reading_timestamp_seconds"
# The daemon's map of every series to its catalog entry (docs/INTERFACES.md, "Daemon files").
INFO_SAMPLE = "mpp_solar_field_info"
DAEMON_HELP_MARK = "# HELP mpp_solar_"  # upstream mppsolar writes no HELP lines
EOF_MARKER = "# EOF"
# Catalog kinds whose values are 0/1 flags; upstream mppsolar writes them as strings.
FLAG_KINDS = frozenset({"warning", "fault", "status", "setting", "default"})
FLAG_STRINGS: dict[str, int] = {"0": 0, "1": 1, "enabled": 1, "disabled": 0}
# What upstream mppsolar writes instead of the values when a reply failed its checks (a bad CRC...).
UPSTREAM_FAILURE = "validity_check"


# Units by Prometheus naming convention (base-unit suffixes), then by mppsolar field-name words.
SUFFIX_UNITS = (
    ("_watt_hours", "Wh"), ("_volt_amperes", "VA"), ("_volts", "V"), ("_amperes", "A"),
    ("_watts", "W"), ("_hertz", "Hz"), ("_celsius", "°C"), ("_percent", "%"), ("_ratio", ""),
)  # fmt: skip
WORD_UNITS = (
    ("energy", "Wh"), ("apparent_power", "VA"), ("power", "W"), ("voltage", "V"),
    ("current", "A"), ("frequency", "Hz"), ("temperature", "°C"), ("capacity", "%"),
    ("load", "%"), ("percent", "%"), ("humidity", "%"),
)  # fmt: skip
KNOWN_UNITS = frozenset({"V", "A", "W", "VA", "Hz", "%", "°C", "Wh", "kWh", "hPa", "mm", "km/h", "m/s"})


def unit_from_help(help_text: str) -> str | None:
    """Return the unit a HELP line names at its end, as "... [V]" or "... (V)", else None."""
    text = help_text.strip()
    for open_, close in (("[", "]"), ("(", ")")):
        if text.endswith(close) and open_ in text:
            unit = text[text.rindex(open_) + 1 : -1].strip()
            if unit in KNOWN_UNITS:
                return unit
    return None


def guess_unit(name: str) -> str:
    """Return the unit of a metric judged by its name ("" when nothing fits, e.g. flags)."""
    for suffix, unit in SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    if name.startswith("is_") or name.endswith(("_total", "_count", "_seconds")):
        return ""
    for word, unit in WORD_UNITS:
        if word in name:
            return unit
    return ""


class PromFileError(ValueError):
    """A .prom file that cannot be used; `kind` is the error counter's name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def source_for_filename(name: str) -> str:
    """Return the source a .prom file belongs to, judged by its name only (for error counting)."""
    stem = name[: -len(".prom")] if name.endswith(".prom") else name
    if stem.startswith(INVERTER_FILE_PREFIX):
        section = stem[len(INVERTER_FILE_PREFIX) :]
        head, _, tail = section.rpartition("-")
        # mppsolar's per-command files end in "-<cmd lower>": every PI30 query starts with "q".
        # Without a name in its config it writes "mpp-solar-<cmd>.prom" for inverter "mpp_solar".
        if tail.startswith("q") and tail.isalnum():
            section = head or UNNAMED_INVERTER
        return inverter_source(section)
    return stem


def parse_prom_text(text: str, *, filename: str, mtime: float) -> list[SourceUpdate]:
    """Parse one .prom file's text into one SourceUpdate per source it describes.

    Raises PromFileError (kind "empty", "truncated", "garbage" or "no_samples") when the file
    cannot be used; a good file never yields a partial picture of a bad one.
    """
    if not text.strip():
        raise PromFileError("empty", f"{filename} is empty")
    if not text.endswith("\n"):
        # The exposition format ends every line with a newline: a file without one was cut short
        # (written in place and read mid-write), and its last value may be a truncated number.
        raise PromFileError("truncated", f"{filename} does not end with a newline (half-written?)")
    is_inverter_file = filename.startswith(INVERTER_FILE_PREFIX)
    is_daemon_file = is_inverter_file and (INFO_SAMPLE in text or DAEMON_HELP_MARK in text)
    if is_daemon_file and not text.endswith(f"\n{EOF_MARKER}\n"):
        # A file cut at a line end parses, but its last number may be cut ("5" for "52.4"): this
        # project's daemon ends every file with the marker, so a file without it is refused.
        raise PromFileError("truncated", f"{filename} does not end with '{EOF_MARKER}' (cut short?)")
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError, IndexError, TypeError... on garbage
        raise PromFileError("garbage", f"{filename}: {type(exc).__name__}: {exc}") from exc
    if is_daemon_file:
        updates = _daemon_updates(families, filename, mtime)
    elif is_inverter_file:
        updates = _upstream_updates(families, filename, mtime)
    else:
        updates = _generic_updates(families, filename, mtime)
    if not updates:
        raise PromFileError("no_samples", f"{filename} holds no samples")
    return updates


def _strip_prefix(name: str) -> str:
    return name[len(METRIC_PREFIX) :] if name.startswith(METRIC_PREFIX) else name


def _daemon_updates(families: list[Metric], filename: str, mtime: float) -> list[SourceUpdate]:
    """This project's daemon file: every series mapped to its catalog key through the file's own
    `mpp_solar_field_info` family, every value timed by its command's reading time. The file is
    the whole picture of its source: a command absent from it was withdrawn."""
    samples = [s for family in families for s in family.samples]
    fields: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    stamps: dict[str, dict[str, float]] = collections.defaultdict(dict)
    link_errors: dict[str, dict[str, float]] = collections.defaultdict(dict)
    up: dict[str, bool] = {}
    default_source = source_for_filename(filename)
    for sample in samples:
        labels = sample.labels
        source = inverter_source(labels["inverter"]) if "inverter" in labels else default_source
        if sample.name == INFO_SAMPLE:
            fields[(source, labels.get("name", ""), labels.get("cmd", ""))] = (
                labels.get("key", ""), labels.get("kind", ""), labels.get("unit", ""))
        elif sample.name == METRIC_PREFIX + READ_TIME_NAME:
            if math.isfinite(sample.value) and sample.value > 0:
                stamps[source][labels.get("cmd", "")] = float(sample.value)
        elif sample.name == METRIC_PREFIX + "up":
            up[source] = sample.value >= 1
        elif sample.name == METRIC_PREFIX + "errors_total" and math.isfinite(sample.value):
            link_errors[source][labels.get("kind", "")] = float(sample.value)
    values: dict[str, dict[str, Value]] = collections.defaultdict(dict)
    units: dict[str, dict[str, str]] = collections.defaultdict(dict)
    kinds: dict[str, dict[str, str]] = collections.defaultdict(dict)
    commands: dict[str, dict[str, str]] = collections.defaultdict(dict)
    for sample in samples:
        labels = sample.labels
        source = inverter_source(labels["inverter"]) if "inverter" in labels else default_source
        cmd = labels.get("cmd", "")
        mapped = fields.get((source, _strip_prefix(sample.name), cmd))
        if mapped is None or not mapped[0]:
            continue  # the daemon's own health series (errors, poll time...): not values
        key, kind, unit = mapped
        if "myStr" in labels:
            value: Value = labels["myStr"]
        elif math.isfinite(sample.value):
            value = _number(sample.value)
        else:
            continue  # NaN: no reading; absent from the picture means withdrawn
        values[source][key], units[source][key], kinds[source][key] = value, unit, kind
        commands[source][key] = cmd
    sources = list(dict.fromkeys([*values, *up, *stamps]))
    return [
        SourceUpdate(
            source=src,
            ts=max(stamps[src].values(), default=mtime),
            values=values[src],
            units=units[src],
            ok=up.get(src, True),
            error=None if up.get(src, True) else "source reports down (up 0)",
            file=filename,
            kinds=kinds[src],
            commands=commands[src],
            times=dict(stamps[src]),
            scope=SOURCE,
            link_errors=link_errors[src],
        )
        for src in sources
    ]


def _upstream_value(info: catalog.FieldInfo | None, labels: Mapping[str, str], value: float) -> Value | None:
    """A sample of an upstream mppsolar file as a value: its string flags ("0"/"1", "enabled"/
    "disabled") become the numbers this project's daemon writes; None for NaN / Inf."""
    if "myStr" in labels:
        text = labels["myStr"]
        if info is not None and str(info.kind) in FLAG_KINDS and text in FLAG_STRINGS:
            return FLAG_STRINGS[text]
        return text
    return _number(value) if math.isfinite(value) else None


def _upstream_updates(families: list[Metric], filename: str, mtime: float) -> list[SourceUpdate]:
    """mppsolar 0.16.56's prom_file output (no HELP, strings as myStr, one file per command):
    series mapped with `catalog.by_wire(name, cmd)`; series the catalog does not know keep their
    name and a unit guessed from it. Each file replaces the values of the commands it holds."""
    values: dict[str, dict[str, Value]] = collections.defaultdict(dict)
    units: dict[str, dict[str, str]] = collections.defaultdict(dict)
    kinds: dict[str, dict[str, str]] = collections.defaultdict(dict)
    commands: dict[str, dict[str, str]] = collections.defaultdict(dict)
    times: dict[str, dict[str, float]] = collections.defaultdict(dict)
    default_source = source_for_filename(filename)
    for family in families:
        for sample in family.samples:
            if sample.name == "machine_role":
                continue
            labels = sample.labels
            source = inverter_source(labels["inverter"]) if "inverter" in labels else default_source
            name = _strip_prefix(sample.name)
            cmd = labels.get("cmd", "")
            stamp = sample.timestamp
            times[source][cmd] = float(stamp) if stamp is not None and math.isfinite(float(stamp)) else mtime
            if name == UPSTREAM_FAILURE:
                values[source]  # the source is still there; the command's values are withdrawn
                continue
            info = catalog.by_wire(name, cmd) if cmd else None
            value = _upstream_value(info, labels, sample.value)
            if value is None:
                continue  # NaN / Inf: no reading (the command's other values still count)
            extra = [labels[k] for k in sorted(labels) if k not in ROUTING_LABELS]
            if info is not None and not extra:
                key, unit, kind = info.key, info.unit, str(info.kind)
            else:
                key = ":".join([name, *extra])
                unit, kind = ("" if isinstance(value, str) else guess_unit(name)), ""
            values[source][key], units[source][key] = value, unit
            if kind:
                kinds[source][key] = kind
            commands[source][key] = cmd
    return [
        SourceUpdate(source=src, ts=max(times[src].values(), default=mtime), values=values[src],
                     units=units[src], file=filename, kinds=kinds[src], commands=commands[src],
                     times=dict(times[src]), scope=COMMANDS)
        for src in values
    ]


def _generic_updates(families: list[Metric], filename: str, mtime: float) -> list[SourceUpdate]:
    """Any other file (house.prom, weather.prom): names and labels kept, units from HELP or the
    name, each value merged into its source's picture."""
    values: dict[str, dict[str, Value]] = collections.defaultdict(dict)
    units: dict[str, dict[str, str]] = collections.defaultdict(dict)
    stamps: dict[str, float] = {}
    default_source = source_for_filename(filename)
    for family in families:
        help_unit = unit_from_help(family.documentation)
        for sample in family.samples:
            labels = sample.labels
            source = default_source
            extra = [labels[k] for k in sorted(labels) if k not in ROUTING_LABELS]
            key = ":".join([sample.name, *extra])
            if "myStr" not in labels and not math.isfinite(sample.value):
                continue
            value: Value = labels["myStr"] if "myStr" in labels else _number(sample.value)
            values[source][key] = value
            units[source][key] = "" if isinstance(value, str) else (help_unit or guess_unit(sample.name))
            if sample.timestamp is not None and math.isfinite(float(sample.timestamp)):
                stamps[source] = max(stamps.get(source, 0.0), float(sample.timestamp))
    return [SourceUpdate(source=src, ts=stamps.get(src, mtime), values=values[src], units=units[src],
                         file=filename) for src in values]


def _number(value: float) -> float | int:
    # Keep integral readings integral so the JSON shows 856, not 856.0.
    return int(value) if value.is_integer() and abs(value) < 2**53 else value
