"""System totals of a parallel / three-phase system (solarmon/inverter/system.py): sums over the
units that answered, given only when every unit answered, per-phase loads and imbalance."""

from __future__ import annotations

import pytest

from solarmon.inverter import system
from solarmon.inverter.catalog import by_wire, derive, info
from solarmon.inverter.codec import decode
from tests.inverter.samples import MAX_PV2, PARALLEL, QPIRI_25


def _unit(reply, payload: str, watts: int, mode: int = 1, fault: str = "00"):
    tokens = payload.split()
    tokens[9] = f"{watts:04d}"
    tokens[20] = str(mode)
    tokens[3] = fault
    return decode("QPGS0", reply(" ".join(tokens)))


def test_totals_sum_the_units(reply) -> None:
    units = {0: _unit(reply, PARALLEL, 500), 1: _unit(reply, PARALLEL, 700), 2: _unit(reply, MAX_PV2, 900)}
    values = system.totals(units).as_dict()
    assert values["system_units_answering"] == 3
    assert values["system_totals_complete"] is True
    assert values["system_load_power"] == 2100
    assert values["system_pv_power"] == pytest.approx(sum(u.pv_power_w for u in units.values()), abs=0.1)
    charge = sum(u.battery_charging_current_a for u in units.values())
    discharge = sum(u.battery_discharge_current_a for u in units.values())
    assert values["system_battery_current"] == charge - discharge
    assert "phase_l1_load_power" not in values  # a parallel system has no phases


def test_a_missing_unit_withdraws_the_totals_and_is_counted(reply) -> None:
    values = system.totals({0: _unit(reply, PARALLEL, 500), 1: None}).as_dict()
    assert values["system_units_expected"] == 2
    assert values["system_units_answering"] == 1
    assert values["system_totals_complete"] is False
    assert "system_load_power" not in values
    assert "system_pv_power" not in values


def test_a_faulted_unit_counts_with_what_it_carries(reply) -> None:
    units = {0: _unit(reply, PARALLEL, 500), 1: _unit(reply, PARALLEL, 0, fault="81")}
    values = system.totals(units).as_dict()
    assert values["system_units_faulted"] == 1
    assert values["system_totals_complete"] is True
    assert values["system_load_power"] == 500


def test_three_phase_loads_and_imbalance(reply) -> None:
    units = {0: _unit(reply, PARALLEL, 1200, mode=2), 1: _unit(reply, PARALLEL, 800, mode=3),
             2: _unit(reply, PARALLEL, 1000, mode=4), 3: _unit(reply, PARALLEL, 300, mode=2)}
    values = system.totals(units).as_dict()
    assert (values["phase_l1_load_power"], values["phase_l2_load_power"], values["phase_l3_load_power"]) == (
        1500, 800, 1000)
    assert values["phase_load_imbalance"] == pytest.approx(100 * 700 / 1100, abs=0.1)


def test_every_system_field_is_a_catalog_entry(reply) -> None:
    reading = system.totals({0: _unit(reply, PARALLEL, 1, mode=2), 1: _unit(reply, PARALLEL, 1, mode=3),
                             2: _unit(reply, PARALLEL, 1, mode=4)})
    for field in reading.fields:
        assert info(field.key) is not None, field.key
        assert info(field.key).unit == field.unit
        assert by_wire(field.name, "SYSTEM").key == field.key


# Positions in a QPGSn reply (PROTOCOLS-QPGS.md §2) of the values the system's tiles read.
POSITION = {"WORK": 2, "FAULT": 3, "GRID_V": 4, "GRID_HZ": 5, "OUT_V": 6, "OUT_HZ": 7, "VA": 8, "WATTS": 9,
            "BATTERY_V": 11, "CHARGE_A": 12, "SOC": 13, "PV_V": 14, "MODE": 20, "PV_A": 25,
            "DISCHARGE_A": 26}


def _with(reply, **tokens: str):
    """A QPGS0 reading of PARALLEL with the tokens at the named positions replaced."""
    parts = PARALLEL.split()
    for name, token in tokens.items():
        parts[POSITION[name]] = token
    return decode("QPGS0", reply(" ".join(parts)))


def test_the_shared_battery_pv_and_supply_of_a_parallel_system(reply) -> None:
    """One battery (the units' mean voltage and SoC), PV summed (voltage: the highest array), one
    grid and one output (the units' mean), the load in % of every unit's rating."""
    units = {
        0: _with(reply, BATTERY_V="51.2", SOC="094", CHARGE_A="010", PV_V="120.0", PV_A="05",
                 GRID_V="230.0", GRID_HZ="50.00", OUT_V="229.0", OUT_HZ="50.00", WATTS="1200", VA="1300"),
        1: _with(reply, BATTERY_V="51.4", SOC="096", CHARGE_A="012", PV_V="150.0", PV_A="06",
                 GRID_V="232.0", GRID_HZ="50.02", OUT_V="231.0", OUT_HZ="49.98", WATTS="900", VA="1000"),
        2: _with(reply, BATTERY_V="51.6", SOC="098", CHARGE_A="014", PV_V="000.0", PV_A="00",
                 GRID_V="231.0", GRID_HZ="49.98", OUT_V="230.0", OUT_HZ="50.00", WATTS="300", VA="400"),
    }
    values = system.totals(units, decode("QPIRI", reply(QPIRI_25))).as_dict()
    assert values["system_battery_voltage"] == pytest.approx(51.4)
    assert values["system_battery_capacity"] == 96
    assert values["system_battery_charging_current"] == 36
    assert (values["system_pv_input_voltage"], values["system_pv_input_current"]) == (150.0, 11.0)
    assert values["system_ac_input_voltage"] == pytest.approx(231.0)
    assert values["system_ac_input_frequency"] == pytest.approx(50.0)
    assert values["system_ac_output_voltage"] == pytest.approx(230.0)
    assert values["system_ac_output_frequency"] == pytest.approx(49.99, abs=0.01)
    # 2400 W of 3 x 4000 W is 20 %; 2700 VA of 3 x 5000 VA is 18 %: the larger, as a unit's own.
    assert values["system_ac_output_load"] == 20
    assert not [key for key in values if key.startswith("phase_")]  # one supply, no phases


def test_the_grid_import_is_each_units_own_estimate_added_up_once_here(reply) -> None:
    """The catalog's grid rule for one unit (load + battery - PV; 0 without grid), applied per unit
    and summed by the daemon, so the web app only maps it; the battery's power and discharge current
    are the system's too."""
    units = {  # line mode: 1200 W load + 500 W charging - 500 W PV = 1200 W from the grid
        0: _with(reply, WORK="L", GRID_V="230.0", WATTS="1200", BATTERY_V="50.0", CHARGE_A="010",
                 DISCHARGE_A="000", PV_V="100.0", PV_A="05"),
        # line mode: 800 W load - 200 W from the battery, no PV = 600 W
        1: _with(reply, WORK="L", GRID_V="230.0", WATTS="0800", BATTERY_V="50.0", CHARGE_A="000",
                 DISCHARGE_A="004", PV_V="000.0", PV_A="00"),
        # battery mode, no grid: 0 W whatever the balance says
        2: _with(reply, WORK="B", GRID_V="000.0", WATTS="0700", BATTERY_V="50.0", CHARGE_A="000",
                 DISCHARGE_A="014", PV_V="000.0", PV_A="00"),
    }
    values = system.totals(units).as_dict()
    assert values["system_grid_power"] == 1800.0
    assert values["system_grid_power"] == sum(derive(u.as_dict())["grid_power"] for u in units.values())
    assert (values["system_battery_charging_current"], values["system_battery_discharge_current"]) == (10, 18)
    assert values["system_battery_power"] == pytest.approx(50.0 * (10 - 18))
    assert values["system_battery_power"] == pytest.approx(
        values["system_charge_power"] - values["system_discharge_power"])


def test_three_phase_voltages_are_per_phase_never_a_mean_over_phases(reply) -> None:
    units = {0: _with(reply, MODE="2", GRID_V="228.0", OUT_V="229.0"),
             1: _with(reply, MODE="3", GRID_V="233.0", OUT_V="231.0"),
             2: _with(reply, MODE="4", GRID_V="236.0", OUT_V="232.0"),
             3: _with(reply, MODE="2", GRID_V="230.0", OUT_V="231.0")}  # a second unit on L1
    values = system.totals(units).as_dict()
    assert [values[f"phase_l{n}_ac_input_voltage"] for n in (1, 2, 3)] == [229.0, 233.0, 236.0]
    assert [values[f"phase_l{n}_ac_output_voltage"] for n in (1, 2, 3)] == [230.0, 231.0, 232.0]
    assert "system_ac_input_voltage" not in values
    assert "system_ac_output_voltage" not in values
    assert "system_ac_input_frequency" in values  # one grid, one frequency


def test_no_rating_no_load_percent_and_a_missing_unit_withholds_every_system_value(reply) -> None:
    whole = system.totals({0: _with(reply), 1: _with(reply)}).as_dict()
    assert "system_ac_output_load" not in whole  # no QPIRI yet: no rating to divide by
    assert "system_battery_voltage" in whole
    short = system.totals({0: _with(reply), 1: None}, decode("QPIRI", reply(QPIRI_25))).as_dict()
    assert set(short) == {"system_units_expected", "system_units_answering", "system_units_faulted",
                          "system_totals_complete"}


def test_the_shared_batterys_entries_read_like_a_units() -> None:
    """Home Assistant shows the system's SoC as a battery and its voltage with a unit's precision."""
    assert info("system_battery_capacity").ha_device_class == info("battery_capacity").ha_device_class
    assert info("system_battery_voltage").precision == info("battery_voltage").precision == 2
    assert info("phase_l2_ac_input_voltage").label == "Phase L2 AC input voltage"


def test_a_faulted_unit_does_not_skew_a_shared_value(reply) -> None:
    """A faulted unit's output is off and its readings suspect: the shared battery, grid and output
    are the others' mean and the load % is of the units carrying it; a phase of faulted units only
    shows what they read (a dead phase's 0 V)."""
    fault = {"WORK": "F", "FAULT": "83", "BATTERY_V": "00.0", "SOC": "000", "OUT_V": "000.0",
             "OUT_HZ": "00.00", "WATTS": "0000", "VA": "0000"}
    units = {0: _with(reply, BATTERY_V="51.2", OUT_V="230.0", WATTS="1200", VA="1200"),
             1: _with(reply, BATTERY_V="51.6", OUT_V="231.0", WATTS="1200", VA="1200"),
             2: _with(reply, **fault)}
    assert units[2].faulted
    values = system.totals(units, decode("QPIRI", reply(QPIRI_25))).as_dict()
    assert values["system_battery_voltage"] == pytest.approx(51.4)
    assert values["system_battery_capacity"] == 100
    assert (values["system_ac_output_voltage"], values["system_ac_output_frequency"]) == (230.5, 50.0)
    assert values["system_ac_output_load"] == 30  # 2400 W of the 2 carrying units' 2 x 4000 W
    phased = {0: _with(reply, MODE="2", OUT_V="230.0"), 1: _with(reply, MODE="3", OUT_V="231.0"),
              2: _with(reply, MODE="4", **fault)}
    values = system.totals(phased).as_dict()
    assert [values[f"phase_l{n}_ac_output_voltage"] for n in (1, 2, 3)] == [230.0, 231.0, 0.0]
