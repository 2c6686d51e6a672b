"""The BMS field catalog: one :class:`~solarmon.inverter.catalog.FieldInfo` per value a BMS codec makes.

The sibling of :mod:`solarmon.inverter.catalog`, with the same entry type and the same
:class:`~solarmon.inverter.catalog.Kind` vocabulary, so the daemon's ``.prom`` writer, the web
reader and the pages treat a BMS field exactly like an inverter field. Keys are shared by every
BMS protocol (``pack_voltage`` is the pack voltage whether a JK or a Daly said it); ``name`` equals
the key (mppsolar's BMS names differ per protocol, so there is no upstream name to keep), and
``command`` is ``"BMS"``: which frame a value came from is the ``cmd`` label of its ``.prom``
series, not part of what the value is.

Per-cell, per-sensor and per-cell-balancing keys are numbered (``cell_voltage_07``,
``temperature_2``, ``cell_balancing_07``); :data:`CATALOG` lists them up to :data:`MAX_CELLS`
and :data:`MAX_SENSORS`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from solarmon.inverter.catalog import FieldInfo, Kind, is_set, label_of
from solarmon.inverter.readings import Field

COMMAND = "BMS"
MAX_CELLS = 48  # Daly's 0x97 has bits for 48 cells; JK boards have up to 32
MAX_SENSORS = 16

_HA_BY_UNIT: Mapping[str, str] = MappingProxyType({
    "V": "voltage", "A": "current", "W": "power", "°C": "temperature", "%": "battery",
})
_PRECISION_BY_UNIT: Mapping[str, int] = MappingProxyType({"V": 3, "A": 2, "W": 0, "°C": 1, "%": 1, "Ah": 2})


def _entry(key: str, kind: Kind, unit: str = "", help_text: str = "", *, label: str | None = None,
           precision: int | None = None, choices: Mapping[int, str] | None = None) -> FieldInfo:
    if kind in (Kind.WARNING, Kind.FAULT):
        device_class, state_class = "problem", None
    elif kind is Kind.MEASUREMENT:
        device_class, state_class = _HA_BY_UNIT.get(unit), "measurement"
    else:
        device_class, state_class = ("enum", None) if choices else (None, None)
    return FieldInfo(key=key, name=key, command=COMMAND, unit=unit, kind=kind,
                     label=label or label_of(key),
                     precision=_PRECISION_BY_UNIT.get(unit, 0) if precision is None else precision,
                     ha_device_class=device_class, ha_state_class=state_class, help=help_text,
                     choices=choices)


# Alarm bits: key -> (kind, help). JK 0x8B, Daly 0x98 and JBD/jk232 protection bits, each by name.
JK_ALARMS: tuple[tuple[str, Kind, str], ...] = (
    ("low_capacity", Kind.WARNING, "JK 0x8B bit 0: low capacity"),
    ("mosfet_overtemperature", Kind.FAULT, "JK 0x8B bit 1: MOSFET over-temperature"),
    ("charge_overvoltage", Kind.FAULT, "JK 0x8B bit 2: charge over-voltage"),
    ("discharge_undervoltage", Kind.FAULT, "JK 0x8B bit 3: discharge under-voltage"),
    ("battery_overtemperature", Kind.FAULT, "JK 0x8B bit 4: battery over-temperature"),
    ("charge_overcurrent", Kind.FAULT, "JK 0x8B bit 5: charge over-current"),
    ("discharge_overcurrent", Kind.FAULT, "JK 0x8B bit 6: discharge over-current"),
    ("cell_voltage_difference", Kind.FAULT, "JK 0x8B bit 7: cell voltage difference"),
    ("box_overtemperature", Kind.FAULT, "JK 0x8B bit 8: battery-box over-temperature"),
    ("battery_low_temperature", Kind.FAULT, "JK 0x8B bit 9: battery low temperature"),
    ("cell_overvoltage", Kind.FAULT, "JK 0x8B bit 10 / JBD bit 0: cell over-voltage"),
    ("cell_undervoltage", Kind.FAULT, "JK 0x8B bit 11 / JBD bit 1: cell under-voltage"),
    ("protection_309_a", Kind.FAULT, "JK 0x8B bit 12: 309_A protection"),
    ("protection_309_b", Kind.FAULT, "JK 0x8B bit 13: 309_B protection"),
)
JBD_ALARMS: tuple[tuple[str, Kind, str], ...] = (
    ("cell_overvoltage", Kind.FAULT, ""),
    ("cell_undervoltage", Kind.FAULT, ""),
    ("pack_overvoltage", Kind.FAULT, "jk232 protection bit 2: pack over-voltage"),
    ("pack_undervoltage", Kind.FAULT, "jk232 protection bit 3: pack under-voltage"),
    ("charge_overtemperature", Kind.FAULT, "jk232 protection bit 4: charge over-temperature"),
    ("charge_undertemperature", Kind.FAULT, "jk232 protection bit 5: charge under-temperature"),
    ("discharge_overtemperature", Kind.FAULT, "jk232 protection bit 6: discharge over-temperature"),
    ("discharge_undertemperature", Kind.FAULT, "jk232 protection bit 7: discharge under-temperature"),
    ("charge_overcurrent", Kind.FAULT, ""),
    ("discharge_overcurrent", Kind.FAULT, ""),
    ("short_circuit", Kind.FAULT, "jk232 protection bit 10 / Daly 0x98 byte 6 bit 2: short circuit"),
    ("frontend_ic_error", Kind.FAULT, "jk232 protection bit 11: front-end IC error"),
    ("mosfet_software_lock", Kind.FAULT, "jk232 protection bit 12: MOSFET software lock"),
)
# Daly 0x98: 7 bytes of 8 bits; None = unused. "_l1" bits are the BMS's alarm, "_l2" its protection.
_DALY_PAIRS = (
    "cell_voltage_high", "cell_voltage_low", "pack_voltage_high", "pack_voltage_low",
    "charge_temperature_high", "charge_temperature_low", "discharge_temperature_high",
    "discharge_temperature_low", "charge_overcurrent", "discharge_overcurrent", "soc_high", "soc_low",
    "cell_voltage_difference", "temperature_difference",
)
DALY_BITS: tuple[str | None, ...] = (
    *(f"daly_{name}_{level}" for name in _DALY_PAIRS for level in ("l1", "l2")),
    None, None, None, None,
    "charge_mosfet_overtemperature", "discharge_mosfet_overtemperature", "charge_mosfet_sensor_error",
    "discharge_mosfet_sensor_error", "charge_mosfet_stuck", "discharge_mosfet_stuck",
    "charge_mosfet_open", "discharge_mosfet_open",
    "afe_error", "cell_voltage_sensing_lost", "temperature_sensor_error", "eeprom_error", "rtc_error",
    "precharge_failed", "communication_failure", "internal_communication_failure",
    "current_module_fault", "pack_voltage_sensing_fault", "short_circuit", "low_voltage_charge_forbidden",
    None, None, None, None,
)


def _daly_alarms() -> Iterator[FieldInfo]:
    for position, key in enumerate(DALY_BITS):
        if key is None or key == "short_circuit":
            continue
        kind = Kind.WARNING if key.endswith("_l1") else Kind.FAULT
        words = key.removeprefix("daly_").removesuffix("_l1").removesuffix("_l2").replace("_", " ")
        level = " (alarm)" if key.endswith("_l1") else " (protection)" if key.endswith("_l2") else ""
        yield _entry(key, kind, help_text=f"Daly 0x98 byte {position // 8} bit {position % 8}",
                     label=words.capitalize().replace("Soc", "SoC") + level)


_MEASUREMENTS: tuple[tuple[str, str, str], ...] = (
    ("pack_voltage", "V", "pack voltage"),
    ("pack_current", "A", "pack current, + charging, - discharging"),
    ("pack_power", "W", "pack power, + charging, - discharging (voltage x current)"),
    ("soc", "%", "state of charge, from the BMS's coulomb counter"),
    ("remaining_capacity", "Ah", "charge left in the pack (JK: SoC x capacity)"),
    ("full_capacity", "Ah", "capacity of the full pack (JK 0xB9, else 0xAA; Daly does not report it)"),
    ("total_cycle_capacity", "Ah", "charge moved over the pack's life"),
    ("cycle_count", "", "charge/discharge cycles"),
    ("cell_count", "", "cells in series"),
    ("cell_voltage_min", "V", "lowest cell voltage"),
    ("cell_voltage_max", "V", "highest cell voltage"),
    ("cell_voltage_delta", "V", "highest minus lowest cell voltage"),
    ("cell_voltage_average", "V", "average cell voltage"),
    ("cell_min_index", "", "number of the lowest cell (1-based)"),
    ("cell_max_index", "", "number of the highest cell (1-based)"),
    ("balance_current", "A", "balancing current (jk485 balancers only)"),
    ("mos_temperature", "°C", "MOSFET (power stage) temperature"),
    ("temperature_max", "°C", "highest temperature sensor"),
    ("temperature_min", "°C", "lowest temperature sensor"),
    ("temperature_sensor_count", "", "temperature sensors"),
    ("protections_active", "", "number of protections (faults) active now; the BMS acts on them"),
    ("alarms_active", "", "number of alarms (warnings) active now"),
    ("alarm_code", "", "a vendor alarm byte without a documented bit table (jk485, Daly fault code)"),
)
_STATUS: tuple[tuple[str, str], ...] = (
    ("charge_mosfet", "charge MOSFET on"),
    ("discharge_mosfet", "discharge MOSFET on"),
    ("balancer_active", "the balancer is balancing now (JK 0x8C bit 2, Daly/jk232: any cell balancing)"),
    ("charger_connected", "a charger is connected (Daly)"),
    ("load_connected", "a load is connected (Daly)"),
)
_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("balancer_enabled", "", "the balancer is switched on"),
    ("charge_enabled", "", "charging allowed (JK 0xAB)"),
    ("discharge_enabled", "", "discharging allowed (JK 0xAC)"),
    ("capacity_setting", "Ah", "battery capacity setting"),
    ("cell_overvoltage_protection", "V", "cell over-voltage protection"),
    ("cell_undervoltage_protection", "V", "cell under-voltage protection"),
    ("cell_delta_protection", "V", "cell voltage difference protection"),
    ("balance_start_voltage", "V", "balancing starts above this cell voltage"),
    ("balance_trigger_delta", "V", "balancing starts above this cell voltage difference"),
)
CHARGE_STATES: Mapping[int, str] = MappingProxyType({0: "Idle", 1: "Charging", 2: "Discharging"})
_TEXT: tuple[tuple[str, str], ...] = (
    ("device_id", "device ID"), ("software_version", "software version"),
    ("manufacturer", "manufacturer ID"), ("protocol_version", "JK protocol version (0xC0)"),
)


def _entries() -> Iterator[FieldInfo]:
    for key, unit, help_text in _MEASUREMENTS:
        yield _entry(key, Kind.MEASUREMENT, unit, help_text,
                     label="SoC" if key == "soc" else None)
    for n in range(1, MAX_CELLS + 1):
        yield _entry(f"cell_voltage_{n:02d}", Kind.MEASUREMENT, "V", f"cell {n} voltage", label=f"Cell {n}")
    for n in range(1, MAX_CELLS + 1):
        yield _entry(f"cell_balancing_{n:02d}", Kind.STATUS, help_text=f"cell {n} is being balanced",
                     label=f"Cell {n} balancing")
    for n in range(1, MAX_SENSORS + 1):
        yield _entry(f"temperature_{n}", Kind.MEASUREMENT, "°C", f"temperature sensor {n}",
                     label=f"Temperature {n}")
    for key, help_text in _STATUS:
        yield _entry(key, Kind.STATUS, help_text=help_text)
    yield _entry("charge_state", Kind.ENUM, help_text="Daly 0x93 state", choices=CHARGE_STATES)
    for key, unit, help_text in _SETTINGS:
        yield _entry(key, Kind.SETTING, unit, help_text)
    for key, help_text in _TEXT:
        yield _entry(key, Kind.TEXT, help_text=help_text)
    seen: set[str] = set()
    for key, kind, help_text in (*JK_ALARMS, *JBD_ALARMS):
        if key not in seen:
            seen.add(key)
            yield _entry(key, kind, help_text=help_text)
    yield from _daly_alarms()


def _build() -> Mapping[str, FieldInfo]:
    catalog: dict[str, FieldInfo] = {}
    for entry in _entries():
        if entry.key in catalog:
            raise ValueError(f"BMS catalog key {entry.key!r} twice")
        catalog[entry.key] = entry
    return MappingProxyType(catalog)


CATALOG: Mapping[str, FieldInfo] = _build()
ALARM_KINDS = (Kind.WARNING, Kind.FAULT)


def info(key: str) -> FieldInfo | None:
    """The catalog entry of a BMS field key, or None."""
    return CATALOG.get(key)


def classify_alarms(values: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """(fault keys, warning keys) of the BMS alarm bits set in ``values``, in catalog order.

    A fault is a protection the BMS acts on (a MOSFET switched off); a warning is its alarm
    before that (JK low capacity, Daly level 1).
    """
    faults: list[str] = []
    warnings: list[str] = []
    for key, entry in CATALOG.items():
        if entry.kind in ALARM_KINDS and is_set(values.get(key)):
            (faults if entry.kind is Kind.FAULT else warnings).append(key)
    return faults, warnings


def of_field(field: Field, command: str) -> FieldInfo:
    """The entry of a decoded BMS field (the ``.prom`` writer's lookup); unknown keys are an error.

    Every key a BMS codec makes is in :data:`CATALOG` (:func:`solarmon.bms.readings.make_fields`
    refuses any other), so a miss here is a bug, not a new firmware.
    """
    entry = CATALOG.get(field.key)
    if entry is None:
        raise KeyError(f"BMS field {field.key!r} ({command}) is not in the BMS catalog")
    return entry
