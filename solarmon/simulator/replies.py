"""Reply payloads: what the simulated firmware says to each query, formatted the way the profile's
firmware formats it (PI30.md §3), together with the values it meant (for the truth log).

Every builder returns a :class:`Reply`: the payload (without "(", CRC or CR) and ``values``,
the numbers and flags exactly as they read back from the payload, so a test can compare what a
client decoded with what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from solarmon.inverter.shapes import ENERGY_DIGITS
from solarmon.simulator.model import PlantModel

# Status bits of QPIGS field 16 (b7..b0) and field 20 (b10 b9 b8), mppsolar's names.
STATUS_BITS = (
    "is_sbu_priority_version_added",
    "is_configuration_changed",
    "is_scc_firmware_updated",
    "is_load_on",
    "is_battery_voltage_to_steady_while_charging",
    "is_charging_on",
    "is_scc_charging_on",
    "is_ac_charging_on",
)
STATUS_BITS_2 = ("is_charging_to_float", "is_switched_on", "is_reserved")
QPIRI_NAMES = (
    "ac_input_voltage ac_input_current ac_output_voltage ac_output_frequency ac_output_current "
    "ac_output_apparent_power ac_output_active_power battery_voltage battery_recharge_voltage "
    "battery_under_voltage battery_bulk_charge_voltage battery_float_charge_voltage battery_type "
    "max_ac_charging_current max_charging_current input_voltage_range output_source_priority "
    "charger_source_priority max_parallel_units machine_type topology output_mode "
    "battery_redischarge_voltage pv_ok_condition pv_power_balance max_charging_time_for_cv_stage "
    "operation_logic max_discharging_current"
).split()
_ENERGY_RE = re.compile(r"^Q([EL])([TYMD])(\d*)$")


@dataclass(frozen=True, slots=True)
class Reply:
    """A payload and the values it carries (``values`` keyed by mppsolar's field names)."""

    payload: str
    values: dict[str, Any] = field(default_factory=dict)


def _read_back(text: str) -> int | float | str:
    """The value a decoder gets from one field: int, float, or the raw string."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _fields(spec: list[tuple[str, str, Any]]) -> Reply:
    """Format (name, printf format, value) triples into a space-separated payload and its values."""
    texts = [fmt % value for _, fmt, value in spec]
    values = {name: _read_back(text) for (name, _, _), text in zip(spec, texts, strict=True)}
    return Reply(" ".join(texts), values)


def _bits(names: tuple[str, ...], live: dict[str, Any]) -> tuple[str, dict[str, bool]]:
    flags = {name: bool(live.get(name, False)) for name in names}
    return "".join("1" if flags[name] else "0" for name in names), flags


def qpigs(model: PlantModel) -> Reply:
    """General status: 17, 21 or 24 fields depending on the profile."""
    p, live = model.profile, model.live_values()
    live["is_configuration_changed"] = model.config_changed
    power = f"%0{p.power_digits}d"
    pv_current = "%04.1f" if p.pv_current_decimal else "%04d"
    spec: list[tuple[str, str, Any]] = [
        ("ac_input_voltage", "%05.1f", live["ac_input_voltage"]),
        ("ac_input_frequency", "%04.1f", live["ac_input_frequency"]),
        ("ac_output_voltage", "%05.1f", live["ac_output_voltage"]),
        ("ac_output_frequency", "%04.1f", live["ac_output_frequency"]),
        ("ac_output_apparent_power", power, round(live["ac_output_apparent_power"])),
        ("ac_output_active_power", power, round(live["ac_output_active_power"])),
        ("ac_output_load", "%03d", round(live["ac_output_load"])),
        ("bus_voltage", "%03d", round(live["bus_voltage"])),
        ("battery_voltage", "%05.2f", live["battery_voltage"]),
        ("battery_charging_current", "%03d", round(live["battery_charging_current"])),
        ("battery_capacity", "%03d", round(live["battery_capacity"])),
        ("inverter_heat_sink_temperature", "%04d", round(live["inverter_heat_sink_temperature"])),
        ("pv_input_current_for_battery", pv_current, live["pv_input_current_for_battery"]),
        ("pv_input_voltage", "%05.1f", live["pv_input_voltage"]),
        ("battery_voltage_from_scc", "%05.2f", live["battery_voltage_from_scc"]),
        ("battery_discharge_current", "%05d", round(live["battery_discharge_current"])),
    ]
    if not p.pv_current_decimal:
        spec[12] = ("pv_input_current_for_battery", pv_current, round(live["pv_input_current_for_battery"]))
    reply = _fields(spec)
    status, flags = _bits(STATUS_BITS, live)
    payload, values = reply.payload + " " + status, {**reply.values, "device_status": status, **flags}
    if p.qpigs_fields >= 21:
        status2, flags2 = _bits(STATUS_BITS_2, live)
        tail = _fields(
            [
                ("rsv1", "%02d", 0),
                ("rsv2", "%02d", 0),
                ("pv_input_power", "%05d", round(live["pv_input_power"])),
            ]
        )
        payload += f" {tail.payload} {status2}"
        values.update(tail.values, device_status2=status2, **flags2)
    if p.qpigs_fields >= 24:
        extra = _fields(
            [("feed_to_grid_status", "%d", 0), ("country_code", "%02d", 0), ("feed_to_grid_power", "%05d", 0)]
        )
        payload += " " + extra.payload
        values.update(extra.values)
    return Reply(payload, values)


def qpigs2(model: PlantModel) -> Reply:
    """The second tracker (MAX units): current, voltage, power, and the firmware's trailing space."""
    live = model.live_values()
    reply = _fields(
        [
            ("pv2_input_current", "%04.1f", live["pv2_input_current"]),
            ("pv2_input_voltage", "%05.1f", live["pv2_input_voltage"]),
            ("pv2_charging_power", "%05d", round(live["pv2_charging_power"])),
        ]
    )
    return Reply(reply.payload + " ", reply.values)


def qpiri(model: PlantModel) -> Reply:
    """Ratings and current settings: 25 fields, 28 on MAX units."""
    p, s = model.profile, model.settings
    battery = "%04.1f"
    spec: list[tuple[str, str, Any]] = [
        ("ac_input_voltage", "%05.1f", 230.0),
        ("ac_input_current", "%04.1f", p.rated_output_a),
        ("ac_output_voltage", "%05.1f", s.output_voltage),
        ("ac_output_frequency", "%04.1f", float(s.output_frequency)),
        ("ac_output_current", "%04.1f", p.rated_output_a),
        ("ac_output_apparent_power", "%04d", p.rated_va),
        ("ac_output_active_power", "%04d", p.rated_w),
        ("battery_voltage", battery, float(p.battery_class_v)),
        ("battery_recharge_voltage", battery, s.recharge_v),
        ("battery_under_voltage", battery, s.cutoff_v),
        ("battery_bulk_charge_voltage", battery, s.bulk_v),
        ("battery_float_charge_voltage", battery, s.float_v),
        ("battery_type", "%d", s.battery_type),
        ("max_ac_charging_current", "%02d", s.max_ac_charge_a),
        ("max_charging_current", "%03d", s.max_charge_a),
        ("input_voltage_range", "%d", s.input_range),
        ("output_source_priority", "%d", s.output_priority),
        ("charger_source_priority", "%d", s.charger_priority),
        ("max_parallel_units", "%d", 6),
        ("machine_type", "%s", p.machine_type),
        ("topology", "%d", 0),
        ("output_mode", "%d", s.output_mode),
        ("battery_redischarge_voltage", battery, s.redischarge_v),
        ("pv_ok_condition", "%d", s.pv_ok),
        ("pv_power_balance", "%d", s.pv_balance),
    ]
    if p.qpiri_fields >= 28:
        spec += [
            ("max_charging_time_for_cv_stage", "%03d", s.max_cv_minutes),
            ("operation_logic", "%d", s.operation_logic),
            ("max_discharging_current", "%03d", s.max_discharge_a),
        ]
    reply = _fields(spec)
    values = dict(reply.values, machine_type=p.machine_type)
    return Reply(reply.payload, values)


def qpiws(model: PlantModel) -> Reply:
    """Warning bits a0.. as a run of 0/1 (32 or 36 of them)."""
    bits = "".join("1" if i in model.warnings else "0" for i in range(model.profile.qpiws_bits))
    return Reply(bits, {"warning_bits": bits, "active": sorted(model.warnings)})


def qflag(model: PlantModel) -> Reply:
    """Enabled and disabled flag letters, e.g. ``EakxyzDbjuv``."""
    flags = model.settings.flags
    enabled = "".join(letter for letter in model.profile.flag_letters if flags[letter])
    disabled = "".join(letter for letter in model.profile.flag_letters if not flags[letter])
    return Reply(f"E{enabled}D{disabled}", dict(flags))


def qdi(model: PlantModel) -> Reply:
    """The factory defaults (what PF restores), in QDI's order."""
    from solarmon.simulator.settings import Settings

    p, d = model.profile, Settings.factory(model.profile)
    flag = {letter: int(d.flags.get(letter, False)) for letter in "ajuvxyzbk"}
    spec: list[tuple[str, str, Any]] = [
        ("ac_output_voltage", "%05.1f", d.output_voltage),
        ("ac_output_frequency", "%04.1f", float(d.output_frequency)),
        ("max_ac_charging_current", "%04d", d.max_ac_charge_a),
        ("battery_under_voltage", "%04.1f", d.cutoff_v),
        ("battery_float_charge_voltage", "%04.1f", d.float_v),
        ("battery_bulk_charge_voltage", "%04.1f", d.bulk_v),
        ("battery_recharge_voltage", "%04.1f", d.recharge_v),
        ("max_charging_current", "%02d", d.max_charge_a),
        ("input_voltage_range", "%d", d.input_range),
        ("output_source_priority", "%d", d.output_priority),
        ("charger_source_priority", "%d", d.charger_priority),
        ("battery_type", "%d", d.battery_type),
        ("buzzer", "%d", flag["a"]),
        ("power_saving", "%d", flag["j"]),
        ("overload_restart", "%d", flag["u"]),
        ("over_temperature_restart", "%d", flag["v"]),
        ("lcd_backlight", "%d", flag["x"]),
        ("primary_source_interrupt_alarm", "%d", flag["y"]),
        ("record_fault_code", "%d", flag["z"]),
        ("overload_bypass", "%d", flag["b"]),
        ("lcd_reset_to_default", "%d", flag["k"]),
        ("output_mode", "%d", d.output_mode),
        ("battery_redischarge_voltage", "%04.1f", d.redischarge_v),
        ("pv_ok_condition", "%d", d.pv_ok),
        ("pv_power_balance", "%d", d.pv_balance),
    ]
    if p.qpiri_fields >= 28:
        spec.append(("max_charging_time_for_cv_stage", "%03d", d.max_cv_minutes))
    return _fields(spec)


def energy(model: PlantModel, command: str) -> Reply | None:
    """QET/QEY/QEM/QED (PV) and QLT/QLY/QLM/QLD (load) in Wh, 8 digits; None when malformed."""
    match = _ENERGY_RE.match(command)
    if match is None:
        return None
    kind, period, digits = match.groups()
    if len(digits) != ENERGY_DIGITS[period]:
        return None
    index = 0 if kind == "E" else 1
    if period == "T":
        total = model.lifetime_pv_wh if kind == "E" else model.lifetime_load_wh
    else:
        try:
            year, month, day = int(digits[:4]), int(digits[4:6] or 1), int(digits[6:8] or 1)
            date(year, month, day)
        except ValueError:
            return None
        prefix = digits
        total = sum(v[index] for d, v in model.energy.items() if d.strftime("%Y%m%d").startswith(prefix))
    wh = int(total)
    return Reply(f"{wh:08d}", {"energy_wh": wh})


def simple_queries(model: PlantModel, serial: str) -> dict[str, Callable[[], Reply]]:
    """The one-line queries, by command."""
    p, s = model.profile, model.settings
    currents = " ".join(f"{a:03d}" for a in p.charge_currents)
    utility = " ".join(f"{a:03d}" for a in p.utility_charge_currents)
    return {
        "QPI": lambda: Reply("PI30", {"protocol_id": "PI30"}),
        "QID": lambda: Reply(serial, {"serial_number": serial}),
        "QVFW": lambda: Reply(f"VERFW:{p.firmware}", {"main_cpu_firmware_version": p.firmware}),
        "QVFW2": lambda: Reply(f"VERFW2:{p.firmware2}", {"secondary_cpu_firmware_version": p.firmware2}),
        "QMOD": lambda: Reply(model.mode, {"device_mode": model.mode}),
        "QMCHGCR": lambda: Reply(currents, {"max_charging_current_options": list(p.charge_currents)}),
        "QMUCHGCR": lambda: Reply(
            utility, {"max_utility_charging_current_options": list(p.utility_charge_currents)}
        ),
        "QBOOT": lambda: Reply("0", {"dsp_has_bootstrap": 0}),
        "QMN": lambda: Reply(p.name.upper(), {"model_name": p.name.upper()}),  # MAX firmware's model name
        "QOPM": lambda: Reply(f"{s.output_mode:02d}", {"output_mode": s.output_mode}),
    }
