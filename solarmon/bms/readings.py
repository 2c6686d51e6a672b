"""A decoded BMS answer, and the summaries every protocol shares (cell statistics, alarm counts).

A :class:`BmsReading` carries the same :class:`~solarmon.inverter.readings.Field` tuple as an
inverter reading, so the daemon writes it with the same ``.prom`` code; units and help come from
the BMS catalog (:mod:`solarmon.bms.catalog`), never from the codec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from solarmon.bms import catalog
from solarmon.inverter.readings import Field, Value


@dataclass(frozen=True)
class BmsReading:
    """One decoded answer: the command (the ``cmd`` label), its fields in order, the frames' bytes."""

    command: str
    fields: tuple[Field, ...]
    raw: bytes = b""

    def get(self, key: str, default: Value | None = None) -> Value | None:
        """The value of the field ``key``, or ``default``."""
        for field in self.fields:
            if field.key == key:
                return field.value
        return default

    def as_dict(self) -> dict[str, Value]:
        """``{key: value}`` (JSON-able)."""
        return {f.key: f.value for f in self.fields}


def make_fields(values: Mapping[str, Value]) -> tuple[Field, ...]:
    """Fields of ``values`` (catalog keys), with the catalog's unit and help; an unknown key is an error."""
    fields = []
    for key, value in values.items():
        entry = catalog.info(key)
        if entry is None:
            raise KeyError(f"BMS field {key!r} is not in solarmon.bms.catalog")
        fields.append(Field(key=key, name=entry.name, value=value, unit=entry.unit, help=entry.help))
    return tuple(fields)


def reading(command: str, values: Mapping[str, Value], raw: bytes = b"") -> BmsReading:
    """A :class:`BmsReading` of ``values`` (catalog keys)."""
    return BmsReading(command=command, fields=make_fields(values), raw=raw)


def cell_values(volts: Sequence[float]) -> dict[str, Value]:
    """Each cell's voltage plus min/max/delta/average and the 1-based numbers of the extreme cells."""
    values: dict[str, Value] = {f"cell_voltage_{n:02d}": round(v, 3) for n, v in enumerate(volts, start=1)}
    if not volts:
        return values
    low = min(volts)
    high = max(volts)
    values.update({
        "cell_count": len(volts),
        "cell_voltage_min": round(low, 3),
        "cell_voltage_max": round(high, 3),
        "cell_voltage_delta": round(high - low, 3),
        "cell_voltage_average": round(sum(volts) / len(volts), 4),
        "cell_min_index": volts.index(low) + 1,
        "cell_max_index": volts.index(high) + 1,
    })
    return values


def bit_values(word: int, keys: Iterable[str | None]) -> dict[str, Value]:
    """``{key: bool}`` for bit n of ``word`` per ``keys[n]`` (None = an unused bit)."""
    return {key: bool(word >> n & 1) for n, key in enumerate(keys) if key is not None}


def alarm_counts(values: Mapping[str, Value]) -> dict[str, Value]:
    """``protections_active`` (faults) and ``alarms_active`` (warnings) of the alarm bits in ``values``."""
    faults, warnings = catalog.classify_alarms(values)
    return {"protections_active": len(faults), "alarms_active": len(warnings)}


def temperature_values(temps: Sequence[float]) -> dict[str, Value]:
    """Each sensor's temperature plus the count, highest and lowest."""
    values: dict[str, Value] = {f"temperature_{n}": t for n, t in enumerate(temps, start=1)}
    values["temperature_sensor_count"] = len(temps)
    if temps:
        values["temperature_max"] = max(temps)
        values["temperature_min"] = min(temps)
    return values
