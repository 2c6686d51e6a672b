"""System totals of a parallel / three-phase system (solarmon/inverter/system.py): sums over the
units that answered, given only when every unit answered, per-phase loads and imbalance."""

from __future__ import annotations

import pytest

from solarmon.inverter import system
from solarmon.inverter.catalog import by_wire, info
from solarmon.inverter.codec import decode
from tests.inverter.samples import MAX_PV2, PARALLEL


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
