"""Reader of the Prometheus text files in `prometheus/`: watches the folder, parses what changed
with `prometheus_client`'s own parser and hands each reading to the live state and the history.

Two inverter formats are accepted, so a user running upstream mppsolar still gets a dashboard:
- this project's daemon: `mpp-solar-<section>.prom`, one file per inverter, HELP/TYPE lines,
  `mpp_solar_up`;
- mppsolar 0.16.56's `prom_file` output: `mpp-solar-<section>-<cmd>.prom`, one file per command,
  no HELP/TYPE, strings as a `myStr` label, a `machine_role` line.
Devices are keyed by the `inverter` label. Any other `<name>.prom` (house.prom, weather.prom) is
the generic source `<name>`. Naming rules are in docs/INTERFACES.md, "Web data path".
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from solarmon.inverter.readings import PROMETHEUS_UNIT_WORDS
from solarmon.web.state import LiveState, SourceUpdate, Value, inverter_source

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.25
MAX_FILE_BYTES = 1_048_576
INVERTER_FILE_PREFIX = "mpp-solar-"
UNNAMED_INVERTER = "mpp_solar"  # mppsolar's `inverter` label when its config names no section
METRIC_PREFIX = "mpp_solar_"
# Labels that identify where a value comes from rather than which value it is.
ROUTING_LABELS = frozenset({"inverter", "device", "cmd", "myStr"})
# This project's daemon states when each command was read: the newest one is the reading's time.
READ_TIME_NAME = "reading_timestamp_seconds"
# mppsolar reuses live field names for ratings (QPIRI's battery_voltage is the rated one): the
# `cmd` label tells them apart, and the rating gets a prefix so it never overwrites the live value.
RATING_PREFIX_BY_CMD = {"QPIRI": "rated_", "QDI": "default_"}
LIVE_FIELD_NAMES = frozenset(
    {
        "ac_input_voltage", "ac_input_frequency", "ac_input_current", "ac_output_voltage",
        "ac_output_frequency", "ac_output_current", "ac_output_apparent_power",
        "ac_output_active_power", "battery_voltage",
    }
)  # fmt: skip


# Units by Prometheus naming convention (base-unit suffixes), then by mppsolar field-name words.
# The words are /metrics' own (one table: solarmon/inverter/readings.py), plus the spelling of
# Prometheus' naming guide for apparent power and the unitless ratio.
SUFFIX_UNITS = (
    ("_volt_amperes", "VA"), ("_ratio", ""),  # before "_amperes"
    *((f"_{word}", unit) for unit, word in PROMETHEUS_UNIT_WORDS.items()),
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


@dataclass(frozen=True)
class _FileKey:
    mtime_ns: int
    size: int
    inode: int


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
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError, IndexError, TypeError... on garbage
        raise PromFileError("garbage", f"{filename}: {type(exc).__name__}: {exc}") from exc

    is_inverter_file = filename.startswith(INVERTER_FILE_PREFIX)
    default_source = source_for_filename(filename)
    values: dict[str, dict[str, Value]] = collections.defaultdict(dict)
    units: dict[str, dict[str, str]] = collections.defaultdict(dict)
    stamps: dict[str, float] = {}
    up: dict[str, bool] = {}
    for family in families:
        help_unit = unit_from_help(family.documentation)
        # mppsolar's own files have no HELP, so their units are judged by name; this project's
        # daemon writes "(unit)" into every HELP that has one, so a flag such as
        # battery_voltage_too_high_fault is not taken for volts.
        trust_help = is_inverter_file and bool(family.documentation.strip())
        for sample in family.samples:
            if sample.name == "machine_role":
                continue
            labels = sample.labels
            source = inverter_source(labels["inverter"]) if "inverter" in labels else default_source
            name = sample.name
            if is_inverter_file and name.startswith(METRIC_PREFIX):
                name = name[len(METRIC_PREFIX) :]
            if name == "up":
                up[source] = sample.value >= 1
                continue
            if name == READ_TIME_NAME and is_inverter_file:
                if math.isfinite(sample.value) and sample.value > 0:
                    stamps[source] = max(stamps.get(source, 0.0), float(sample.value))
                continue
            prefix = RATING_PREFIX_BY_CMD.get(labels.get("cmd", ""), "")
            if prefix and name in LIVE_FIELD_NAMES:
                name = prefix + name
            extra = [labels[k] for k in sorted(labels) if k not in ROUTING_LABELS]
            key = ":".join([name, *extra])
            if "myStr" not in labels and not math.isfinite(sample.value):
                continue  # NaN / Inf mean "no reading"; JSON could not carry them to a browser
            value: Value = labels["myStr"] if "myStr" in labels else _number(sample.value)
            values[source][key] = value
            if isinstance(value, str) or (help_unit is None and trust_help):
                units[source][key] = ""  # our daemon names every unit in HELP: none means unitless
            else:
                units[source][key] = help_unit or guess_unit(name)
            if sample.timestamp is not None and math.isfinite(float(sample.timestamp)):
                stamps[source] = max(stamps.get(source, 0.0), float(sample.timestamp))
    sources = list(dict.fromkeys([*values, *up]))
    if not sources:
        raise PromFileError("no_samples", f"{filename} holds no samples")
    return [
        SourceUpdate(
            source=src,
            ts=stamps.get(src, mtime),
            values=values.get(src, {}),
            units=units.get(src, {}),
            ok=up.get(src, True),
            error=None if up.get(src, True) else "source reports down (up 0)",
            file=filename,
        )
        for src in sources
    ]


def _number(value: float) -> float | int:
    # Keep integral readings integral so the JSON shows 856, not 856.0.
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


class PromReader:
    """Watches a folder of .prom files and delivers each changed file's readings.

    Built cold: `start()` starts the polling thread, `stop()` ends it. `scan()` can also be called
    from any thread (e.g. /api/refresh); scans are serialised by a lock.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        live: LiveState,
        *,
        sinks: Iterable[Callable[[SourceUpdate], None]] = (),
        poll_interval_s: float = POLL_INTERVAL_S,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self._live = live
        self._sinks = list(sinks)
        self._poll_interval_s = poll_interval_s
        self._max_file_bytes = max_file_bytes
        self._seen: dict[str, _FileKey] = {}
        self._errors: collections.Counter[str] = collections.Counter()
        self._scan_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reads = 0
        self._ignored: set[str] = set()

    def ignore_files(self, *names: str) -> None:
        """Never read these file names (house.prom / weather.prom when MQTT feeds the state directly)."""
        with self._scan_lock:
            self._ignored.update(names)

    def start(self) -> None:
        """Start the polling thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prom-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the polling thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def errors(self) -> dict[str, int]:
        """Return the count of ignored files per error kind."""
        with self._scan_lock:
            return dict(self._errors)

    @property
    def running(self) -> bool:
        """True while the polling thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def reads(self) -> int:
        """How many files were read and parsed (for tests of "no re-read when unchanged")."""
        return self._reads

    def scan(self, *, force: bool = False) -> int:
        """Read every new or changed file now (all of them with `force`); return how many."""
        with self._scan_lock:
            try:
                entries = [e for e in os.scandir(self.directory)
                           if e.name.endswith(".prom") and e.name not in self._ignored]
            except OSError as exc:
                self._count_error("folder", str(self.directory), f"cannot list: {exc}")
                return 0
            present = set()
            count = 0
            for entry in sorted(entries, key=lambda e: e.name):
                present.add(entry.name)
                try:
                    st = entry.stat()
                except OSError:
                    continue  # removed between listing and stat: nothing to read
                key = _FileKey(st.st_mtime_ns, st.st_size, st.st_ino)
                if not force and self._seen.get(entry.name) == key:
                    continue
                self._seen[entry.name] = key
                count += 1
                self._read_file(Path(entry.path), st.st_size, st.st_mtime)
            for gone in set(self._seen) - present:
                del self._seen[gone]
            return count

    def refresh(self) -> int:
        """Re-read every file now, changed or not (GET /api/refresh); return how many."""
        return self.scan(force=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # the reader must outlive any surprise; it is counted and logged
                log.exception("prom reader scan failed")
                self._errors["internal"] += 1
            self._stop.wait(self._poll_interval_s)

    def _read_file(self, path: Path, size: int, mtime: float) -> None:
        self._reads += 1
        source = source_for_filename(path.name)
        if size > self._max_file_bytes:
            self._count_error("too_large", source, f"{path.name}: {size} bytes > {self._max_file_bytes}")
            return
        try:
            with path.open("rb") as fh:
                raw = fh.read(self._max_file_bytes + 1)
        except OSError as exc:
            self._count_error("unreadable", source, f"{path.name}: {exc}")
            return
        if len(raw) > self._max_file_bytes:  # grew after the stat
            self._count_error("too_large", source, f"{path.name}: over {self._max_file_bytes} bytes")
            return
        if len(raw) != size:
            # Rewritten in place while we read it: forget it, so the next poll reads it again
            # even if the writer's final version ends up with the same size and mtime tick.
            self._seen.pop(path.name, None)
            self._errors["changing"] += 1
            return
        try:
            text = raw.decode("utf-8")
            updates = parse_prom_text(text, filename=path.name, mtime=mtime)
        except UnicodeDecodeError as exc:
            self._count_error("garbage", source, f"{path.name}: not UTF-8 ({exc.reason})")
            return
        except PromFileError as exc:
            self._count_error(exc.kind, source, str(exc))
            return
        for update in updates:
            self._live.apply(update)
            for sink in self._sinks:
                try:
                    sink(update)
                except Exception:  # a failing sink (history) must not stop the live view
                    log.exception("sink failed for %s", update.source)
                    self._errors["sink"] += 1

    def _count_error(self, kind: str, source: str, message: str) -> None:
        self._errors[kind] += 1
        log.warning("ignored .prom file (%s): %s", kind, message)
        self._live.record_error(source, kind, message)

