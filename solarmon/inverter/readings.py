"""Decoded PI30 replies: the uniform ``Field`` list and one typed reading class per command.

Every reading carries ``fields``, a tuple of :class:`Field` in wire order, which is what the
daemon writes as Prometheus lines and the web app shows. The typed subclasses add one attribute
per field, named after the field's key plus its unit (``battery_voltage`` in volts becomes
``battery_voltage_v``), so code that wants one value does not have to search the tuple and
cannot mix up a live value with a rating (``GeneralStatus.battery_voltage_v`` is live,
``Ratings.rated_battery_voltage_v`` is the nameplate).

Attributes of fields that only some firmware sends (the MAX tail of QPIGS and QPIRI, QFLAG
letters a unit does not report) are ``None`` when absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from solarmon.inverter.frame import CrcState

Value = float | int | str | bool

# Attribute suffix per unit, so the unit is in the name (house style: ``pv_power_w``).
UNIT_SUFFIX: Mapping[str, str] = {
    "V": "_v",
    "A": "_a",
    "W": "_w",
    "VA": "_va",
    "Hz": "_hz",
    "%": "_pct",
    "°C": "_c",
    "Wh": "_wh",
    "": "",
}
# The unit's word at the end of a Prometheus metric name (`..._volts`), as the web app's /metrics
# writes it and its .prom reader recognises it: one table for both directions.
PROMETHEUS_UNIT_WORDS: Mapping[str, str] = {
    "V": "volts",
    "A": "amperes",
    "W": "watts",
    "VA": "voltamperes",
    "Hz": "hertz",
    "%": "percent",
    "°C": "celsius",
    "Wh": "watt_hours",
}


def attribute_name(key: str, unit: str) -> str:
    """The typed-reading attribute of a field: its key plus the unit suffix."""
    return key + UNIT_SUFFIX.get(unit, "")


@dataclass(frozen=True, slots=True)
class Field:
    """One decoded value: ``key`` is unique across commands, ``name`` is mppsolar's name."""

    key: str
    name: str
    value: Value
    unit: str = ""
    help: str = ""


@dataclass(frozen=True)
class Reading:
    """A decoded reply: the command asked, its fields, how its CRC checked out, the raw payload."""

    command: str
    fields: tuple[Field, ...]
    crc: CrcState
    payload: str

    @classmethod
    def build(cls, command: str, fields: tuple[Field, ...], crc: CrcState, payload: str,
              **extra: Any) -> Self:
        """Make a reading of this class, filling each typed attribute from the field it names."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {attribute_name(f.key, f.unit): f.value for f in fields}
        kwargs = {name: value for name, value in values.items() if name in names}
        kwargs.update(extra)
        return cls(command=command, fields=fields, crc=crc, payload=payload, **kwargs)

    def get(self, key: str, default: Value | None = None) -> Value | None:
        """The value of the field ``key``, or ``default`` when this reading has no such field."""
        for field in self.fields:
            if field.key == key:
                return field.value
        return default

    def as_dict(self) -> dict[str, Value]:
        """``{key: value}`` in wire order (JSON-able)."""
        return {f.key: f.value for f in self.fields}

    def units(self) -> dict[str, str]:
        """``{key: unit}`` for the fields that have a unit."""
        return {f.key: f.unit for f in self.fields if f.unit}


@dataclass(frozen=True)
class GeneralStatus(Reading):
    """QPIGS: live measurements. 17-field firmware leaves the tail ``None``."""

    ac_input_voltage_v: float
    ac_input_frequency_hz: float
    ac_output_voltage_v: float
    ac_output_frequency_hz: float
    ac_output_apparent_power_va: int
    ac_output_active_power_w: int
    ac_output_load_pct: int
    bus_voltage_v: int
    battery_voltage_v: float
    battery_charging_current_a: int
    battery_capacity_pct: int
    inverter_heat_sink_temperature_c: int
    pv_input_current_for_battery_a: float
    pv_input_voltage_v: float
    battery_voltage_from_scc_v: float
    battery_discharge_current_a: int
    is_sbu_priority_version_added: bool
    is_configuration_changed: bool
    is_scc_firmware_updated: bool
    is_load_on: bool
    is_battery_voltage_to_steady_while_charging: bool
    is_charging_on: bool
    is_scc_charging_on: bool
    is_ac_charging_on: bool
    battery_voltage_offset_for_fans_on: int | None = None
    eeprom_version: int | None = None
    pv_input_power_w: int | None = None
    is_charging_to_float: bool | None = None
    is_switched_on: bool | None = None
    is_reserved_b8: bool | None = None
    feed_to_grid_status: str | None = None
    country_code: str | None = None
    feed_to_grid_power_w: int | None = None


@dataclass(frozen=True)
class GeneralStatus2(Reading):
    """QPIGS2: the second PV tracker of MAX units."""

    pv2_input_current_a: float
    pv2_input_voltage_v: float
    pv2_charging_power_w: int


@dataclass(frozen=True)
class Ratings(Reading):
    """QPIRI: nameplate ratings (``rated_...``) and the current settings."""

    rated_ac_input_voltage_v: float
    rated_ac_input_current_a: float
    rated_ac_output_voltage_v: float
    rated_ac_output_frequency_hz: float
    rated_ac_output_current_a: float
    rated_ac_output_apparent_power_va: int
    rated_ac_output_active_power_w: int
    rated_battery_voltage_v: float
    battery_recharge_voltage_v: float
    battery_under_voltage_v: float
    battery_bulk_charge_voltage_v: float
    battery_float_charge_voltage_v: float
    battery_type: str
    max_ac_charging_current_a: int
    max_charging_current_a: int
    input_voltage_range: str
    output_source_priority: str
    charger_source_priority: str
    machine_type: str
    topology: str
    output_mode: str
    battery_redischarge_voltage_v: float
    pv_ok_condition: str
    pv_power_balance: str
    max_parallel_units: int | None = None  # None when the unit reports "-"
    max_charging_time_for_cv_stage_min: int | None = None
    operation_logic: str | None = None
    max_discharging_current_a: int | None = None

    @property
    def battery_class_v(self) -> int:
        """The battery voltage class (12, 24 or 48) that setting ranges depend on."""
        return int(round(self.rated_battery_voltage_v))


@dataclass(frozen=True)
class DefaultSettings(Reading):
    """QDI: the factory defaults that PF restores."""

    default_ac_output_voltage_v: float
    default_ac_output_frequency_hz: float
    default_max_ac_charging_current_a: int
    default_battery_under_voltage_v: float
    default_battery_float_charge_voltage_v: float
    default_battery_bulk_charge_voltage_v: float
    default_battery_recharge_voltage_v: float
    default_max_charging_current_a: int
    default_input_voltage_range: str
    default_output_source_priority: str
    default_charger_source_priority: str
    default_battery_type: str
    default_buzzer: bool
    default_power_saving: bool
    default_overload_restart: bool
    default_over_temperature_restart: bool
    default_lcd_backlight: bool
    default_primary_source_interrupt_alarm: bool
    default_record_fault_code: bool
    default_overload_bypass: bool
    default_lcd_reset_to_default: bool
    default_output_mode: str
    default_battery_redischarge_voltage_v: float
    default_pv_ok_condition: str
    default_pv_power_balance: str
    default_max_charging_time_for_cv_stage_min: int | None = None
    default_max_discharging_current_a: int | None = None


@dataclass(frozen=True)
class DeviceMode(Reading):
    """QMOD: the operating mode, by name ("Battery") and by letter ("B")."""

    device_mode: str
    code: str = ""


@dataclass(frozen=True)
class Warnings(Reading):
    """QPIWS: every bit as a named boolean (in ``fields``), split into faults and warnings.

    a9 over-temperature, a10 fan locked, a11 battery voltage high and a16 overload are faults
    when a1 (inverter fault) is set and warnings otherwise; ``faults`` and ``warnings`` hold the
    keys of the active bits classified that way.
    """

    faults: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    bits: str = ""

    def is_active(self, key: str) -> bool:
        """True when the warning/fault bit ``key`` is set."""
        return bool(self.get(key, False))


@dataclass(frozen=True)
class Flags(Reading):
    """QFLAG: enabled (True) / disabled (False); ``None`` when the unit does not report a letter."""

    buzzer: bool | None = None
    overload_bypass: bool | None = None
    power_saving: bool | None = None
    lcd_reset_to_default: bool | None = None
    overload_restart: bool | None = None
    over_temperature_restart: bool | None = None
    lcd_backlight: bool | None = None
    primary_source_interrupt_alarm: bool | None = None
    record_fault_code: bool | None = None
    data_log_popup: bool | None = None
    solar_feed_to_grid: bool | None = None


@dataclass(frozen=True)
class TextReading(Reading):
    """QPI, QID, QVFW, QVFW2 and unknown commands: one text value (``text``)."""

    text: str = ""


@dataclass(frozen=True)
class CurrentOptions(Reading):
    """QMCHGCR / QMUCHGCR: the currents (A) the unit accepts for MCHGC / MUCHGC."""

    options_a: tuple[int, ...] = ()


@dataclass(frozen=True)
class Bootstrap(Reading):
    """QBOOT: whether the DSP has a bootstrap loader."""

    dsp_has_bootstrap: bool = False


@dataclass(frozen=True)
class OutputMode(Reading):
    """QOPM: the output mode (single, parallel, phase n of a three- or split-phase system)."""

    output_mode: str = ""


@dataclass(frozen=True)
class Energy(Reading):
    """QET/QEY/QEM/QED (PV) and QLT/QLY/QLM/QLD (load): an energy counter in Wh.

    ``period`` is the date part of the command ("" total, "2024", "202403", "20240315").
    """

    energy_wh: int = 0
    source: str = ""
    period: str = ""


@dataclass(frozen=True)
class Ack(Reading):
    """A setter's reply: ``accepted`` is True for ACK (a NAK raises CommandRefused instead)."""

    accepted: bool = True
