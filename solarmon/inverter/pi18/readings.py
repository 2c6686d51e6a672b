"""Typed PI18 readings that have no PI30 twin: GS (:class:`Pi18Status`), PIRI (:class:`Pi18Ratings`).

MOD, FWS, FLAG, ID/VFW/PI, the energy counters and the current lists decode into the PI30
classes (:class:`~solarmon.inverter.readings.DeviceMode`, ``Warnings``, ``Flags``,
``TextReading``, ``Energy``, ``CurrentOptions``), whose attributes mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from solarmon.inverter.readings import Reading


@dataclass(frozen=True)
class Pi18Status(Reading):
    """GS: live measurements of a PI18 unit (units in the attribute names, as for QPIGS)."""

    ac_input_voltage_v: float
    ac_input_frequency_hz: float
    ac_output_voltage_v: float
    ac_output_frequency_hz: float
    ac_output_apparent_power_va: int
    ac_output_active_power_w: int
    ac_output_load_pct: int
    battery_voltage_v: float
    battery_voltage_from_scc_v: float
    battery_voltage_from_scc2_v: float
    battery_discharge_current_a: int
    battery_charging_current_a: int
    battery_capacity_pct: int
    inverter_heat_sink_temperature_c: int
    mppt1_charger_temperature_c: int
    mppt2_charger_temperature_c: int
    pv_input_power_w: int
    pv2_charging_power_w: int
    pv_input_voltage_v: float
    pv2_input_voltage_v: float
    is_configuration_changed: bool
    mppt1_charger_status: str
    mppt2_charger_status: str
    is_load_on: bool
    battery_power_direction: str
    dc_ac_power_direction: str
    line_power_direction: str
    local_parallel_id: int


@dataclass(frozen=True)
class Pi18Ratings(Reading):
    """PIRI: nameplate ratings (``rated_...``) and the current settings of a PI18 unit."""

    rated_ac_input_voltage_v: float
    rated_ac_input_current_a: float
    rated_ac_output_voltage_v: float
    rated_ac_output_frequency_hz: float
    rated_ac_output_current_a: float
    rated_ac_output_apparent_power_va: int
    rated_ac_output_active_power_w: int
    rated_battery_voltage_v: float
    battery_recharge_voltage_v: float
    battery_redischarge_voltage_v: float
    battery_under_voltage_v: float
    battery_bulk_charge_voltage_v: float
    battery_float_charge_voltage_v: float
    battery_type_pi18: str
    max_ac_charging_current_a: int
    max_charging_current_a: int
    input_voltage_range: str
    output_source_priority_pi18: str
    charger_source_priority_pi18: str
    max_parallel_units: int
    machine_type_pi18: str
    topology: str
    output_mode: str
    solar_power_priority: str
    mppt_strings: int | None = None

    @property
    def battery_class_v(self) -> int:
        """The battery voltage class (12, 24 or 48) that setting ranges depend on."""
        return int(round(self.rated_battery_voltage_v))
