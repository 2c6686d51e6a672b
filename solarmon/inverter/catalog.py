"""The field catalog: one entry per value the codec decodes (and per derived value), read by every layer.

Each :class:`FieldInfo` gives a field's key (the codec's ``Field.key``, the one name used from the
daemon's control socket to ``/api/data`` and the pages), mppsolar's name (used only in the
``.prom`` series names), its command, unit, :class:`Kind`, a label and precision for people, and
the Home Assistant device/state class. The entries are built from :mod:`solarmon.inverter.tables`
(the decoding tables), so the field list is written once; this module adds only what the tables do
not say: the kind of each command's fields and which QPIRI fields are settings (those a setting
command changes, from :mod:`solarmon.inverter.setting_rules`).

Two rules live here and nowhere else: :func:`classify_alarms` (which QPIWS bits are faults now)
and :func:`derive` (total PV power, signed battery power, grid import, load).

Keys made at decode time from a position (``qpiri_extra_28``, ``warning_bit_33``, ``flag_c``)
are not listed in :data:`CATALOG`; :func:`info` and :func:`by_wire` describe them from their
pattern.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from solarmon.inverter import parallel, setting_rules, tables
from solarmon.inverter import tables_pi18 as pi18_tables
from solarmon.inverter import tables_system as system_tables
from solarmon.inverter.readings import Field
from solarmon.inverter.shapes import base_command
from solarmon.inverter.tables import Bit, FieldSpec


class Kind(StrEnum):
    """What a value is; the values are the strings used in files and on the API."""

    MEASUREMENT = "measurement"  # live value (QPIGS, QPIGS2)
    RATING = "rating"  # nameplate (QPIRI rated_*, QMCHGCR choices...)
    SETTING = "setting"  # a current setting (QPIRI settings, QFLAG enables)
    DEFAULT = "default"  # factory default (QDI)
    WARNING = "warning"  # QPIWS warning bit
    FAULT = "fault"  # QPIWS fault bit (see fault_when_a1)
    STATUS = "status"  # QPIGS status bits (is_*)
    ENUM = "enum"  # a code with a name (mode, machine type...) -> text value
    TEXT = "text"  # free text (serial number, firmware)
    ENERGY = "energy"  # energy counters (Wh)
    DERIVED = "derived"  # computed once on ingest by the web app (see derive())


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """Everything a layer needs to know about one field, besides its value."""

    key: str
    name: str
    command: str
    unit: str
    kind: Kind
    label: str  # for people: "Battery voltage"
    precision: int  # decimals to show
    ha_device_class: str | None
    ha_state_class: str | None
    help: str = ""
    choices: Mapping[int | str, str] | None = None
    fault_when_a1: bool = False  # QPIWS a9/a10/a11/a16: a fault only while inverter_fault (a1) is set


# --- how the tables' entries become FieldInfo ------------------------------------------------

# Home Assistant's device class per unit (HA accepts these together with state_class measurement).
_HA_CLASS_BY_UNIT: Mapping[str, str] = MappingProxyType({
    "W": "power", "VA": "apparent_power", "V": "voltage", "A": "current", "Hz": "frequency",
    "°C": "temperature", "Wh": "energy",
})
_HA_CLASS_BY_KEY: Mapping[str, str] = MappingProxyType({"battery_capacity": "battery",
                                                        "system_battery_capacity": "battery"})
# Decimals to show; a float field of another unit shows one decimal, an integer field none.
_PRECISION_BY_KEY: Mapping[str, int] = MappingProxyType({
    "battery_voltage": 2, "battery_voltage_from_scc": 2, "system_battery_voltage": 2,
})
# Words whose capitals a label keeps.
_ACRONYMS: Mapping[str, str] = MappingProxyType({
    w: w.upper() for w in ("ac", "pv", "pv2", "scc", "sbu", "lcd", "eeprom", "cv", "mppt", "opv",
                           "dsp", "cpu", "id", "dc", "l1", "l2", "l3")
})
# QPIRI fields that a setting command changes (the rest of QPIRI is the nameplate).
SETTING_KEYS = frozenset(setting_rules.CURRENT_KEYS.values())
_COMMAND_KIND: Mapping[str, Kind] = MappingProxyType({
    "QPIGS": Kind.MEASUREMENT, "QPIGS2": Kind.MEASUREMENT, "QPIRI": Kind.RATING, "QDI": Kind.DEFAULT,
    "QPGS": Kind.MEASUREMENT, system_tables.COMMAND: Kind.MEASUREMENT,
    "GS": Kind.MEASUREMENT, "PIRI": Kind.RATING, "FLAG": Kind.SETTING,
})
# QPGS keys that are a unit's limit rather than a live value.
_QPGS_RATINGS = frozenset({"max_charging_current_range"})
# Keys two commands share because they report the same value: (mppsolar name, other command).
_ALSO_FROM: Mapping[tuple[str, str], str] = MappingProxyType({
    ("output_mode", "QOPM"): "output_mode",
    ("serial_number", "QSID"): "serial_number",
})


def label_of(key: str) -> str:
    """A label for people from a key: ``pv_input_power`` -> "PV input power".

    A status bit loses its ``is_`` ("Load on"); a unit kept in the key shows as one
    (``..._stage_min`` -> "... stage (min)").
    """
    words = [_ACRONYMS.get(word, word) for word in key.removeprefix("is_").split("_") if word]
    if not words:
        return key
    unit = f" ({words.pop()})" if len(words) > 1 and words[-1] == "min" else ""
    first = words[0]
    words[0] = first if first.isupper() else first.capitalize()
    return " ".join(words) + unit


def _ha_classes(key: str, unit: str, kind: Kind, choices: object,
                numeric: bool) -> tuple[str | None, str | None]:
    if kind in (Kind.WARNING, Kind.FAULT):
        return "problem", None
    if choices:
        return "enum", None
    if kind is Kind.ENERGY:
        return "energy", "total_increasing"
    if not numeric or (kind in (Kind.TEXT, Kind.STATUS, Kind.SETTING, Kind.DEFAULT) and not unit):
        return None, None
    return _HA_CLASS_BY_KEY.get(key, _HA_CLASS_BY_UNIT.get(unit)), "measurement"


def _entry(key: str, name: str, command: str, kind: Kind, *, unit: str = "", help_text: str = "",
           choices: Mapping[int, str] | Mapping[str, str] | None = None, is_float: bool = False,
           fault_when_a1: bool = False, numeric: bool = True) -> FieldInfo:
    precision = _PRECISION_BY_KEY.get(key, 1 if is_float else 0)
    device_class, state_class = _ha_classes(key, unit, kind, choices, numeric)
    return FieldInfo(key=key, name=name, command=command, unit=unit, kind=kind, label=label_of(key),
                     precision=precision, ha_device_class=device_class, ha_state_class=state_class,
                     help=help_text, choices=choices,  # type: ignore[arg-type]
                     fault_when_a1=fault_when_a1)


def _spec_kind(command: str, spec: FieldSpec) -> Kind:
    if command == "QDI":
        return Kind.DEFAULT
    if command in ("QPIRI", "QPGS") and spec.key in SETTING_KEYS:
        return Kind.SETTING
    if command == "PIRI" and spec.key in pi18_tables.SETTING_KEYS:
        return Kind.SETTING
    if command == "FLAG":
        return Kind.SETTING
    if command == "QPGS" and spec.key in _QPGS_RATINGS:
        return Kind.RATING
    if spec.kind == "text":
        return Kind.TEXT
    if spec.choices is not None:
        return Kind.ENUM
    return _COMMAND_KIND[command]


def _from_specs(command: str, specs: Iterable[FieldSpec]) -> Iterator[FieldInfo]:
    for spec in specs:
        if spec.kind == "flags":
            for bit in spec.bits:
                yield _entry(bit.key, bit.name, command, Kind.STATUS, help_text=bit.help)
            continue
        yield _entry(spec.key, spec.name, command, _spec_kind(command, spec), unit=spec.unit,
                     help_text=spec.help, choices=spec.choices, is_float=spec.kind in ("float", "tenths"))


def _warning_entry(bit: Bit) -> FieldInfo:
    conditional = bit.key in tables.CONDITIONAL_FAULT_BITS
    kind = Kind.FAULT if bit.key in tables.FAULT_BITS or conditional else Kind.WARNING
    return _entry(bit.key, bit.name, "QPIWS", kind, help_text=bit.help, fault_when_a1=conditional)


def _entries() -> Iterator[FieldInfo]:
    yield from _from_specs("QPIGS", tables.QPIGS)
    yield from _from_specs("QPIGS2", tables.QPIGS2)
    yield from _from_specs("QPIRI", tables.QPIRI)
    yield from _from_specs("QDI", tables.QDI)
    yield _entry("device_mode", "device_mode", "QMOD", Kind.ENUM, help_text="operating mode",
                 choices=tables.DEVICE_MODES)
    yield from (_warning_entry(bit) for bit in tables.WARNING_BITS)
    yield _entry("faults_active", "faults_active", "QPIWS", Kind.MEASUREMENT,
                 help_text="number of active faults")
    yield _entry("warnings_active", "warnings_active", "QPIWS", Kind.MEASUREMENT,
                 help_text="number of active warnings")
    for bit in tables.FLAG_LETTERS.values():
        yield _entry(bit.key, bit.name, "QFLAG", Kind.SETTING, help_text=bit.help or "True when enabled")
    for command, (key, name, help_text) in tables.TEXT_COMMANDS.items():
        if (name, command) not in _ALSO_FROM:
            yield _entry(key, name, command, Kind.TEXT, help_text=help_text)
    yield _entry("response", "response", "", Kind.TEXT,
                 help_text="the reply of a command without a table, as sent")
    for command, (key, name, setter) in tables.CURRENT_LISTS.items():
        yield _entry(key, name, command, Kind.RATING, unit="A", numeric=False,
                     help_text=f"allowed values of {setter}, space-separated")
    yield _entry("dsp_has_bootstrap", "dsp_has_bootstrap", "QBOOT", Kind.RATING,
                 help_text="the DSP has a bootstrap loader", numeric=False)
    yield _entry("accepted", "command_execution", "", Kind.STATUS,
                 help_text="the inverter accepted the setting command (ACK)")
    for command, (source, _digits, key, name) in tables.ENERGY.items():
        yield _entry(key, name, command, Kind.ENERGY, unit=tables.ENERGY_UNIT, help_text=f"{source} energy")
    for key, help_text in _DERIVED_HELP.items():
        yield _entry(key, key, "", Kind.DERIVED, unit="W", help_text=help_text)


def _shared_specs(command: str, specs: Iterable[FieldSpec]) -> Iterator[tuple[str, str]]:
    """(key, wire name) of every field of ``specs``, bits included."""
    for spec in specs:
        if spec.kind == "flags":
            yield from ((bit.key, bit.name) for bit in spec.bits)
        else:
            yield spec.key, spec.name


def _join(command: str, specs: tuple[FieldSpec, ...], catalog: dict[str, FieldInfo],
          aliases: dict[tuple[str, str], str]) -> None:
    """Add ``command``'s fields: a key already listed keeps its entry and gains a wire alias
    (QPGS's ``grid_voltage`` is QPIGS's ``ac_input_voltage``); a new key gets its own entry."""
    own = {entry.key: entry for entry in _from_specs(command, specs)}
    for key, name in _shared_specs(command, specs):
        if key in catalog:
            aliases[(name, command)] = key
        else:
            catalog[key] = own[key]

DERIVED_KEYS = ("pv_power_total", "battery_power", "grid_power", "load_power")
_DERIVED_HELP: Mapping[str, str] = MappingProxyType({
    "pv_power_total": "PV power of every tracker (pv_input_power + pv2_charging_power; without "
                      "pv_input_power: PV current into the battery x SCC battery voltage)",
    "battery_power": "battery power, + charging, - discharging "
                     "(battery_voltage x (charging - discharge current))",
    "grid_power": "grid import estimated from the power balance (load + battery - PV, at least 0; "
                  "0 without grid)",
    "load_power": "AC output active power (the load)",
})


def _build_catalog() -> tuple[Mapping[str, FieldInfo], Mapping[tuple[str, str], str]]:
    catalog: dict[str, FieldInfo] = {}
    for entry in _entries():
        if entry.key in catalog:
            raise ValueError(f"catalog key {entry.key!r} twice")
        catalog[entry.key] = entry
    aliases = dict(_ALSO_FROM)
    _join(parallel.COMMAND, parallel.QPGS, catalog, aliases)
    _join(system_tables.COMMAND, system_tables.SYSTEM, catalog, aliases)
    _join_pi18(catalog, aliases)
    return MappingProxyType(catalog), MappingProxyType(aliases)


def _join_pi18(catalog: dict[str, FieldInfo], aliases: dict[tuple[str, str], str]) -> None:
    """PI18's fields (tables_pi18.py): shared keys gain a wire alias, new keys an entry."""
    for command, specs in (("GS", pi18_tables.GS), ("PIRI", pi18_tables.PIRI), ("FLAG", pi18_tables.FLAG)):
        _join(command, specs, catalog, aliases)
    for bit in pi18_tables.FWS_WARNINGS:
        if bit.key in catalog:
            aliases[(bit.name, "FWS")] = bit.key
        else:
            catalog[bit.key] = _entry(bit.key, bit.name, "FWS", Kind.WARNING, help_text=bit.help)
    vfw = pi18_tables.VFW_NAMES
    for key, name in vfw:
        if key not in catalog:
            catalog[key] = _entry(key, name, "VFW", Kind.TEXT, help_text="CPU firmware version")
    shared = {
        ("fault_code", "FWS"): "fault_code", ("inverter_fault", "FWS"): "inverter_fault",
        ("faults_active", "FWS"): "faults_active", ("warnings_active", "FWS"): "warnings_active",
        ("working_mode", "MOD"): "device_mode", ("protocol_version", "PI"): "protocol_id",
        ("serial_number", "ID"): "serial_number",
        **{(name, "VFW"): key for key, name in vfw[:2]},
        **{(name, command): key for command, (_digits, key, name) in pi18_tables.ENERGY.items()},
        **{(name, command): key for command, (key, name, _setter) in pi18_tables.CURRENT_LISTS.items()},
    }
    aliases.update(shared)


CATALOG, _ALIASES = _build_catalog()
_BY_WIRE: Mapping[tuple[str, str], FieldInfo] = MappingProxyType({
    **{(entry.name, entry.command): entry for entry in CATALOG.values()},
    **{wire: CATALOG[key] for wire, key in _ALIASES.items()},
})

# --- keys made from a position -----------------------------------------------------------------

_EXTRA = re.compile(r"([a-z][a-z0-9]*)_extra_(\d+)")
_WARNING_BIT = re.compile(r"warning_bit_(\d+)")
_FLAG = re.compile(r"flag_([a-z])")
_UNKNOWN_FLAG = re.compile(r"unknown_([a-z])")


def _positional(key: str) -> FieldInfo | None:
    if match := _EXTRA.fullmatch(key):
        command, position = match.group(1).upper(), match.group(2)
        kind = _COMMAND_KIND.get(command, Kind.MEASUREMENT)
        return _entry(key, key, command, kind, help_text=f"field {position}, undocumented for {command}",
                      is_float=True)
    if match := _WARNING_BIT.fullmatch(key):
        return _entry(key, key, "QPIWS", Kind.WARNING, help_text=f"a{match.group(1)}: model-specific")
    if match := _FLAG.fullmatch(key):
        letter = match.group(1)
        return _entry(key, f"unknown_{letter}", "QFLAG", Kind.SETTING, help_text=f"QFLAG letter {letter}")
    return None


def info(key: str) -> FieldInfo | None:
    """The catalog entry of ``key`` (also for positional keys such as ``qpiri_extra_28``), or None."""
    entry = CATALOG.get(key)
    return entry if entry is not None else _positional(key)


def of_field(field: Field, command: str) -> FieldInfo:
    """The entry of a decoded field; for a key the catalog lacks, one made from the field itself.

    Every key the codec makes is in the catalog (tests/inverter/test_catalog.py); the fallback
    keeps a daemon that meets a new firmware's field writing instead of failing.
    """
    entry = info(field.key)
    if entry is not None:
        return entry
    kind = Kind.TEXT if isinstance(field.value, str) else Kind.MEASUREMENT
    return _entry(field.key, field.name, base_command(command), kind, unit=field.unit, help_text=field.help,
                  is_float=isinstance(field.value, float))


def by_wire(name: str, command: str) -> FieldInfo | None:
    """The entry of mppsolar's series ``name`` (without ``mpp_solar_``) from ``command``, or None.

    ``command`` may carry a date (``QED20240315``); a command without a table answers ``response``.
    """
    base = base_command(command.upper())
    entry = _BY_WIRE.get((name, base))
    if entry is not None:
        return entry
    if name == "response":  # a command without a table
        return CATALOG["response"]
    if name == "command_execution" and not base.startswith("Q"):  # a setter's ACK
        return CATALOG["accepted"]
    if (match := _UNKNOWN_FLAG.fullmatch(name)) and base == "QFLAG":
        return _positional(f"flag_{match.group(1)}")
    positional = _positional(name)
    if positional is not None and positional.command == base and not name.startswith("flag_"):
        return positional
    return None


# --- the one fault rule ------------------------------------------------------------------------

def is_set(value: object) -> bool:
    """True for a flag that is set: True, a non-zero number, or the text "1"/"true" (upstream files)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not math.isnan(value) and value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on")
    return False


def classify_alarms(values: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """(fault keys, warning keys) of the QPIWS bits set in ``values``, in bit order.

    The one fault rule (PI30.md §3): a bit of kind FAULT is a fault; a bit with ``fault_when_a1``
    (a9, a10, a11, a16) is a fault while ``inverter_fault`` (a1) is set and a warning otherwise;
    every other set bit, reserved and model-specific ones included, is a warning.
    """
    inverter_fault = is_set(values.get("inverter_fault"))
    faults: list[str] = []
    warnings: list[str] = []
    for key, value in values.items():
        entry = info(key)
        if entry is None or entry.kind not in (Kind.FAULT, Kind.WARNING) or not is_set(value):
            continue
        if entry.kind is Kind.FAULT and (inverter_fault or not entry.fault_when_a1):
            faults.append(key)
        else:
            warnings.append(key)
    faults.sort(key=_bit_position)
    warnings.sort(key=_bit_position)
    return faults, warnings


_BIT_POSITION: Mapping[str, int] = MappingProxyType({bit.key: a for a, bit in enumerate(tables.WARNING_BITS)})


def _bit_position(key: str) -> int:
    """a<N> of a QPIWS bit key, so alarms list in the order the inverter sends them."""
    match = _WARNING_BIT.fullmatch(key)
    return int(match.group(1)) if match else _BIT_POSITION.get(key, 0)


# --- derived values ----------------------------------------------------------------------------

NO_GRID_BELOW_V = 90.0  # AC input under this: no grid, so no grid import
BATTERY_MODES = frozenset({"Battery", "B"})  # QMOD names/letters meaning "running from the battery"


def _number(values: Mapping[str, object], key: str) -> float | None:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _product(values: Mapping[str, object], first: str, second: str) -> float | None:
    a, b = _number(values, first), _number(values, second)
    return None if a is None or b is None else a * b


def _pv_power(values: Mapping[str, object]) -> float | None:
    first = _number(values, "pv_input_power")
    if first is None:
        first = _product(values, "pv_input_current_for_battery", "battery_voltage_from_scc")
    if first is None:  # a QPGSn unit: panel-side volts x amps
        first = _product(values, "pv_input_voltage", "pv_input_current")
    second = _number(values, "pv2_charging_power")
    if second is None:
        second = _product(values, "pv2_input_voltage", "pv2_input_current")
    if first is None and second is None:
        return None
    return max(0.0, (first or 0.0) + (second or 0.0))


def derive(values: Mapping[str, object]) -> dict[str, float]:
    """The derived values (:data:`DERIVED_KEYS`, watts) that ``values`` (catalog keys) allow.

    - ``pv_power_total``: ``pv_input_power`` + ``pv2_charging_power`` (each tracker present);
      without ``pv_input_power``, ``pv_input_current_for_battery`` x ``battery_voltage_from_scc``
      stands for the first tracker, and without that (a QPGSn unit) ``pv_input_voltage`` x
      ``pv_input_current``; without ``pv2_charging_power``, ``pv2_input_voltage`` x
      ``pv2_input_current``; at least 0.
    - ``battery_power``: ``battery_voltage`` x (``battery_charging_current`` -
      ``battery_discharge_current``), + charging, - discharging (a missing current counts 0).
    - ``load_power``: ``ac_output_active_power``, at least 0.
    - ``grid_power``: grid import from the balance PV + grid = load + battery, i.e. load +
      battery - PV, at least 0; 0 when there is no grid (AC input under 90 V or QMOD battery
      mode); needs the load and the AC input voltage. Conversion losses are not modelled, so the
      estimate errs low by the inverter's own draw.

    Only keys whose inputs are present (finite numbers) are returned.
    """
    out: dict[str, float] = {}
    pv = _pv_power(values)
    if pv is not None:
        out["pv_power_total"] = pv
    volts = _number(values, "battery_voltage")
    charge = _number(values, "battery_charging_current")
    discharge = _number(values, "battery_discharge_current")
    battery: float | None = None
    if volts is not None and (charge is not None or discharge is not None):
        battery = volts * ((charge or 0.0) - (discharge or 0.0))
        out["battery_power"] = battery
    load = _number(values, "ac_output_active_power")
    if load is not None:
        out["load_power"] = max(0.0, load)
        ac_in = _number(values, "ac_input_voltage")
        if (ac_in is not None and ac_in < NO_GRID_BELOW_V) or values.get("device_mode") in BATTERY_MODES:
            out["grid_power"] = 0.0
        elif ac_in is not None:
            out["grid_power"] = max(0.0, max(0.0, load) + (battery or 0.0) - (pv or 0.0))
    return out
