"""The allowed values of each PI30 setting command (PI30.md §4), as data.

Voltage settings depend on the battery voltage class (12, 24 or 48 V, from QPIRI's rated battery
voltage). PI30.md gives PBCV and PBDV for every class and PSDV, PCVV and PBFT for 48 V units; the
12 V and 24 V ranges of those three are the 48 V range scaled by class/48, the ratio the vendor's
other ranges follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from solarmon.inverter import tables

BATTERY_CLASSES_V = (12, 24, 48)


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed code of a choice setting, with the name QPIRI reports."""

    code: int
    label: str


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A setting whose value is one of a few two-digit codes (``POP02``)."""

    prefix: str
    label: str
    current_key: str
    choices: tuple[Choice, ...]
    digits: int = 2


@dataclass(frozen=True, slots=True)
class VoltageRange:
    """``low``..``high`` in ``step`` volts, plus ``specials`` (e.g. 0.0 = "battery full")."""

    low: float | None
    high: float | None
    step: float
    specials: tuple[float, ...] = ()

    def allows(self, volts: float) -> bool:
        """True when ``volts`` is a special value or on the range's grid."""
        if any(abs(volts - special) < 1e-6 for special in self.specials):
            return True
        if self.low is None or self.high is None:
            return False
        if not self.low - 1e-6 <= volts <= self.high + 1e-6:
            return False
        steps = (volts - self.low) / self.step
        return abs(steps - round(steps)) < 1e-6

    def values(self) -> tuple[float, ...]:
        """Every allowed value, ascending (specials included)."""
        grid: list[float] = []
        if self.low is not None and self.high is not None:
            count = int(round((self.high - self.low) / self.step))
            grid = [round(self.low + i * self.step, 1) for i in range(count + 1)]
        return tuple(sorted({*self.specials, *grid}))

    def describe(self) -> str:
        """Human text for error messages: "44.0-51.0 V in steps of 1.0" or a list."""
        values = self.values()
        if len(values) <= 12:
            return ", ".join(f"{v:.1f}" for v in values) + " V"
        text = f"{self.low:.1f}-{self.high:.1f} V in steps of {self.step:g}"
        if self.specials:
            text += " or " + ", ".join(f"{v:.1f}" for v in self.specials)
        return text


@dataclass(frozen=True, slots=True)
class VoltageRule:
    """A battery voltage setting (``PBCV48.0``): its range per battery class."""

    prefix: str
    label: str
    current_key: str
    ranges: Mapping[int, VoltageRange]


def _scaled(low: float, high: float, step: float,
            specials: tuple[float, ...] = ()) -> Mapping[int, VoltageRange]:
    return MappingProxyType({
        cls: VoltageRange(round(low * cls / 48, 1), round(high * cls / 48, 1), step, specials)
        for cls in BATTERY_CLASSES_V
    })


def _from_names(names: Mapping[int, str], codes: tuple[int, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(code, names[code]) for code in codes)


CHOICE_RULES: Mapping[str, ChoiceRule] = MappingProxyType({
    "POP": ChoiceRule("POP", "Output source priority", "output_source_priority", _from_names(
        tables.OUTPUT_SOURCE_PRIORITIES, (0, 1, 2))),
    "PCP": ChoiceRule("PCP", "Charger source priority", "charger_source_priority", _from_names(
        tables.CHARGER_SOURCE_PRIORITIES, (0, 1, 2, 3))),
    "PGR": ChoiceRule("PGR", "Grid working range", "input_voltage_range", _from_names(
        tables.INPUT_VOLTAGE_RANGES, (0, 1))),
    "PBT": ChoiceRule("PBT", "Battery type", "battery_type", _from_names(
        tables.BATTERY_TYPES, (0, 1, 2))),
})
# Battery types beyond 00-02 that PI30MAX firmware documents (PI30.md §3, QPIRI field 13).
MAX_BATTERY_TYPES = (3, 5, 6, 8, 9)

VOLTAGE_RULES: Mapping[str, VoltageRule] = MappingProxyType({
    "PBCV": VoltageRule("PBCV", "Battery re-charge voltage", "battery_recharge_voltage", MappingProxyType({
        48: VoltageRange(44.0, 51.0, 1.0),
        24: VoltageRange(22.0, 25.5, 0.5),
        12: VoltageRange(None, None, 0.1, (11.0, 11.3, 11.5, 11.8, 12.0, 12.3, 12.5, 12.8)),
    })),
    "PBDV": VoltageRule("PBDV", "Battery re-discharge voltage (0 = battery full)",
                        "battery_redischarge_voltage", MappingProxyType({
        48: VoltageRange(48.0, 58.0, 1.0, (0.0,)),
        24: VoltageRange(24.0, 29.0, 0.5, (0.0,)),
        12: VoltageRange(None, None, 0.1, (0.0, 12.0, 12.3, 12.5, 12.8, 13.0, 13.3, 13.5, 13.8, 14.0,
                                           14.3, 14.5)),
    })),
    "PSDV": VoltageRule("PSDV", "Battery cut-off voltage", "battery_under_voltage", _scaled(40.0, 48.0, 0.1)),
    "PCVV": VoltageRule("PCVV", "Battery bulk (C.V.) charging voltage", "battery_bulk_charge_voltage",
                        _scaled(48.0, 58.4, 0.1)),
    "PBFT": VoltageRule("PBFT", "Battery float charging voltage", "battery_float_charge_voltage",
                        _scaled(48.0, 58.4, 0.1)),
})

OUTPUT_FREQUENCIES_HZ = (50, 60)
# Setting prefix -> (query that lists the allowed currents, QPIRI key of the current value, label)
CURRENT_RULES: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "MCHGC": ("QMCHGCR", "max_charging_current", "Max charging current (PV + grid)"),
    "MUCHGC": ("QMUCHGCR", "max_ac_charging_current", "Max utility charging current"),
})
# Setting prefix -> the QPIRI field (key) holding the value it changes (PE/PD: QFLAG's letters).
CURRENT_KEYS: Mapping[str, str] = MappingProxyType({
    **{prefix: rule.current_key for prefix, rule in CHOICE_RULES.items()},
    **{prefix: rule.current_key for prefix, rule in VOLTAGE_RULES.items()},
    **{prefix: key for prefix, (_query, key, _label) in CURRENT_RULES.items()},
    "F": "rated_ac_output_frequency",
})
