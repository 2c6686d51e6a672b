"""The field table of a parallel / three-phase system's own values (``cmd="SYSTEM"``).

The table only, as :mod:`solarmon.inverter.tables` is for PI30 and :mod:`tables_pi18` for PI18: the
catalog builds its entries from it, and :mod:`solarmon.inverter.system` computes the values (which
uses the catalog's rules, so the table cannot live there without an import cycle). What each value
is: docs/SYSTEMS.md, "The system's values".
"""

from __future__ import annotations

from solarmon.inverter.tables import FieldSpec

COMMAND = "SYSTEM"

SYSTEM = (
    FieldSpec("system_units_expected", "system_units_expected", "int",
              help="units the section polls (parallel = N, or found by parallel = auto)"),
    FieldSpec("system_units_answering", "system_units_answering", "int",
              help="units that answered this cycle"),
    FieldSpec("system_units_faulted", "system_units_faulted", "int",
              help="answering units with a fault code"),
    FieldSpec("system_totals_complete", "system_totals_complete", "bool",
              help="every expected unit answered, so the totals below are given"),
    FieldSpec("system_pv_power", "system_pv_power", "float", "W", "PV power of all units"),
    FieldSpec("system_load_power", "system_load_power", "int", "W", "AC output active power of all units"),
    FieldSpec("system_load_apparent_power", "system_load_apparent_power", "int", "VA",
              "AC output apparent power of all units"),
    FieldSpec("system_battery_current", "system_battery_current", "int", "A",
              "battery current of all units, + charging, - discharging"),
    FieldSpec("system_charge_power", "system_charge_power", "float", "W",
              "battery charging power of all units"),
    FieldSpec("system_discharge_power", "system_discharge_power", "float", "W",
              "battery discharging power of all units"),
    FieldSpec("system_battery_charging_current", "system_battery_charging_current", "int", "A",
              "battery charging current of all units"),
    FieldSpec("system_battery_discharge_current", "system_battery_discharge_current", "int", "A",
              "battery discharge current of all units"),
    FieldSpec("system_battery_power", "system_battery_power", "float", "W",
              "battery power of all units, + charging, - discharging"),
    FieldSpec("system_grid_power", "system_grid_power", "float", "W",
              "grid import of all units: the sum of each unit's estimate (catalog.derive's grid_power)"),
    FieldSpec("system_battery_voltage", "system_battery_voltage", "float", "V",
              "voltage of the shared battery: the mean of the units' readings"),
    FieldSpec("system_battery_capacity", "system_battery_capacity", "int", "%",
              "state of charge of the shared battery: the mean of the units' estimates"),
    FieldSpec("system_pv_input_voltage", "system_pv_input_voltage", "float", "V",
              "the highest PV input 1 voltage of the units (each unit has its own array)"),
    FieldSpec("system_pv_input_current", "system_pv_input_current", "float", "A",
              "PV input 1 current of all units, panel side"),
    FieldSpec("system_ac_output_load", "system_ac_output_load", "int", "%",
              "load of the system: max of W% and VA% of all units' rating (needs the host's QPIRI)"),
    FieldSpec("system_ac_input_voltage", "system_ac_input_voltage", "float", "V",
              "grid voltage: the units' mean (parallel; three-phase: per phase)"),
    FieldSpec("system_ac_input_frequency", "system_ac_input_frequency", "float", "Hz",
              "grid frequency: the units' mean"),
    FieldSpec("system_ac_output_voltage", "system_ac_output_voltage", "float", "V",
              "output voltage: the units' mean (parallel; three-phase: per phase)"),
    FieldSpec("system_ac_output_frequency", "system_ac_output_frequency", "float", "Hz",
              "output frequency: the units' mean"),
    FieldSpec("phase_l1_load_power", "phase_l1_load_power", "int", "W", "load of phase L1 (three-phase)"),
    FieldSpec("phase_l2_load_power", "phase_l2_load_power", "int", "W", "load of phase L2 (three-phase)"),
    FieldSpec("phase_l3_load_power", "phase_l3_load_power", "int", "W", "load of phase L3 (three-phase)"),
    *(FieldSpec(f"phase_{phase}_{key}", f"phase_{phase}_{key}", "float", "V",
                f"{what} of phase {phase.upper()}: the mean of its units (three-phase)")
      for key, what in (("ac_input_voltage", "grid voltage"), ("ac_output_voltage", "output voltage"))
      for phase in ("l1", "l2", "l3")),
    FieldSpec("phase_load_imbalance", "phase_load_imbalance", "float", "%",
              "largest phase load minus smallest, in % of the mean phase load (three-phase)"),
)
