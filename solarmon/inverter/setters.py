"""Setting commands: validation of raw strings, and a description for the UI.

:func:`validate_setting` turns a raw string typed by a user ("PBCV48") into the canonical wire
command ("PBCV48.0") or raises :class:`SettingRejected` with a message that names the setting, the
value and what is allowed; it is how the daemon's control socket (and so the web app's command box
and MQTT) checks what they send.

Battery voltage ranges depend on the battery class of the unit, read from QPIRI (``ratings``:
a :class:`~solarmon.inverter.readings.Ratings` or its ``as_dict()``); without it a voltage
setting is rejected rather than guessed, because a 48 V value sent to a 24 V unit over-charges the
battery. MCHGC / MUCHGC take only a value the unit listed in QMCHGCR / QMUCHGCR (``currents``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from solarmon.inverter import unit_settings
from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.policy import FLAG_LETTERS, CommandClass, classify
from solarmon.inverter.readings import CurrentOptions, Reading
from solarmon.inverter.setting_rules import (
    BATTERY_CLASSES_V,
    CHOICE_RULES,
    CURRENT_KEYS,
    CURRENT_RULES,
    MAX_BATTERY_TYPES,
    OUTPUT_FREQUENCIES_HZ,
    VOLTAGE_RULES,
    ChoiceRule,
)
from solarmon.inverter.tables import BATTERY_TYPES
from solarmon.inverter.tables import FLAG_LETTERS as FLAG_BITS

Ratings = Reading | Mapping[str, Any]
Currents = Mapping[str, Iterable[int]] | Iterable[CurrentOptions]

_SETTING = re.compile(r"(POP|PPCP|PCP|PGR|PBT|PBCV|PBDV|PSDV|PCVV|PBFT|MUCHGC|MNCHGC|MCHGC|F|PE|PD|PF)(.*)",
                      re.IGNORECASE)


def _rating(ratings: Ratings | None, key: str) -> Any:
    # A Ratings reading and its as_dict() both answer get(key).
    return None if ratings is None else ratings.get(key)


def battery_class(ratings: Ratings | None) -> int | None:
    """The battery voltage class (12, 24, 48) from QPIRI's rated battery voltage, or None."""
    rated = _rating(ratings, "rated_battery_voltage")
    if not isinstance(rated, int | float):
        return None
    nearest = min(BATTERY_CLASSES_V, key=lambda cls: abs(cls - rated))
    return nearest if abs(nearest - rated) <= 2 else None


def _is_max_unit(ratings: Ratings | None) -> bool:
    return _rating(ratings, "operation_logic") is not None




def _choice(rule: ChoiceRule, code: int, extra_codes: Iterable[int] = ()) -> str:
    names = {c.code: c.label for c in rule.choices}
    if rule.prefix == "PBT":
        names.update({extra: BATTERY_TYPES[extra] for extra in extra_codes})
    if isinstance(code, bool) or code not in names:
        options = ", ".join(f"{c:02d} {label}" for c, label in sorted(names.items()))
        raise SettingRejected(f"{rule.label} ({rule.prefix}): {code!r} is not one of {options}")
    return f"{rule.prefix}{code:0{rule.digits}d}"


def battery_type(code: int, ratings: Ratings | None = None) -> str:
    """PBTnn: 00 AGM, 01 Flooded, 02 User; on MAX units (28-field QPIRI) also the lithium types."""
    extra = MAX_BATTERY_TYPES if _is_max_unit(ratings) else ()
    return _choice(CHOICE_RULES["PBT"], code, extra)


def _voltage(prefix: str, volts: float, ratings: Ratings | None) -> str:
    rule = VOLTAGE_RULES[prefix]
    cls = battery_class(ratings)
    if cls is None:
        raise SettingRejected(
            f"{rule.label} ({prefix}): the battery voltage class is unknown; read QPIRI first")
    allowed = rule.ranges[cls]
    if not allowed.allows(volts):
        raise SettingRejected(
            f"{rule.label} ({prefix}): {volts:g} V is not allowed on a {cls} V unit "
            f"(allowed: {allowed.describe()})")
    _check_order(prefix, volts, ratings)
    return f"{prefix}{volts:04.1f}"


def _check_order(prefix: str, volts: float, ratings: Ratings | None) -> None:
    """Reject values that contradict the unit's other battery settings (float above bulk...)."""
    bulk = _rating(ratings, "battery_bulk_charge_voltage")
    floating = _rating(ratings, "battery_float_charge_voltage")
    cutoff = _rating(ratings, "battery_under_voltage")
    recharge = _rating(ratings, "battery_recharge_voltage")
    redischarge = _rating(ratings, "battery_redischarge_voltage")
    problems = {
        "PBFT": bulk is not None and volts > bulk and f"above the bulk voltage {bulk:g} V",
        "PCVV": floating is not None and volts < floating and f"below the float voltage {floating:g} V",
        "PBCV": (cutoff is not None and volts <= cutoff and f"not above the cut-off voltage {cutoff:g} V")
        or (redischarge and volts >= redischarge
            and f"not below the re-discharge voltage {redischarge:g} V"),
        "PSDV": recharge is not None and volts >= recharge
        and f"not below the re-charge voltage {recharge:g} V",
        "PBDV": recharge is not None and volts != 0 and volts <= recharge
        and f"not above the re-charge voltage {recharge:g} V",
    }
    problem = problems.get(prefix)
    if problem:
        raise SettingRejected(f"{VOLTAGE_RULES[prefix].label} ({prefix}): {volts:g} V is {problem}")












def output_frequency(hertz: int) -> str:
    """Fnn: output frequency 50 or 60 Hz."""
    if hertz not in OUTPUT_FREQUENCIES_HZ:
        raise SettingRejected(f"Output frequency (F): {hertz!r} Hz is not 50 or 60")
    return f"F{hertz:02d}"


def _allowed_currents(prefix: str, currents: Currents | None) -> tuple[int, ...] | None:
    query = CURRENT_RULES[prefix][0]
    if currents is None:
        return None
    if isinstance(currents, Mapping):
        values = currents.get(prefix, currents.get(query))
        return None if values is None else tuple(int(v) for v in values)
    for reading in currents:
        options = getattr(reading, "options_a", None)
        if reading.command == query and options is not None:
            return tuple(options)
    return None


def _current(prefix: str, amps: int, currents: Currents | None, unit: int = 0) -> str:
    query, _key, label = CURRENT_RULES[prefix]
    allowed = _allowed_currents(prefix, currents)
    if allowed is None:
        raise SettingRejected(f"{label} ({prefix}): the allowed currents are unknown; read {query} first")
    if amps not in allowed:
        listed = ", ".join(str(a) for a in allowed)
        raise SettingRejected(f"{label} ({prefix}): {amps} A is not one the unit allows ({listed} A)")
    return unit_settings.build(prefix, unit, amps)


def current_command(prefix: str, amps: int, unit: int = 0) -> str:
    """The wire command for a charging current: MCHGC<u><nn> below 100 A, MNCHGC<u><nnn> from 100 A
    (MUCHGC<u><nn> / MUCHGC<u><nnn>); unit 0 on a single inverter (PROTOCOLS-QPGS.md §4)."""
    return unit_settings.build(prefix, unit, amps)


def flag(letter_or_key: str, enabled: bool) -> str:
    """PEx / PDx: enable or disable a QFLAG switch, by letter ("a") or key ("buzzer")."""
    letter = letter_or_key
    by_key = {bit.key: ltr for ltr, bit in FLAG_BITS.items()}
    letter = by_key.get(letter_or_key, letter_or_key)
    if len(letter) != 1 or letter not in FLAG_LETTERS:
        known = ", ".join(f"{ltr} {bit.key}" for ltr, bit in sorted(FLAG_BITS.items()))
        raise SettingRejected(f"Flag (PE/PD): {letter_or_key!r} is not a known flag ({known})")
    return ("PE" if enabled else "PD") + letter


def factory_reset() -> str:
    """PF: restore every setting to the factory default (battery settings back to lead-acid)."""
    return "PF"


def _volts(prefix: str, text: str) -> float:
    if not re.fullmatch(r"\d{1,2}(\.\d)?", text):
        raise SettingRejected(f"{VOLTAGE_RULES[prefix].label} ({prefix}): {text!r} is not a voltage "
                              f"like 48.0")
    return float(text)


def validate_setting(command: str, ratings: Ratings | None = None, currents: Currents | None = None) -> str:
    """Check a raw setting command such as "PBCV48.0" and return its canonical wire form.

    Raises :class:`SettingRejected` for a query, an unknown command, a malformed value or one
    outside what this unit allows.
    """
    text = command.strip()
    if classify(text) is CommandClass.QUERY or text[:1].upper() == "Q":
        raise SettingRejected(f"{text!r} is a query, not a setting")
    match = _SETTING.fullmatch(text)
    if not match:
        raise SettingRejected(f"{text!r} is not a known setting command")
    prefix, value = match.group(1).upper(), match.group(2)
    if prefix == "PF":
        if value:
            raise SettingRejected(f"PF takes no value, got {value!r}")
        return factory_reset()
    if prefix in ("PE", "PD"):
        return flag(value, prefix == "PE")
    if prefix in CHOICE_RULES:
        if not re.fullmatch(r"\d{2}", value):
            raise SettingRejected(f"{CHOICE_RULES[prefix].label} ({prefix}): {value!r} is not a "
                                  "two-digit code like 01")
        if prefix == "PBT":
            return battery_type(int(value), ratings)
        return _choice(CHOICE_RULES[prefix], int(value))
    if prefix in VOLTAGE_RULES:
        return _voltage(prefix, _volts(prefix, value), ratings)
    if prefix == "F":
        if not value.isdigit():
            raise SettingRejected(f"Output frequency (F): {value!r} is not 50 or 60")
        return output_frequency(int(value))
    return _unit_setting(prefix + value, currents)


def _unit_setting(text: str, currents: Currents | None) -> str:
    """MCHGC<u><nn>, MNCHGC<u><nnn>, MUCHGC<u><nn(n)>, PPCP<u><nn>: the unit digit, then the value."""
    found = unit_settings.parse(text)
    if found is None:
        if text.startswith("PPCP"):
            raise SettingRejected(f"Charger source priority (PPCP): {text!r} is not <unit digit><code> "
                                  "like PPCP101")
        label = CURRENT_RULES["MUCHGC" if text.startswith("MUCHGC") else "MCHGC"][2]
        raise SettingRejected(f"{label}: {text!r} is not a current like MCHGC060 (<unit digit><amps>: "
                              "unit 0, 60 A) or MNCHGC0120 (from 100 A)")
    if found.family == "PCP":
        _choice(CHOICE_RULES["PCP"], found.value)
        return found.command()
    return _current(found.family, found.value, currents, found.unit)




def _choice_entry(rule: ChoiceRule, extra_codes: Iterable[int] = ()) -> dict[str, Any]:
    codes = [(c.code, c.label) for c in rule.choices]
    codes += [(code, BATTERY_TYPES[code]) for code in extra_codes]
    return {
        "prefix": rule.prefix, "label": rule.label, "kind": "choice",
        "choices": [{"value": f"{code:02d}", "label": label, "command": f"{rule.prefix}{code:02d}"}
                    for code, label in codes],
    }


def _voltage_entry(prefix: str, cls: int | None) -> dict[str, Any]:
    rule = VOLTAGE_RULES[prefix]
    entry: dict[str, Any] = {"prefix": prefix, "label": rule.label, "unit": "V", "format": "nn.n"}
    if cls is None:
        return {**entry, "kind": "range", "available": False, "reason": "battery class unknown: read QPIRI",
                "choices": []}
    allowed = rule.ranges[cls]
    values = allowed.values()
    if len(values) <= 20:
        choices = [{"value": f"{v:04.1f}", "label": f"{v:.1f} V", "command": f"{prefix}{v:04.1f}"}
                   for v in values]
        return {**entry, "kind": "choice", "choices": choices}
    return {**entry, "kind": "range", "min": allowed.low, "max": allowed.high, "step": allowed.step,
            "choices": []}


def describe_settings(ratings: Ratings | None = None,
                      currents: Currents | None = None) -> list[dict[str, Any]]:
    """Every setting the UI may offer, JSON-able, with the values this unit allows.

    Each entry: ``prefix`` (the command is prefix + value), ``label``, ``kind`` ("choice" with
    ``choices`` [{value, label, command}] or "range" with ``min``/``max``/``step``), ``dangerous``,
    ``current_key`` (the QPIRI / QFLAG field holding the current value) and ``available`` (False
    with a ``reason`` when QPIRI or QMCHGCR/QMUCHGCR has not been read yet).
    """
    cls = battery_class(ratings)
    entries: list[dict[str, Any]] = []
    for prefix, rule in CHOICE_RULES.items():
        extra = MAX_BATTERY_TYPES if prefix == "PBT" and _is_max_unit(ratings) else ()
        entries.append({**_choice_entry(rule, extra), "current_key": rule.current_key})
    for prefix, vrule in VOLTAGE_RULES.items():
        entries.append({**_voltage_entry(prefix, cls), "current_key": vrule.current_key})
    entries.append({
        "prefix": "F", "label": "Output frequency", "kind": "choice", "unit": "Hz",
        "note": "change it in standby only (as NUT does): the loads see the new frequency at once",
        "current_key": CURRENT_KEYS["F"],
        "choices": [{"value": f"{hz}", "label": f"{hz} Hz", "command": f"F{hz}"}
                    for hz in OUTPUT_FREQUENCIES_HZ],
    })
    for prefix, (query, key, label) in CURRENT_RULES.items():
        allowed = _allowed_currents(prefix, currents)
        entry: dict[str, Any] = {"prefix": prefix, "label": label, "kind": "choice", "unit": "A",
                                 "current_key": key}
        if allowed is None:
            entry.update(available=False, reason=f"allowed currents unknown: read {query}", choices=[])
        else:
            entry["choices"] = [{"value": f"{a:03d}", "label": f"{a} A",
                                 "command": current_command(prefix, a)} for a in allowed]
        entries.append(entry)
    for letter, bit in sorted(FLAG_BITS.items()):
        entries.append({
            "prefix": "P", "label": bit.key.replace("_", " ").capitalize(), "kind": "choice",
            "current_key": bit.key, "flag": letter,
            "choices": [{"value": f"E{letter}", "label": "enabled", "command": f"PE{letter}"},
                        {"value": f"D{letter}", "label": "disabled", "command": f"PD{letter}"}],
        })
    entries.append({
        "prefix": "PF", "label": "Restore factory defaults", "kind": "choice", "current_key": None,
        "note": "battery settings go back to lead-acid defaults (see QDI)",
        "choices": [{"value": "", "label": "restore", "command": "PF"}],
    })
    for entry in entries:
        entry.setdefault("available", True)
        # Classify a well-formed example of the command: policy decides by syntax.
        example = {**{p: f"{p}48.0" for p in VOLTAGE_RULES}, **{p: f"{p}010" for p in CURRENT_RULES}}
        sample = entry["choices"][0]["command"] if entry.get("choices") else example[entry["prefix"]]
        entry["dangerous"] = classify(sample) is CommandClass.DANGEROUS
    return entries
